//! The `waitress-serve` command line: flags, the configuration file, help.
//!
//! Every adjustment is a flag spelled as Waitress spells it: `--threads=8`
//! (or `--threads 8`), booleans as `--ipv6` / `--no-ipv6`, and `--listen`
//! repeated for several addresses. `--config=FILE` reads the `[server:main]`
//! section of an ini file first; flags override it.
//!
//! ```
//! use waitress::runner::{parse_args, Command};
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

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::adjustments::{Adjustments, Kind, OPTIONS, option, parse_ini};

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
}

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

/// `waitress-serve --help`: every option with its default.
pub fn help_text() -> String {
    let mut text = String::from(
        "Usage:\n    waitress-serve [OPTIONS] [APP]\n\n\
         Serves an application over HTTP/1.1.\n\n\
         Standard options:\n",
    );
    let standard = [
        ("--help", "Show this information."),
        ("--version", "Print the version."),
        (
            "--config=FILE",
            "Read settings from the [server:main] section of an ini file. Flags override it; an address given by flags replaces the file's.",
        ),
        (
            "--app=APP",
            "The application to serve (or give it as the one argument).",
        ),
    ];
    for (flag, help) in standard {
        let _ = writeln!(text, "    {flag}");
        wrap_into(&mut text, help);
    }
    text.push_str("\nSettings (defaults in brackets):\n");
    for spec in OPTIONS {
        let name = spec.name.replace('_', "-");
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, UsageError> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    fn serve(args: &[&str]) -> CommandLine {
        match parse(args) {
            Ok(Command::Serve(cmdline)) => cmdline,
            other => panic!("expected Serve, got {other:?}"),
        }
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn help_and_version_win() {
        assert_eq!(parse(&["--threads=2", "--help"]), Ok(Command::Help));
        assert_eq!(parse(&["-h"]), Ok(Command::Help));
        assert_eq!(parse(&["--version"]), Ok(Command::Version));
        assert_eq!(parse(&["-V"]), Ok(Command::Version));
    }

    #[test]
    fn value_flags_take_equals_or_the_next_argument() {
        let cmdline = serve(&[
            "--threads=8",
            "--url-prefix",
            "/app",
            "--server-name=example.com",
        ]);
        assert_eq!(
            cmdline.settings,
            pairs(&[
                ("threads", "8"),
                ("url_prefix", "/app"),
                ("server_name", "example.com")
            ])
        );
    }

    #[test]
    fn boolean_flags_have_yes_and_no_forms() {
        let cmdline = serve(&[
            "--no-ipv6",
            "--expose-tracebacks",
            "--no-clear-untrusted-proxy-headers",
        ]);
        assert_eq!(
            cmdline.settings,
            pairs(&[
                ("ipv6", "false"),
                ("expose_tracebacks", "true"),
                ("clear_untrusted_proxy_headers", "false")
            ])
        );
    }

    #[test]
    fn boolean_flags_take_no_value() {
        assert_eq!(
            parse(&["--ipv6=yes"]),
            Err(UsageError(
                "--ipv6 takes no value: use --ipv6 or --no-ipv6".to_string()
            ))
        );
    }

    #[test]
    fn no_prefix_only_applies_to_booleans() {
        assert_eq!(
            parse(&["--no-threads"]),
            Err(UsageError("unknown option --no-threads".to_string()))
        );
    }

    #[test]
    fn repeated_listen_flags_accumulate() {
        let cmdline = serve(&[
            "--listen=127.0.0.1:8080",
            "--listen=[::1]:8080",
            "--threads=8",
            "--no-ipv6",
        ]);
        assert_eq!(
            cmdline.settings[0],
            (
                "listen".to_string(),
                "127.0.0.1:8080 [::1]:8080".to_string()
            )
        );
    }

    #[test]
    fn unknown_flags_and_missing_values_are_usage_errors() {
        assert_eq!(
            parse(&["--thread=4"]),
            Err(UsageError("unknown option --thread".to_string()))
        );
        assert_eq!(
            parse(&["--threads"]),
            Err(UsageError("--threads needs a value".to_string()))
        );
        assert_eq!(
            parse(&["-x"]),
            Err(UsageError("unknown option -x".to_string()))
        );
    }

    #[test]
    fn one_application_at_most() {
        assert_eq!(serve(&["echo"]).app.as_deref(), Some("echo"));
        assert_eq!(serve(&["--app=echo"]).app.as_deref(), Some("echo"));
        assert_eq!(serve(&[]).app, None);
        assert_eq!(
            parse(&["echo", "hello"]),
            Err(UsageError("provide only one application".to_string()))
        );
        assert_eq!(
            parse(&["--app=echo", "hello"]),
            Err(UsageError("provide only one application".to_string()))
        );
        assert_eq!(
            serve(&["--", "--odd-name"]).app.as_deref(),
            Some("--odd-name")
        );
    }

    #[test]
    fn bad_values_are_reported_with_the_key() {
        let error = serve(&["--threads=zero"]).adjustments().unwrap_err();
        assert_eq!(
            error,
            "invalid value for threads: \"zero\" (expected a whole number of at least 1)"
        );
    }

    fn config_file(name: &str, text: &str) -> PathBuf {
        let path =
            std::env::temp_dir().join(format!("waitress-runner-{}-{name}.ini", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn flags_override_the_config_file() {
        let path = config_file(
            "override",
            "[server:main]\nthreads = 3\nident = fromfile\nlisten = 127.0.0.1:7001\n",
        );
        let config = path.to_str().unwrap().to_string();
        let adj = serve(&["--config", &config, "--threads=5"])
            .adjustments()
            .unwrap();
        assert_eq!((adj.threads, adj.ident.as_deref()), (5, Some("fromfile")));
        assert_eq!(adj.listen[0].port(), 7001);
        // An address given by flags replaces the file's address entirely.
        let adj = serve(&["--config", &config, "--port=7002", "--host=127.0.0.1"])
            .adjustments()
            .unwrap();
        assert_eq!(adj.listen[0].port(), 7002);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn config_file_errors_name_the_file() {
        let path = config_file("bad", "[server:main]\nthreads = none\n");
        let error = serve(&["--config", path.to_str().unwrap()])
            .adjustments()
            .unwrap_err();
        assert!(
            error.contains("invalid value for threads: \"none\""),
            "{error}"
        );
        std::fs::remove_file(&path).unwrap();
        let error = serve(&["--config", path.to_str().unwrap()])
            .adjustments()
            .unwrap_err();
        assert!(error.starts_with("cannot read "), "{error}");
    }

    #[test]
    fn help_lists_every_option_with_its_default() {
        let help = help_text();
        for spec in OPTIONS {
            let name = spec.name.replace('_', "-");
            let line = help
                .lines()
                .map(str::trim_start)
                .find(|l| {
                    l.starts_with(&format!("--{name}="))
                        || l.starts_with(&format!("--[no-]{name} "))
                })
                .unwrap_or_else(|| panic!("{name} missing"));
            let default = if spec.default.is_empty() {
                "none"
            } else {
                spec.default
            };
            assert!(line.ends_with(&format!("[{default}]")), "{line}");
        }
        assert!(
            help.lines().all(|l| l.len() < 80),
            "help lines fit 80 columns"
        );
    }
}
