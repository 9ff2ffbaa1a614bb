//! `waitress-serve`'s command line. The settings' flags (`--threads=8`,
//! `--no-ipv6`, `--listen` repeated, …) are read by the library's
//! [`Flags`]; this file adds the binary's own: the APP argument (or
//! `--app=APP`), `--config=FILE[#NAME]` (the `[server:NAME]` section of a
//! PasteDeploy ini file, `main` by default, which the flags override), `--log-level`, `--access-log[=FILE]`,
//! `--access-log-format`, `--cache-control` (for `static:DIR`), `--help` and
//! `--version`.
#![forbid(unsafe_code)]

use std::path::PathBuf;

use waitress::apps::access_log::LogFormat;
use waitress::config::{
    ADDRESS_KEYS, Adjustments, Arg, ConfigError, Flags, check_setting, option, parse_ini,
};
use waitress::logging::Level;

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// `--help`: print [`crate::help::help_text`].
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
    /// `--config=FILE` (the part before `#`).
    pub config: Option<PathBuf>,
    /// `--config=FILE#NAME`: the server section, `[server:NAME]`; `None`
    /// for `main`.
    pub config_section: Option<String>,
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
    /// `--cache-control=VALUE`: the `Cache-Control` of `static:DIR`'s files
    /// (none by default).
    pub cache_control: Option<String>,
}

/// Where `--access-log` sends its lines. `--access-log=-` (or an empty
/// value) also means standard error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccessLogTarget {
    /// `--access-log` alone: standard error, next to the server's log.
    Stderr,
    /// `--access-log=FILE`: appended to a file (created if missing).
    File(PathBuf),
}

// ANCHOR: app_choice
/// The built-in application APP names (see `waitress::apps`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppChoice {
    /// `hello`: `waitress::apps::hello`.
    Hello,
    /// `echo`: `waitress::apps::echo`.
    Echo,
    /// `static:DIR`, or a path to a directory: `waitress::apps::StaticFiles`.
    Static(PathBuf),
}

impl AppChoice {
    /// Reads APP. The names `hello` and `echo` win over directories of the
    /// same name: write `./hello` (or `static:hello`) for those.
    pub fn parse(app: Option<&str>) -> Result<AppChoice, String> {
        match app {
            None => Err("specify an application: hello, echo, static:DIR or a directory".into()),
            Some("hello") => Ok(AppChoice::Hello),
            Some("echo") => Ok(AppChoice::Echo),
            Some(name) => {
                if let Some(dir) = name.strip_prefix("static:") {
                    if dir.is_empty() {
                        return Err("static: needs a directory".to_string());
                    }
                    return Ok(AppChoice::Static(PathBuf::from(dir)));
                }
                if std::path::Path::new(name).is_dir() {
                    return Ok(AppChoice::Static(PathBuf::from(name)));
                }
                Err(format!(
                    "unknown application {name:?}: use hello, echo, static:DIR or a directory \
                     (a Rust program cannot import an application by name; build your own \
                     binary around waitress::server::serve)"
                ))
            }
        }
    }
}
// ANCHOR_END: app_choice

impl CommandLine {
    /// Reads the configuration file (if any), applies the flags over it, and
    /// checks everything. Errors name the file, flag or key at fault; an
    /// error in the file names its line, and a bad value in the file is an
    /// error even when a flag replaces it (the file is wrong, and would be
    /// used as it is without that flag).
    pub fn adjustments(&self) -> Result<Adjustments, String> {
        let mut settings: Vec<(String, String)> = Vec::new();
        if let Some(path) = &self.config {
            let file = path.display();
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("cannot read {file}: {e}"))?;
            let name = self.config_section.as_deref().unwrap_or("main");
            let entries = parse_ini(&text, path, name).map_err(|e| match e {
                ConfigError::Syntax { line, message } => format!("{file}:{line}: {message}"),
                other => format!("{file}: {other}"),
            })?;
            // ANCHOR: file_then_flags
            let flags_give_address = self
                .settings
                .iter()
                .any(|(key, _)| ADDRESS_KEYS.contains(&key.as_str()));
            let replaced_by_flag = |key: &str| {
                self.settings.iter().any(|(flag, _)| flag == key)
                    || (flags_give_address && ADDRESS_KEYS.contains(&key))
            };
            for entry in &entries {
                if let Err(error) = check_setting(&entry.key, &entry.value) {
                    let note = match option(&entry.key) {
                        Some(spec) if replaced_by_flag(&entry.key) => format!(
                            " (the command line replaces {}, but the file is wrong all the same)",
                            spec.flag()
                        ),
                        _ => String::new(),
                    };
                    return Err(format!("{file}:{}: {error}{note}", entry.line));
                }
            }
            // Flags replace the file's value of the same key (listen
            // included); an address given by flags replaces the file's.
            settings = entries
                .into_iter()
                .filter(|entry| !replaced_by_flag(&entry.key))
                .map(|entry| (entry.key, entry.value))
                .collect();
            // ANCHOR_END: file_then_flags
        }
        settings.extend(self.settings.iter().cloned());
        let mut builder = Adjustments::builder();
        for (key, value) in &settings {
            builder = builder.set(key, value).map_err(|e| e.to_string())?;
        }
        builder.build().map_err(|e| e.to_string())
    }
}

/// Parses the arguments after the program name. The settings' flags come
/// from [`Flags`]; every other flag is one of this binary's, or a mistake.
pub fn parse_args<I>(args: I) -> Result<Command, ConfigError>
where
    I: IntoIterator<Item = String>,
{
    let mut cmdline = CommandLine::default();
    let mut flags = Flags::new(args);
    let mut positional = Vec::new();
    while let Some(arg) = flags.next_arg()? {
        let flag = match arg {
            Arg::Setting { key, value } => {
                cmdline.settings.push((key.to_string(), value));
                continue;
            }
            Arg::Positional(arg) => {
                positional.push(arg);
                continue;
            }
            Arg::Flag(flag) => flag,
        };
        match flag.as_str() {
            "--help" | "-h" => return Ok(Command::Help),
            "--version" | "-V" => return Ok(Command::Version),
            "--config" => {
                // FILE#NAME chooses [server:NAME], as PasteDeploy's
                // `config:FILE#NAME` does (split at the first `#`).
                let value = flags.value()?;
                let (file, section) = match value.split_once('#') {
                    Some((_, "")) => return Err(usage(&flag, &value, "a section name after #")),
                    Some((file, name)) => (file, Some(name.to_string())),
                    None => (value.as_str(), None),
                };
                cmdline.config = Some(PathBuf::from(file));
                cmdline.config_section = section;
            }
            "--app" => cmdline.app = Some(flags.value()?),
            // ANCHOR: logging_flags
            "--log-level" => {
                let value = flags.value()?;
                let level = value.parse::<Level>();
                cmdline.log_level = Some(level.map_err(|e| usage(&flag, &value, e))?);
            }
            // Never takes the next argument: `--access-log hello` logs to
            // standard error and serves hello.
            "--access-log" => {
                cmdline.access_log = Some(match flags.inline_value() {
                    None => AccessLogTarget::Stderr,
                    Some(path) if path.is_empty() || path == "-" => AccessLogTarget::Stderr,
                    Some(path) => AccessLogTarget::File(PathBuf::from(path)),
                });
            }
            "--access-log-format" => {
                let value = flags.value()?;
                let format = value.parse::<LogFormat>();
                cmdline.access_log_format = Some(format.map_err(|e| usage(&flag, &value, e))?);
            }
            // ANCHOR_END: logging_flags
            "--cache-control" => cmdline.cache_control = Some(flags.value()?),
            _ => return Err(Arg::Flag(flag).unexpected()),
        }
    }
    match (positional.len(), &cmdline.app) {
        (0, _) => {}
        (1, None) => cmdline.app = positional.pop(),
        _ => {
            let message = "provide only one application".to_string();
            return Err(ConfigError::Usage { message });
        }
    }
    Ok(Command::Serve(cmdline))
}

/// `--flag=value: why`, for a value this binary's own flag cannot use.
fn usage(flag: &str, value: &str, error: impl std::fmt::Display) -> ConfigError {
    let message = format!("{flag}={value}: {error}");
    ConfigError::Usage { message }
}
