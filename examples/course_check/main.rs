//! The course's stage checker: a black-box test of a server written in any
//! language, listening on a loopback port, against one stage of the course
//! and every stage before it.
//!
//! ```text
//! cargo run --example course_check -- --stage 2 127.0.0.1:8080
//! ```
//!
//! It prints one line per check (`ok   stage 1: ...` or
//! `FAIL stage 1: ...: expected ..., got ...`) and exits 0 if every check
//! passed, 1 if one failed, 2 on a usage error. Every connect and read has a
//! timeout, so a server that never answers fails a check instead of hanging
//! the checker. Only loopback addresses (127.0.0.0/8, ::1) are accepted: the
//! checker sends malformed requests, and is not a scanner.
//!
//! It uses the standard library only, and nothing from the `waitress` crate.

#![forbid(unsafe_code)]

mod client;
mod stages;
mod stages_3_4;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use stages::STAGES;

const USAGE: &str = "usage: course_check --stage N HOST:PORT (HOST a loopback address)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (stage, addr) = match parse_args(&args) {
        Ok(parsed) => parsed,
        Err(error) => {
            eprintln!("course_check: {error}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut failed = 0;
    for check in STAGES[..stage].iter().flat_map(|run| run(addr)) {
        match check.result {
            Ok(()) => println!("ok   stage {}: {}", check.stage, check.name),
            Err(why) => {
                failed += 1;
                println!("FAIL stage {}: {}: {why}", check.stage, check.name);
            }
        }
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        eprintln!("course_check: {failed} check(s) failed at stage {stage} ({addr})");
        ExitCode::from(1)
    }
}

/// `--stage N HOST:PORT`, in either order: the stage (1 to the last one
/// written) and a loopback address.
fn parse_args(args: &[String]) -> Result<(usize, SocketAddr), String> {
    let mut stage = None;
    let mut addr = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--stage" {
            let value = args.next().ok_or("--stage needs a number")?;
            stage = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| format!("--stage: {value:?} is not a number"))?,
            );
        } else if arg.starts_with('-') {
            return Err(format!("unknown option {arg:?}"));
        } else if addr.replace(parse_addr(arg)?).is_some() {
            return Err(format!("a second address {arg:?}"));
        }
    }
    let stage = stage.ok_or("--stage is required")?;
    if !(1..=STAGES.len()).contains(&stage) {
        return Err(format!(
            "stage {stage} does not exist yet (stages 1 to {})",
            STAGES.len()
        ));
    }
    Ok((stage, addr.ok_or("HOST:PORT is required")?))
}

/// A literal `IP:PORT` (`[::1]:PORT` for IPv6) or `localhost:PORT`, refused
/// unless it is a loopback address. No name is looked up.
fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    let addr = match text.strip_prefix("localhost:") {
        Some(port) => port
            .parse()
            .map(|port| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port))
            .map_err(|_| format!("{text:?}: not a port"))?,
        None => text
            .parse::<SocketAddr>()
            .map_err(|_| format!("{text:?} is not IP:PORT"))?,
    };
    if !addr.ip().is_loopback() {
        return Err(format!(
            "{} is not a loopback address (127.0.0.0/8 or ::1); refused",
            addr.ip()
        ));
    }
    Ok(addr)
}
