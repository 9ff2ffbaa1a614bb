//! Your own server binary: `waitress-serve`'s flags, your application.
//!
//! Python's `waitress-serve myapp:app` imports the application by name; a
//! Rust program cannot, so a real application is served by a small `main`
//! of its own. This one reads the same command line as `waitress-serve`
//! (every adjustment, `--config`, `--help`, `--log-level`, `--access-log`;
//! an APP argument is accepted and ignored),
//! wraps the application in the access log when asked, and serves it until
//! Ctrl-C or SIGTERM.
//!
//! Run it:
//!
//! ```sh
//! cargo run --example my_app_binary -- --listen=127.0.0.1:8080 --access-log
//! curl http://127.0.0.1:8080/hello/you
//! ```

use std::fs::OpenOptions;
use std::process::ExitCode;

use waitress::apps::access_log::AccessLog;
use waitress::cli::{AccessLogTarget, Command, help_text, parse_args};
use waitress::gateway::{AppResult, Application, Body, Environ, StartResponse, headers};
use waitress::logging::{Level, Logger};
use waitress::server::ServerBuilder;

// ANCHOR: app
/// The application: a greeting at `/hello/NAME`, 404 elsewhere. It keeps
/// state (a greeting word) the way a real application keeps a database pool.
struct Greeter {
    greeting: String,
}

impl Application for Greeter {
    fn call(&self, environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        let Some(name) = environ.path_info().strip_prefix("/hello/") else {
            start_response.start_response(
                "404 Not Found",
                headers(&[("Content-Type", "text/plain")]),
                None,
            )?;
            return Ok(Body::from("Try /hello/NAME\n"));
        };
        let text = format!("{}, {name}!\n", self.greeting);
        start_response.start_response(
            "200 OK",
            headers(&[("Content-Type", "text/plain; charset=utf-8")]),
            None,
        )?;
        Ok(Body::from(text))
    }
}
// ANCHOR_END: app

// ANCHOR: main
fn main() -> ExitCode {
    let cmdline = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Serve(cmdline)) => cmdline,
        Ok(Command::Help) => {
            print!("{}", help_text());
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("my_app_binary {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("my_app_binary: {error}");
            return ExitCode::from(2);
        }
    };
    // The flags and --config file, checked.
    let adjustments = match cmdline.adjustments() {
        Ok(adjustments) => adjustments,
        Err(error) => {
            eprintln!("my_app_binary: {error}");
            return ExitCode::from(2);
        }
    };
    let app = Greeter {
        greeting: "Hello".to_string(),
    };
    let logger = Logger::stderr(cmdline.log_level.unwrap_or(Level::Info));
    // The access log is a middleware: the server serves whatever it wraps.
    let format = cmdline.access_log_format.unwrap_or_default();
    let result = match &cmdline.access_log {
        None => serve(app, adjustments, logger),
        Some(AccessLogTarget::Stderr) => {
            serve(AccessLog::stderr(app).format(format), adjustments, logger)
        }
        Some(AccessLogTarget::File(path)) => {
            match OpenOptions::new().create(true).append(true).open(path) {
                Ok(file) => serve(
                    AccessLog::new(app, file).format(format),
                    adjustments,
                    logger,
                ),
                Err(error) => Err(error),
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("my_app_binary: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `waitress::server::serve`, with a logger of our choosing. With the
/// default logger (standard error, info level) this whole function is
/// `waitress::server::serve(app, adjustments)`.
fn serve<A: Application>(
    app: A,
    adjustments: waitress::config::Adjustments,
    logger: Logger,
) -> std::io::Result<()> {
    let server = ServerBuilder::new(app, adjustments)
        .logger(logger)
        .build()?;
    for address in server.addresses() {
        println!("Serving on {address}");
    }
    server.install_signal_handlers()?;
    server.run()
}
// ANCHOR_END: main
