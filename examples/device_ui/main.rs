//! A device's web interface: one binary, std only, serving a settings form,
//! a JSON status, and the redirect between them, behind HTTP Basic
//! authentication written as a middleware.
//!
//! ```text
//! cargo run --example device_ui -- --user admin --password secret
//! ```
//!
//! It serves on 127.0.0.1:8080 (`--port 9000` for another port; any other
//! setting flag, `--threads 2`, `--listen …`, works as for `waitress-serve`):
//!
//! - `GET /` redirects to `/settings`;
//! - `GET /settings` shows the form with the current settings (device name,
//!   NTP server, log level); `POST /settings` checks them, saves them to
//!   `settings.conf` in `--data-dir` (by default `waitress-device-ui` in the
//!   temporary directory) and redirects (303) to the form, or shows the form
//!   again with `400` and what is wrong;
//! - `GET /status.json` gives the version, the uptime and the settings.
//!
//! The credentials come from `--user` and `--password`, or from the
//! `DEVICE_UI_USER` and `DEVICE_UI_PASSWORD` environment variables (which,
//! unlike arguments, other users of the machine cannot see in `ps`).

mod auth;
mod pages;
mod settings;

use std::path::PathBuf;
use std::process::ExitCode;

use waitress::config::{Adjustments, ConfigError};

use auth::BasicAuth;
use pages::DeviceUi;
use settings::Store;

const USAGE: &str = "usage: device_ui [--user NAME] [--password SECRET] [--data-dir DIR] \
[--port PORT] [other settings]\n\
The credentials may come from DEVICE_UI_USER and DEVICE_UI_PASSWORD instead.\n";

/// The example's own flags; the rest are the server's settings.
struct Options {
    user: Option<String>,
    password: Option<String>,
    data_dir: PathBuf,
    settings: Vec<String>,
}

/// Takes `--user`, `--password` and `--data-dir` (as `--flag value` or
/// `--flag=value`) out of `args`, and leaves the rest for
/// `Adjustments::builder().args`.
fn parse_options(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        user: None,
        password: None,
        data_dir: std::env::temp_dir().join("waitress-device-ui"),
        settings: Vec::new(),
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_string(), Some(value.to_string())),
            None => (arg.clone(), None),
        };
        if !["--user", "--password", "--data-dir"].contains(&flag.as_str()) {
            options.settings.push(arg);
            continue;
        }
        let value = inline
            .or_else(|| args.next())
            .ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--user" => options.user = Some(value),
            "--password" => options.password = Some(value),
            _ => options.data_dir = PathBuf::from(value),
        }
    }
    Ok(options)
}

/// The credentials: the flag, else the environment variable; neither
/// may be empty, and the user name may not hold the `:` that ends it.
fn credential(given: Option<String>, variable: &str, flag: &str) -> Result<String, String> {
    let value = given.or_else(|| std::env::var(variable).ok());
    let refused = |value: &str| value.is_empty() || (flag == "--user" && value.contains(':'));
    match value {
        Some(value) if !refused(&value) => Ok(value),
        Some(_) => Err(format!("{flag}: not empty, and a user name without ':'")),
        None => Err(format!("give {flag} (or set {variable})\n{USAGE}")),
    }
}

fn run() -> Result<(), String> {
    let options = parse_options(std::env::args().skip(1))?;
    let adjustments = Adjustments::builder()
        .host("127.0.0.1")
        .port(8080)
        .args(options.settings)
        .and_then(|builder| builder.build());
    let adjustments = match adjustments {
        Ok(adjustments) => adjustments,
        Err(ConfigError::Help { text }) => {
            print!("{USAGE}\n{text}");
            return Ok(());
        }
        Err(error) => return Err(error.to_string()),
    };
    let user = credential(options.user, "DEVICE_UI_USER", "--user")?;
    let password = credential(options.password, "DEVICE_UI_PASSWORD", "--password")?;
    let store = Store::open(&options.data_dir)
        .map_err(|error| format!("{}: {error}", options.data_dir.display()))?;
    eprintln!("Settings are kept in {}", store.path().display());
    let app = BasicAuth {
        realm: "device".to_string(),
        user,
        password,
        inner: DeviceUi::new(store),
    };
    waitress::serve(app, adjustments).map_err(|error| error.to_string())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("device_ui: {message}");
            ExitCode::from(2)
        }
    }
}
