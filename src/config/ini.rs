//! [`parse_ini`]: the `[server:main]` section of a PasteDeploy ini file, as
//! `(key, value)` settings for the builder.
#![forbid(unsafe_code)]

use super::error::ConfigError;
use super::options::option;

// ANCHOR: parse_ini
/// Reads the settings of the `[server:main]` section of an ini file, in
/// PasteDeploy's shape: `key = value` (or `key: value`) lines, `#` and `;`
/// comments, indented continuation lines (a multi-line `listen`). The `use`
/// key (`egg:waitress#main`) and other sections are ignored.
///
/// ```
/// use waitress::config::parse_ini;
/// let file = "[app:main]\nuse = egg:myapp\n\n[server:main]\nuse = egg:waitress#main\nthreads = 8\nlisten =\n    127.0.0.1:8080\n    [::1]:8080\n";
/// let settings = parse_ini(file).unwrap();
/// assert_eq!(settings, vec![
///     ("threads".to_string(), "8".to_string()),
///     ("listen".to_string(), "127.0.0.1:8080\n[::1]:8080".to_string()),
/// ]);
/// ```
pub fn parse_ini(text: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let mut settings: Vec<(String, String)> = Vec::new();
    let mut in_server_section = false;
    let mut last_key_line: Option<usize> = None;
    for (index, raw_line) in text.lines().enumerate() {
        let line_number = index + 1;
        let line = raw_line.trim_end();
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let syntax = |message: &str| ConfigError::Syntax {
            line: line_number,
            message: message.to_string(),
        };
        if line.starts_with([' ', '\t']) && in_server_section {
            // A continuation of the previous value (it may start with `[`).
            let index =
                last_key_line.ok_or_else(|| syntax("an indented line continues nothing"))?;
            let value = &mut settings[index].1;
            if !value.is_empty() {
                value.push('\n');
            }
            value.push_str(trimmed);
            continue;
        }
        if trimmed.starts_with('[') {
            let name = trimmed
                .strip_prefix('[')
                .and_then(|t| t.strip_suffix(']'))
                .ok_or_else(|| syntax("a section header must look like [server:main]"))?;
            in_server_section = name.trim() == "server:main";
            last_key_line = None;
            continue;
        }
        if !in_server_section {
            continue;
        }
        let separator = trimmed
            .find(['=', ':'])
            .ok_or_else(|| syntax("expected `key = value`"))?;
        let key = trimmed[..separator].trim();
        let value = trimmed[separator + 1..].trim();
        if key.is_empty() {
            return Err(syntax("expected `key = value`"));
        }
        if key == "use" {
            last_key_line = None;
            continue;
        }
        if option(key).is_none() {
            return Err(ConfigError::UnknownKey {
                key: key.to_string(),
            });
        }
        settings.push((key.to_string(), value.to_string()));
        last_key_line = Some(settings.len() - 1);
    }
    Ok(settings)
}
// ANCHOR_END: parse_ini
