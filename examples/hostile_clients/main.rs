//! How well does the server keep serving a normal client while hostile
//! clients attack it? A benchmark that prints figures, not a test.
//!
//! ```text
//! cargo run --release --example hostile_clients -- fd-exhaustion [--connections 200] [--duration 2]
//! cargo run --release --example hostile_clients -- slowloris     [--connections 1000] [--duration 20]
//! cargo run --release --example hostile_clients -- non-readers   [--connections 50] [--duration 20] [--wait-close 200]
//! ```
//!
//! Every scenario starts the server under test as a child process (this
//! program again, in a hidden `--serve` mode) with the default adjustments
//! on 127.0.0.1, plus any `--set key=value` given on the command line. A
//! separate process can be measured on its own through /proc: its CPU time,
//! resident memory, open sockets and spool files; its log (stderr) comes
//! back through a pipe and its lines are counted. Linux only.
//!
//! - `fd-exhaustion`: the server may open only 64 descriptors (prlimit) but
//!   accept 1,000 connections; 200 idle connections exhaust the descriptors.
//!   Measured: the server's CPU and log lines per second while it cannot
//!   accept, then whether a new client is answered once they are gone.
//! - `slowloris`: N connections each send a request head one byte a second
//!   and never finish it (closed ones are replaced), while a normal client
//!   sends `GET /` on fresh connections with a 5 s timeout. Measured: the
//!   normal client's answers and latency, what the server did with the
//!   trickling connections, its CPU.
//! - `non-readers`: M clients ask for `GET /big` (64 MiB) and never read,
//!   while a normal client sends `GET /`. Measured: the normal client's
//!   answers, the server's memory, spool files and sockets; then (for
//!   `--wait-close` seconds) how long until the server gives up on every
//!   stalled connection.
//!
//! Each scenario ends with a block of figures and a `RESULT scenario=… key=value`
//! line for scripts. All traffic goes to 127.0.0.1; every phase is bounded in time.

mod clients;
mod scenarios;
mod server;

use std::time::Duration;

use scenarios::{fd_exhaustion, non_readers, slowloris};
use server::serve;

/// `/big` is 64 MiB, produced in 64 KiB chunks as the client takes them.
pub(crate) const BIG_CHUNK: usize = 64 * 1024;
pub(crate) const BIG_CHUNKS: usize = 1024;
/// How long the normal client waits for one answer before it counts a failure.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Command-line options; `None` means "the scenario's default".
pub(crate) struct Options {
    pub(crate) scenario: String,
    pub(crate) duration: Option<u64>,
    pub(crate) connections: Option<usize>,
    pub(crate) wait_close: u64,
    pub(crate) sets: Vec<String>,
}

const USAGE: &str = "usage: hostile_clients fd-exhaustion|slowloris|non-readers \
[--duration S] [--connections N] [--wait-close S] [--set key=value]...";

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        scenario: String::new(),
        duration: None,
        connections: None,
        wait_close: 200,
        sets: Vec::new(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().cloned().ok_or(format!("{arg} needs a value"));
        let number = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{arg}: not a number: {v}"))
        };
        match arg.as_str() {
            "--duration" => options.duration = Some(number(value()?)?),
            "--connections" => options.connections = Some(number(value()?)? as usize),
            "--wait-close" => options.wait_close = number(value()?)?,
            "--set" => options.sets.push(value()?),
            _ if options.scenario.is_empty() && !arg.starts_with('-') => {
                options.scenario = arg.clone()
            }
            _ => return Err(format!("unexpected argument {arg}")),
        }
    }
    Ok(options)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        if let Err(e) = serve(&args[1..]) {
            eprintln!("server: {e}");
            std::process::exit(1);
        }
        return;
    }
    let options = parse_options(&args).unwrap_or_else(|e| {
        eprintln!("{e}\n{USAGE}");
        std::process::exit(2)
    });
    match options.scenario.as_str() {
        "fd-exhaustion" => fd_exhaustion(&options),
        "slowloris" => slowloris(&options),
        "non-readers" => non_readers(&options),
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2)
        }
    }
}
