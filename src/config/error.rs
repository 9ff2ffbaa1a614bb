//! [`ConfigError`]: what is wrong with a setting, worded for the person who
//! wrote it (the key, the value, and what was expected).
#![forbid(unsafe_code)]

use std::fmt;

/// A bad setting: which key, which value, and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// The key is not a setting.
    UnknownKey {
        /// The key as given.
        key: String,
    },
    /// The value cannot be used for this key.
    InvalidValue {
        /// The setting.
        key: String,
        /// The value as given.
        value: String,
        /// What would have been accepted.
        expected: String,
    },
    /// Two settings that cannot be used together, or one that needs another.
    Conflict {
        /// What conflicts with what.
        message: String,
    },
    /// A command line that cannot be understood: an unknown flag, a flag
    /// without its value, an extra argument.
    Usage {
        /// What is wrong, for the user.
        message: String,
    },
    /// Not a mistake: `--help` or `--version` asked for this text instead
    /// of a configuration.
    Help {
        /// The text to print.
        text: String,
    },
    /// A line of a configuration file that is not `key = value`.
    Syntax {
        /// The line number, from 1.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// A configuration file without the section asked for.
    MissingSection {
        /// The section asked for, e.g. `server:main`.
        section: String,
        /// The sections the file has, as `[name]`, in file order.
        found: Vec<String>,
    },
}

impl ConfigError {
    pub(super) fn invalid(key: &str, value: &str, expected: impl Into<String>) -> ConfigError {
        ConfigError::InvalidValue {
            key: key.to_string(),
            value: value.to_string(),
            expected: expected.into(),
        }
    }

    pub(super) fn conflict(message: impl Into<String>) -> ConfigError {
        ConfigError::Conflict {
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::UnknownKey { key } => write!(f, "unknown adjustment {key:?}"),
            ConfigError::InvalidValue {
                key,
                value,
                expected,
            } => write!(f, "invalid value for {key}: {value:?} ({expected})"),
            ConfigError::Conflict { message } | ConfigError::Usage { message } => {
                f.write_str(message)
            }
            ConfigError::Help { text } => f.write_str(text),
            ConfigError::Syntax { line, message } => write!(f, "line {line}: {message}"),
            ConfigError::MissingSection { section, found } if found.is_empty() => {
                write!(f, "no [{section}] section (the file has no sections)")
            }
            ConfigError::MissingSection { section, found } => {
                write!(
                    f,
                    "no [{section}] section (the file has {})",
                    found.join(", ")
                )
            }
        }
    }
}

impl std::error::Error for ConfigError {}
