//! Your own server binary: `waitress-serve`'s settings flags, your
//! application.
//!
//! Python's `waitress-serve myapp:app` imports the application by name; a
//! Rust program cannot, so a real application is served by a small `main`
//! of its own. This one reads every setting's flag as `waitress-serve` does
//! (`--listen`, `--threads`, `--no-ipv6`, …, and `--help`), adds one flag of
//! its own, `--access-log`, wraps the application in the access log when
//! asked, and serves it until Ctrl-C or SIGTERM.
//!
//! Run it:
//!
//! ```sh
//! cargo run --example my_app_binary -- --listen=127.0.0.1:8080 --access-log
//! curl http://127.0.0.1:8080/hello/you
//! ```

use std::process::ExitCode;

use waitress::apps::access_log::AccessLog;
use waitress::config::{Adjustments, Arg, ConfigError, Flags, help_text};
use waitress::gateway::{AppResult, Application, Body, Environ, StartResponse, headers};

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

fn main() -> ExitCode {
    let (adjustments, access_log) = match read_command_line() {
        Ok(read) => read,
        Err(ConfigError::Help { text }) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("my_app_binary: {error} (try --help)");
            return ExitCode::from(2);
        }
    };
    let app = Greeter {
        greeting: "Hello".to_string(),
    };
    // The access log is a middleware: the server serves whatever it wraps.
    let served = if access_log {
        waitress::serve(AccessLog::stderr(app), adjustments)
    } else {
        waitress::serve(app, adjustments)
    };
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("my_app_binary: {error}");
            ExitCode::FAILURE
        }
    }
}

// ANCHOR: read_command_line
/// The settings' flags, checked, and whether `--access-log` was given. A
/// program with no flags of its own needs only
/// `Adjustments::builder().args(std::env::args().skip(1))?.build()?`.
fn read_command_line() -> Result<(Adjustments, bool), ConfigError> {
    let mut builder = Adjustments::builder();
    let mut access_log = false;
    let mut flags = Flags::new(std::env::args().skip(1));
    while let Some(arg) = flags.next_arg()? {
        match arg {
            Arg::Setting { key, value } => builder = builder.set(key, &value)?,
            Arg::Flag(flag) if flag == "--access-log" => access_log = true,
            Arg::Flag(flag) if flag == "--help" || flag == "-h" => {
                let usage = "Usage: my_app_binary [--access-log] [SETTINGS]\n\n";
                let text = format!("{usage}{}", help_text());
                return Err(ConfigError::Help { text });
            }
            other => return Err(other.unexpected()),
        }
    }
    Ok((builder.build()?, access_log))
}
// ANCHOR_END: read_command_line
