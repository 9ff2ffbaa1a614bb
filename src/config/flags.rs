//! The settings as command-line flags, spelled as Waitress spells them:
//! `--threads=8` or `--threads 8`, `--ipv6` / `--no-ipv6`, `--listen`
//! repeated. Every name comes from [`OPTIONS`] in `kebab-case`, so the
//! parser needs no list of its own.
//!
//! [`AdjustmentsBuilder::args`] reads a whole command line of settings, for
//! a program with no flags of its own. A program that has some (as
//! `waitress-serve` has `--config` and its APP argument) reads the command
//! line with [`Flags`], one [`Arg`] at a time, and handles the flags that are
//! not settings itself; [`help_text`] gives the settings' part of `--help`.
//!
//! ```
//! use waitress::config::{Arg, Flags};
//!
//! let args = ["--threads", "2", "--no-ipv6", "--verbose", "app.db"].map(String::from);
//! let mut flags = Flags::new(args);
//! let mut found = Vec::new();
//! while let Some(arg) = flags.next_arg().unwrap() {
//!     found.push(arg);
//! }
//! assert_eq!(found, [
//!     Arg::Setting { key: "threads", value: "2".to_string() },
//!     Arg::Setting { key: "ipv6", value: "false".to_string() },
//!     Arg::Flag("--verbose".to_string()),
//!     Arg::Positional("app.db".to_string()),
//! ]);
//! ```
#![forbid(unsafe_code)]

use std::fmt::Write as _;

use super::builder::AdjustmentsBuilder;
use super::error::ConfigError;
use super::options::{ADDRESS_KEYS, Kind, OPTIONS, option};

/// One argument of a command line, as [`Flags`] reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    /// A setting's flag with its value: `--threads 8` is `threads` and `8`,
    /// `--no-ipv6` is `ipv6` and `false`.
    Setting {
        /// The setting's `snake_case` name.
        key: &'static str,
        /// Its value, as text (checked by [`AdjustmentsBuilder::build`]).
        value: String,
    },
    /// Any other flag, as written without its `=value` (`--config`, `-h`):
    /// the program's own. If it takes a value, [`Flags::value`] gives it.
    Flag(String),
    /// An argument that is not a flag; after `--`, every argument is one.
    Positional(String),
}

impl Arg {
    /// The usage error for an argument the program does not take.
    ///
    /// ```
    /// use waitress::config::Arg;
    /// let error = Arg::Flag("--thread".to_string()).unexpected();
    /// assert_eq!(error.to_string(), "unknown option --thread");
    /// ```
    pub fn unexpected(&self) -> ConfigError {
        let message = match self {
            Arg::Setting { key, .. } => format!("the setting {key} is not used here"),
            Arg::Flag(flag) => format!("unknown option {flag}"),
            Arg::Positional(arg) => format!("unexpected argument {arg:?}"),
        };
        ConfigError::Usage { message }
    }
}

/// Reads a command line one [`Arg`] at a time (see the module's example).
#[derive(Debug)]
pub struct Flags<I> {
    args: I,
    /// The last flag read, for messages.
    flag: String,
    /// Its `=value`, until it is taken.
    inline: Option<String>,
    /// After `--`.
    positional_only: bool,
}

impl<I: Iterator<Item = String>> Flags<I> {
    /// Reads `args`: the arguments after the program's name.
    pub fn new(args: impl IntoIterator<Item = String, IntoIter = I>) -> Flags<I> {
        Flags {
            args: args.into_iter(),
            flag: String::new(),
            inline: None,
            positional_only: false,
        }
    }

    /// The next argument, `None` at the end. A setting's flag that is
    /// misspelled is an [`Arg::Flag`], for the program to refuse; a setting
    /// without its value, or a `=value` no one took, is an error.
    pub fn next_arg(&mut self) -> Result<Option<Arg>, ConfigError> {
        if let Some(value) = self.inline.take() {
            return Err(usage(format!(
                "{} takes no value (got {value:?})",
                self.flag
            )));
        }
        let Some(arg) = self.args.next() else {
            return Ok(None);
        };
        if self.positional_only || !arg.starts_with('-') || arg == "-" {
            return Ok(Some(Arg::Positional(arg)));
        }
        if arg == "--" {
            self.positional_only = true;
            return self.next_arg();
        }
        // ANCHOR: flags_lookup
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if arg.starts_with("--") => (flag, Some(value.to_string())),
            _ => (arg.as_str(), None),
        };
        (self.flag, self.inline) = (flag.to_string(), inline);
        let name = flag.trim_start_matches('-').replace('-', "_");
        let setting = match option(&name) {
            Some(spec) if flag.starts_with("--") => Some((spec, false)),
            _ => match name.strip_prefix("no_").and_then(option) {
                Some(spec) if flag.starts_with("--") && spec.kind == Kind::Boolean => {
                    Some((spec, true))
                }
                _ => None,
            },
        };
        let Some((spec, negated)) = setting else {
            return Ok(Some(Arg::Flag(self.flag.clone())));
        };
        // ANCHOR_END: flags_lookup
        let value = if spec.kind == Kind::Boolean {
            if self.inline.take().is_some() {
                let yes = spec.flag();
                return Err(usage(format!(
                    "{} takes no value: use {yes} or --no-{}",
                    self.flag,
                    &yes[2..]
                )));
            }
            (if negated { "false" } else { "true" }).to_string()
        } else {
            self.value()?
        };
        Ok(Some(Arg::Setting {
            key: spec.name,
            value,
        }))
    }

    /// The value of the flag just read: its `=value`, or else the next
    /// argument.
    pub fn value(&mut self) -> Result<String, ConfigError> {
        match self.inline.take() {
            Some(value) => Ok(value),
            None => (self.args.next()).ok_or_else(|| usage(format!("{} needs a value", self.flag))),
        }
    }

    /// The `=value` of the flag just read, if it has one: for a flag whose
    /// value is optional, which must not take the next argument.
    pub fn inline_value(&mut self) -> Option<String> {
        self.inline.take()
    }
}

fn usage(message: String) -> ConfigError {
    ConfigError::Usage { message }
}

impl AdjustmentsBuilder {
    /// Applies command-line flags (`--port=9000`, `--threads 8`, `--no-ipv6`,
    /// …) over what is already set, as `waitress-serve` spells them. When the
    /// flags give an address (`--listen`, `--host`, `--port`, `--unix-socket`,
    /// `--sockets`), the address set in code is dropped, so the two cannot
    /// conflict. `--help` (`-h`) and `--version` (`-V`) return
    /// [`ConfigError::Help`] with the text to print; any other flag or
    /// argument, [`ConfigError::Usage`].
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
        let mut flags = Flags::new(args);
        let mut settings = Vec::new();
        while let Some(arg) = flags.next_arg()? {
            match arg {
                Arg::Setting { key, value } => settings.push((key, value)),
                Arg::Flag(flag) if flag == "--help" || flag == "-h" => {
                    return Err(ConfigError::Help { text: help_text() });
                }
                Arg::Flag(flag) if flag == "--version" || flag == "-V" => {
                    let text = format!("waitress {}", env!("CARGO_PKG_VERSION"));
                    return Err(ConfigError::Help { text });
                }
                other => return Err(other.unexpected()),
            }
        }
        let gives_address = |key: &&str| ADDRESS_KEYS.contains(key);
        if settings.iter().any(|(key, _)| gives_address(key)) {
            // A host set in code still applies to a --port given alone.
            let port_alone = settings
                .iter()
                .all(|(key, _)| *key == "port" || !gives_address(key));
            for key in ADDRESS_KEYS {
                if !(key == "host" && port_alone) {
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

/// The settings' part of `--help`: every flag of [`OPTIONS`] with its
/// default and help, wrapped to fit 80 columns.
///
/// ```
/// let help = waitress::config::help_text();
/// assert!(help.contains("--threads=INT  [4]"));
/// assert!(help.contains("--[no-]ipv6  [true]"));
/// ```
pub fn help_text() -> String {
    let mut text = String::from("Settings (defaults in brackets):\n");
    for spec in OPTIONS {
        let name = &spec.flag()[2..];
        let flag = match spec.kind {
            Kind::Boolean => format!("--[no-]{name}"),
            Kind::Number => format!("--{name}=INT"),
            Kind::Octal => format!("--{name}=OCTAL"),
            Kind::List => format!("--{name}=LIST"),
            Kind::Text => format!("--{name}=STR"),
        };
        let default = if spec.default.is_empty() {
            "none"
        } else {
            spec.default
        };
        let _ = writeln!(text, "    {flag}  [{default}]");
        wrap_into(&mut text, spec.help);
    }
    text
}

/// Appends `help` indented by 8 spaces, wrapped before 80 columns.
fn wrap_into(text: &mut String, help: &str) {
    let mut line = String::new();
    for word in help.split_whitespace() {
        if !line.is_empty() && 8 + line.len() + 1 + word.len() > 79 {
            let _ = writeln!(text, "        {line}");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        let _ = writeln!(text, "        {line}");
    }
}
