//! The `waitress-serve` command line: flags, the configuration file, help.
//!
//! Every adjustment is a flag spelled as Waitress spells it: `--threads=8`
//! (or `--threads 8`), booleans as `--ipv6` / `--no-ipv6`, and `--listen`
//! repeated for several addresses. `--config=FILE` reads the `[server:main]`
//! section of an ini file first; flags override it.
//!
//! ```
//! use waitress::cli::{parse_args, Command};
//!
//! let args = ["--listen=127.0.0.1:0", "--threads", "2", "--no-ipv6", "hello"];
//! let Command::Serve(cmdline) = parse_args(args.iter().map(|s| s.to_string())).unwrap() else {
//!     panic!("expected a command to serve");
//! };
//! assert_eq!(cmdline.app.as_deref(), Some("hello"));
//! let adj = cmdline.adjustments().unwrap();
//! assert_eq!((adj.threads, adj.ipv6), (2, false));
//! ```
#![forbid(unsafe_code)]

use std::path::PathBuf;

use crate::apps::access_log::LogFormat;
use crate::config::{Adjustments, AdjustmentsBuilder, ConfigError, Kind, option, parse_ini};
use crate::logging::Level;

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// `--help`: print [`help_text`].
    Help,
    /// `--version`: print the version.
    Version,
    /// Serve an application with these settings.
    Serve(CommandLine),
}

/// The settings and application named on the command line.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CommandLine {
    /// Adjustments from flags, `(snake_case key, value)`, in order.
    pub settings: Vec<(String, String)>,
    /// `--config=FILE`.
    pub config: Option<PathBuf>,
    /// The application to serve (`--app=APP` or the one positional argument).
    pub app: Option<String>,
    /// `--log-level`: the most detailed server log level written
    /// (default [`Level::Info`]).
    pub log_level: Option<Level>,
    /// `--access-log` or `--access-log=FILE`: where the access log goes
    /// (none by default).
    pub access_log: Option<AccessLogTarget>,
    /// `--access-log-format`: `common`, `combined` (default) or `timed`.
    pub access_log_format: Option<LogFormat>,
}

/// Where `--access-log` sends its lines. `--access-log=-` (or an empty
/// value) also means standard error.
///
/// ```
/// use waitress::cli::{parse_args, AccessLogTarget, Command};
/// let args = ["--access-log=/var/log/app.log", "hello"].map(String::from);
/// let Ok(Command::Serve(cmdline)) = parse_args(args) else { panic!() };
/// assert_eq!(cmdline.access_log, Some(AccessLogTarget::File("/var/log/app.log".into())));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccessLogTarget {
    /// `--access-log` alone: standard error, next to the server's log.
    Stderr,
    /// `--access-log=FILE`: appended to a file (created if missing).
    File(PathBuf),
}

// ANCHOR: app_choice
/// The built-in application APP names (see [`crate::apps`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppChoice {
    /// `hello`: [`crate::apps::hello`].
    Hello,
    /// `echo`: [`crate::apps::echo`].
    Echo,
    /// `static:DIR`, or a path to a directory: [`crate::apps::StaticFiles`].
    Static(PathBuf),
}

impl AppChoice {
    /// Reads APP. The names `hello` and `echo` win over directories of the
    /// same name: write `./hello` (or `static:hello`) for those.
    ///
    /// ```
    /// use waitress::cli::AppChoice;
    /// assert_eq!(AppChoice::parse(Some("echo")), Ok(AppChoice::Echo));
    /// assert_eq!(AppChoice::parse(Some("static:/srv/www")), Ok(AppChoice::Static("/srv/www".into())));
    /// assert!(AppChoice::parse(None).is_err());
    /// assert!(AppChoice::parse(Some("myapp:app")).is_err());
    /// ```
    pub fn parse(app: Option<&str>) -> Result<AppChoice, UsageError> {
        match app {
            None => Err(UsageError(
                "specify an application: hello, echo, static:DIR or a directory".to_string(),
            )),
            Some("hello") => Ok(AppChoice::Hello),
            Some("echo") => Ok(AppChoice::Echo),
            Some(name) => {
                if let Some(dir) = name.strip_prefix("static:") {
                    if dir.is_empty() {
                        return Err(UsageError("static: needs a directory".to_string()));
                    }
                    return Ok(AppChoice::Static(PathBuf::from(dir)));
                }
                if std::path::Path::new(name).is_dir() {
                    return Ok(AppChoice::Static(PathBuf::from(name)));
                }
                Err(UsageError(format!(
                    "unknown application {name:?}: use hello, echo, static:DIR or a directory \
                     (a Rust program cannot import an application by name; build your own \
                     binary around waitress::server::serve)"
                )))
            }
        }
    }
}
// ANCHOR_END: app_choice

/// Keys that together say where to listen: when the command line gives any
/// of them, the configuration file's are all dropped.
const ADDRESS_KEYS: [&str; 5] = ["host", "port", "listen", "unix_socket", "sockets"];

impl CommandLine {
    /// Reads the configuration file (if any), applies the flags over it, and
    /// checks everything. Errors name the file, flag or key at fault.
    pub fn adjustments(&self) -> Result<Adjustments, String> {
        let mut settings: Vec<(String, String)> = Vec::new();
        if let Some(path) = &self.config {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            settings = parse_ini(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            let flags_give_address = self
                .settings
                .iter()
                .any(|(key, _)| ADDRESS_KEYS.contains(&key.as_str()));
            if flags_give_address {
                settings.retain(|(key, _)| !ADDRESS_KEYS.contains(&key.as_str()));
            }
            // Flags replace the file's value of the same key (listen included).
            settings.retain(|(key, _)| !self.settings.iter().any(|(flag, _)| flag == key));
        }
        settings.extend(self.settings.iter().cloned());
        let mut builder = Adjustments::builder();
        for (key, value) in &settings {
            builder = builder.set(key, value).map_err(|e| e.to_string())?;
        }
        builder.build().map_err(|e| e.to_string())
    }
}

// `AdjustmentsBuilder::args` lives here, beside the flag parser it uses, so
// that the configuration does not depend on the command line above it.
impl AdjustmentsBuilder {
    /// Applies command-line flags (`--port=9000`, `--threads 8`, `--no-ipv6`,
    /// …) over what is already set, as `waitress-serve` spells them. When the
    /// flags give an address (`--listen`, `--host`, `--port`, `--unix-socket`,
    /// `--sockets`), the address set in code is dropped, so the two cannot
    /// conflict. `--help` and `--version` return [`ConfigError::Help`] with
    /// the text to print; a flag it does not know, [`ConfigError::Usage`].
    ///
    /// ```
    /// use waitress::config::Adjustments;
    /// let args = ["--port=9000", "--threads", "2"].map(String::from);
    /// let adj = Adjustments::builder().host("127.0.0.1").port(8080).args(args).unwrap().build().unwrap();
    /// assert_eq!(adj.listen[0].to_string(), "127.0.0.1:9000");
    /// assert_eq!(adj.threads, 2);
    /// ```
    pub fn args<I>(mut self, args: I) -> Result<AdjustmentsBuilder, ConfigError>
    where
        I: IntoIterator<Item = String>,
    {
        let command = parse_args(args).map_err(|e| ConfigError::Usage { message: e.0 })?;
        let settings = match command {
            Command::Serve(cmdline) => cmdline.settings,
            Command::Help => return Err(ConfigError::Help { text: help_text() }),
            Command::Version => {
                let text = format!("waitress {}", env!("CARGO_PKG_VERSION"));
                return Err(ConfigError::Help { text });
            }
        };
        let flags_give_address = settings
            .iter()
            .any(|(key, _)| ADDRESS_KEYS.contains(&key.as_str()));
        if flags_give_address {
            for key in ADDRESS_KEYS {
                // A host set in code still applies to a --port given alone.
                let keep_host = key == "host"
                    && !settings
                        .iter()
                        .any(|(k, _)| k != "port" && ADDRESS_KEYS.contains(&k.as_str()));
                if !keep_host {
                    self = self.unset(key);
                }
            }
        }
        for (key, value) in &settings {
            self = self.set(key, value)?;
        }
        Ok(self)
    }
}

/// A command line that cannot be understood, with a message for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

// ANCHOR: parse_args
/// Parses the arguments after the program name.
pub fn parse_args<I>(args: I) -> Result<Command, UsageError>
where
    I: IntoIterator<Item = String>,
{
    let mut cmdline = CommandLine::default();
    let mut args = args.into_iter();
    let mut positional = Vec::new();
    while let Some(arg) = args.next() {
        if arg == "--" {
            positional.extend(args.by_ref());
            break;
        }
        if !arg.starts_with("--") || arg.len() == 2 {
            if arg.starts_with('-') && arg.len() > 1 {
                match arg.as_str() {
                    "-h" => return Ok(Command::Help),
                    "-V" => return Ok(Command::Version),
                    _ => return Err(UsageError(format!("unknown option {arg}"))),
                }
            }
            positional.push(arg);
            continue;
        }
        let (flag, inline_value) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_string(), Some(value.to_string())),
            None => (arg.clone(), None),
        };
        let name = flag[2..].replace('-', "_");
        let mut value_for = |flag: &str| -> Result<String, UsageError> {
            match &inline_value {
                Some(value) => Ok(value.clone()),
                None => args
                    .next()
                    .ok_or_else(|| UsageError(format!("{flag} needs a value"))),
            }
        };
        match name.as_str() {
            "help" => return Ok(Command::Help),
            "version" => return Ok(Command::Version),
            "config" => cmdline.config = Some(PathBuf::from(value_for(&flag)?)),
            "app" => cmdline.app = Some(value_for(&flag)?),
            // ANCHOR: logging_flags
            "log_level" => {
                let value = value_for(&flag)?;
                let level = value
                    .parse::<Level>()
                    .map_err(|e| UsageError(format!("{flag}={value}: {e}")))?;
                cmdline.log_level = Some(level);
            }
            // Never takes the next argument: `--access-log hello` logs to
            // standard error and serves hello.
            "access_log" => {
                cmdline.access_log = Some(match &inline_value {
                    None => AccessLogTarget::Stderr,
                    Some(path) if path.is_empty() || path == "-" => AccessLogTarget::Stderr,
                    Some(path) => AccessLogTarget::File(PathBuf::from(path)),
                });
            }
            "access_log_format" => {
                let value = value_for(&flag)?;
                let format = value
                    .parse::<LogFormat>()
                    .map_err(|e| UsageError(format!("{flag}={value}: {e}")))?;
                cmdline.access_log_format = Some(format);
            }
            // ANCHOR_END: logging_flags
            _ => {
                let (spec, negated) = match option(&name) {
                    Some(spec) => (spec, false),
                    None => match name.strip_prefix("no_").and_then(option) {
                        Some(spec) if spec.kind == Kind::Boolean => (spec, true),
                        _ => return Err(UsageError(format!("unknown option {flag}"))),
                    },
                };
                let value = if spec.kind == Kind::Boolean {
                    if inline_value.is_some() {
                        return Err(UsageError(format!(
                            "{flag} takes no value: use --{0} or --no-{0}",
                            spec.name.replace('_', "-")
                        )));
                    }
                    (if negated { "false" } else { "true" }).to_string()
                } else {
                    value_for(&flag)?
                };
                cmdline.settings.push((spec.name.to_string(), value));
            }
        }
    }
    // Several --listen flags add up, as in Waitress.
    let mut merged: Vec<(String, String)> = Vec::new();
    for (key, value) in cmdline.settings {
        match merged
            .iter_mut()
            .find(|(k, _)| *k == key && key == "listen")
        {
            Some((_, listen)) => {
                listen.push(' ');
                listen.push_str(&value);
            }
            None => merged.push((key, value)),
        }
    }
    cmdline.settings = merged;
    match (positional.len(), &cmdline.app) {
        (0, _) => {}
        (1, None) => cmdline.app = positional.pop(),
        _ => return Err(UsageError("provide only one application".to_string())),
    }
    Ok(Command::Serve(cmdline))
}
// ANCHOR_END: parse_args

mod help;
pub use help::help_text;

#[cfg(test)]
mod tests;
