//! `waitress-serve`: serve an application over HTTP/1.1 from the command line.
//!
//! `waitress-serve --help` lists every option. This build reads and checks
//! the configuration; the HTTP server itself (the poll loop, channels and
//! listeners) is not part of the crate yet, so asking it to serve is an error
//! that says so rather than a server that pretends to run.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use waitress::runner::{Command, help_text, parse_args};

fn main() -> ExitCode {
    let command = match parse_args(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(error) => {
            eprintln!("waitress-serve: {error}");
            eprintln!("Try 'waitress-serve --help' for the options.");
            return ExitCode::from(2);
        }
    };
    let cmdline = match command {
        Command::Help => {
            print!("{}", help_text());
            return ExitCode::SUCCESS;
        }
        Command::Version => {
            println!("waitress-serve {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Command::Serve(cmdline) => cmdline,
    };
    if let Err(error) = cmdline.adjustments() {
        eprintln!("waitress-serve: {error}");
        return ExitCode::from(2);
    }
    eprintln!(
        "waitress-serve: the configuration is valid, but this build cannot serve yet: \
         the HTTP server (poll loop, channels, listeners) is not implemented"
    );
    ExitCode::from(1)
}
