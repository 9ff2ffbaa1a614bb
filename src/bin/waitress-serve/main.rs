//! `waitress-serve`: serve a built-in application over HTTP/1.1.
//!
//! ```text
//! waitress-serve [OPTIONS] APP      APP: hello | echo | static:DIR | DIR
//! ```
//!
//! `waitress-serve --help` lists every option. On start it prints
//! `Serving on http://HOST:PORT` for each address; Ctrl-C or SIGTERM stops
//! accepting, finishes the requests in flight and exits 0; SIGHUP reopens
//! the `--access-log` file (for logrotate) and never stops the server. A command line it
//! cannot use is one line on standard error and exit status 2; a server that
//! cannot start (the port is taken) is one line and exit status 1.
//!
//! The files: `cli.rs` reads the command line (the settings' flags through
//! `waitress::config::Flags`, plus this binary's own), `help.rs` is
//! `--help`, `tests.rs` their unit tests (`cargo test --bin waitress-serve`);
//! this one chooses the application and runs the server.
#![forbid(unsafe_code)]

mod cli;
mod help;
#[cfg(test)]
mod tests;

use std::io::{self, Write};
use std::process::ExitCode;

use waitress::apps::access_log::{AccessLog, LogFile};
use waitress::apps::{StaticFiles, echo, hello};
use waitress::config::Adjustments;
use waitress::gateway::{AppResult, Application, Environ, StartResponse};
use waitress::logging::{Level, Logger};
use waitress::server::ServerBuilder;

use cli::{AccessLogTarget, AppChoice, Command, CommandLine, parse_args};
use help::help_text;

fn main() -> ExitCode {
    let command = match parse_args(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(error) => return usage_error(&error),
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
    match prepare(&cmdline) {
        Ok((app, adjustments)) => {
            let logger = Logger::stderr(cmdline.log_level.unwrap_or(Level::Info));
            let served = match open_access_log(&cmdline) {
                Ok(None) => run(app, adjustments, logger, None),
                Ok(Some((sink, file))) => {
                    let format = cmdline.access_log_format.unwrap_or_default();
                    run(
                        AccessLog::new(app, sink).format(format),
                        adjustments,
                        logger,
                        file,
                    )
                }
                Err(error) => return usage_error(&error),
            };
            match served {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("waitress-serve: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(error) => usage_error(&error),
    }
}

/// One line on standard error, exit status 2 (the convention for usage).
fn usage_error(error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("waitress-serve: {error} (try --help)");
    ExitCode::from(2)
}

/// Everything that can be checked before binding a socket.
fn prepare(cmdline: &CommandLine) -> Result<(Builtin, Adjustments), String> {
    let adjustments = cmdline.adjustments()?;
    let app = match AppChoice::parse(cmdline.app.as_deref())? {
        AppChoice::Hello => Builtin::Hello,
        AppChoice::Echo => Builtin::Echo,
        AppChoice::Static(dir) => {
            let files = StaticFiles::new(&dir).map_err(|e| format!("static: {e}"))?;
            Builtin::Static(match &cmdline.cache_control {
                None => files,
                Some(value) => files
                    .cache_control(value)
                    .map_err(|e| format!("--cache-control: {e}"))?,
            })
        }
    };
    if cmdline.cache_control.is_some() && !matches!(app, Builtin::Static(_)) {
        return Err("--cache-control applies to static:DIR only".to_string());
    }
    Ok((app, adjustments))
}

/// Where access-log lines go, and the file to reopen on SIGHUP if a file.
type AccessLogSink = (Box<dyn Write + Send>, Option<LogFile>);

fn open_access_log(cmdline: &CommandLine) -> Result<Option<AccessLogSink>, String> {
    Ok(match &cmdline.access_log {
        None => None,
        Some(AccessLogTarget::Stderr) => Some((Box::new(io::stderr()), None)),
        Some(AccessLogTarget::File(path)) => {
            let file = LogFile::open(path).map_err(|e| format!("access log: {e}"))?;
            Some((Box::new(file.clone()), Some(file)))
        }
    })
}

// ANCHOR: run
/// What `waitress::server::serve` does, with our logger: bind, say where,
/// handle Ctrl-C and SIGTERM, serve until one arrives, drain. SIGHUP
/// reopens the access-log file, if there is one.
fn run<A: Application>(
    app: A,
    adjustments: Adjustments,
    logger: Logger,
    access_log: Option<LogFile>,
) -> io::Result<()> {
    let mut builder = ServerBuilder::new(app, adjustments).logger(logger);
    if let Some(file) = access_log {
        builder = builder.on_sighup(move || file.reopen());
    }
    let server = builder.build()?;
    // Handlers first: whoever reads "Serving on" may signal at once, and
    // a SIGHUP or SIGTERM before them would end the process on the spot.
    server.install_signal_handlers()?;
    for address in server.addresses() {
        println!("Serving on {address}");
    }
    io::stdout().flush()?;
    server.run()
}
// ANCHOR_END: run

/// The application APP chose.
enum Builtin {
    Hello,
    Echo,
    Static(StaticFiles),
}

impl Application for Builtin {
    fn call(&self, environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        match self {
            Builtin::Hello => hello(environ, start_response),
            Builtin::Echo => echo(environ, start_response),
            Builtin::Static(files) => files.call(environ, start_response),
        }
    }
}
