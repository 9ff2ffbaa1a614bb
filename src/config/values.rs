//! Text to values: the parsers `build` uses for each [`Kind`](super::Kind)
//! of setting (lists, whole numbers, booleans, octal permissions) and the
//! slash fixing of `url_prefix`. Each error names the key and the value.
#![forbid(unsafe_code)]

use super::error::ConfigError;

/// The entries of a list setting, separated by spaces or newlines.
pub(super) fn split_list(text: &str) -> impl Iterator<Item = &str> {
    text.split_whitespace()
}

/// A whole number, at least `min`; only ASCII digits (surrounding spaces are
/// trimmed, as a file's values may carry them).
pub(super) fn parse_number(key: &str, value: &str, min: u64) -> Result<u64, ConfigError> {
    let expected = || {
        if min == 0 {
            "expected a whole number".to_string()
        } else {
            format!("expected a whole number of at least {min}")
        }
    };
    crate::http::grammar::parse_decimal(value.trim())
        .filter(|n| *n >= min)
        .ok_or_else(|| ConfigError::invalid(key, value, expected()))
}

/// Waitress's `asbool`, stricter: text that is neither true nor false is an
/// error rather than silently false.
pub(super) fn parse_bool(key: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "t" | "true" | "y" | "yes" | "on" | "1" => Ok(true),
        "f" | "false" | "n" | "no" | "off" | "0" => Ok(false),
        _ => Err(ConfigError::invalid(
            key,
            value,
            "expected true/false, yes/no, on/off or 1/0",
        )),
    }
}

pub(super) fn parse_octal(key: &str, value: &str) -> Result<u32, ConfigError> {
    let digits = value.trim();
    let digits = digits.strip_prefix("0o").unwrap_or(digits);
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b))
    {
        return Err(ConfigError::invalid(
            key,
            value,
            "expected octal permissions such as 600",
        ));
    }
    u32::from_str_radix(digits, 8)
        .ok()
        .filter(|perms| *perms <= 0o7777)
        .ok_or_else(|| ConfigError::invalid(key, value, "expected octal permissions such as 600"))
}

/// One leading slash, no trailing slash: `"app/"` → `"/app"`, `""` stays `""`.
pub(super) fn slash_fixed(prefix: &str) -> String {
    let trimmed = prefix.trim().trim_matches('/');
    if prefix.trim().is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    }
}
