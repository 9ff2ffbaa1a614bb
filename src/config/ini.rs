//! [`parse_ini`]: the server section of a PasteDeploy ini file, as
//! [`IniSetting`]s (key, value and line) for the builder.
//!
//! The subset of PasteDeploy (and of Python's `configparser`, which it
//! builds on) that a server section uses: `[DEFAULT]`, `%(name)s`
//! interpolation with `%(here)s` and `%(__file__)s`, `use =
//! egg:waitress#main`, `get KEY = NAME`, continuation lines, and the
//! choice of `[server:NAME]`. Anything else in the chosen section is an
//! error naming its line, rather than a setting silently lost.
#![forbid(unsafe_code)]

use std::path::Path;

use super::error::ConfigError;
use super::options::option;

/// One setting of the chosen server section: its key, its value with
/// `%(name)s` replaced, and the line it is on (from 1), so that a bad value
/// can be reported where it is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IniSetting {
    /// The setting's key, lower case (`configparser` lowers keys).
    pub key: String,
    /// The value, interpolated; continuation lines joined by `\n`.
    pub value: String,
    /// The line of the key, from 1.
    pub line: usize,
}

/// A `key = value` line (with its continuation lines) of a section.
struct Entry {
    key: String,
    value: String,
    line: usize,
}

/// A `[section]` of the file, with its entries in file order.
struct Section {
    name: String,
    entries: Vec<Entry>,
}

impl Section {
    fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|entry| entry.key == key)
    }
}

fn syntax(line: usize, message: impl Into<String>) -> ConfigError {
    ConfigError::Syntax {
        line,
        message: message.into(),
    }
}

/// Reads the settings of the `[server:NAME]` section of an ini file, as
/// PasteDeploy reads it: `key = value` (or `key: value`) lines, `#` and `;`
/// comment lines, indented continuation lines (a multi-line `listen`),
/// `%(name)s` taken from the section, then `[DEFAULT]`, then `here` (the
/// file's folder) and `__file__` (its path); `%%` is a `%`. `use =
/// egg:waitress#main` is accepted and skipped; `get KEY = NAME` takes
/// `[DEFAULT]`'s NAME. `[DEFAULT]`'s keys are not settings of the server
/// (PasteDeploy hands them to the server as global settings, which
/// Waitress ignores), so a file may keep `debug = true` there. For `name`
/// `main`, a section named `[server]` alone also matches, as in PasteDeploy.
///
/// `path` is the file's path (made absolute for `here` and `__file__`).
/// Errors name the line ([`ConfigError::Syntax`]), or the sections the file
/// has when the server section is missing ([`ConfigError::MissingSection`]).
///
/// ```
/// use std::path::Path;
/// use waitress::config::parse_ini;
/// let file = "[DEFAULT]\nbase = 80\n\n[app:main]\nuse = egg:myapp\n\n\
///             [server:main]\nuse = egg:waitress#main\nthreads = 8\n\
///             listen =\n    127.0.0.1:%(base)s80\n    [::1]:%(base)s80\n";
/// let settings = parse_ini(file, Path::new("/etc/app/prod.ini"), "main").unwrap();
/// let pairs: Vec<(&str, &str, usize)> = settings
///     .iter()
///     .map(|s| (s.key.as_str(), s.value.as_str(), s.line))
///     .collect();
/// assert_eq!(pairs, [("threads", "8", 9), ("listen", "127.0.0.1:8080\n[::1]:8080", 10)]);
///
/// let error = parse_ini(file, Path::new("prod.ini"), "other").unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "no [server:other] section (the file has [DEFAULT], [app:main], [server:main])"
/// );
/// ```
pub fn parse_ini(text: &str, path: &Path, name: &str) -> Result<Vec<IniSetting>, ConfigError> {
    let sections = read_sections(text)?;
    let section = choose_section(&sections, name)?;
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let here = absolute.parent().unwrap_or(Path::new("/"));
    let builtins = [
        ("here", here.to_string_lossy().into_owned()),
        ("__file__", absolute.to_string_lossy().into_owned()),
    ];
    let default = sections.iter().find(|s| s.name == "DEFAULT");
    let values = Values {
        section,
        default,
        builtins: &builtins,
    };
    let mut settings = Vec::new();
    for entry in &section.entries {
        let line = entry.line;
        if entry.key == "use" {
            let target = values.interpolate(&entry.value, line, &mut Vec::new())?;
            let target = target.trim().to_ascii_lowercase();
            if target != "egg:waitress#main" && target != "egg:waitress" {
                let message = format!(
                    "use = {target}: this server is waitress; only egg:waitress#main can be used"
                );
                return Err(syntax(line, message));
            }
            continue;
        }
        // ANCHOR: parse_ini_entries
        let (key, value) = if let Some(key) = entry.key.strip_prefix("get ") {
            let global = entry.value.trim().to_ascii_lowercase();
            let source = default
                .and_then(|d| d.get(&global))
                .ok_or_else(|| syntax(line, format!("get {key}: [DEFAULT] has no {global:?}")))?;
            let value = values.interpolate(&source.value, source.line, &mut Vec::new())?;
            (key.trim().to_string(), value)
        } else if entry.key.starts_with("set ") {
            let message = "`set` changes PasteDeploy's global settings, which the server does \
                           not read: write the setting itself";
            return Err(syntax(line, message));
        } else {
            if default.is_some_and(|d| d.get(&entry.key).is_some()) {
                let message = format!(
                    "{} is also a key of [DEFAULT], and PasteDeploy then ignores this line: \
                     rename the [DEFAULT] key and write `get {} = NEWNAME` here",
                    entry.key, entry.key
                );
                return Err(syntax(line, message));
            }
            let value = values.interpolate(&entry.value, line, &mut Vec::new())?;
            (entry.key.clone(), value)
        };
        if option(&key).is_none() {
            return Err(syntax(line, format!("unknown adjustment {key:?}")));
        }
        settings.push(IniSetting { key, value, line });
        // ANCHOR_END: parse_ini_entries
    }
    Ok(settings)
}

/// Splits the file into sections of `key = value` entries, as
/// `configparser` does: keys lower case, continuation lines joined with
/// `\n`, a key or section given twice an error.
fn read_sections(text: &str) -> Result<Vec<Section>, ConfigError> {
    let mut sections: Vec<Section> = Vec::new();
    for (index, raw_line) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw_line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if raw_line.starts_with([' ', '\t'])
            && let Some(entry) = sections.last_mut().and_then(|s| s.entries.last_mut())
        {
            // A continuation of the previous value (it may start with `[`).
            if !entry.value.is_empty() {
                entry.value.push('\n');
            }
            entry.value.push_str(trimmed);
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix('[') {
            let name = rest
                .strip_suffix(']')
                .ok_or_else(|| syntax(line, "a section header must look like [server:main]"))?;
            if sections.iter().any(|s| s.name == name) {
                return Err(syntax(line, format!("[{name}] is given twice")));
            }
            sections.push(Section {
                name: name.to_string(),
                entries: Vec::new(),
            });
            continue;
        }
        let section = sections
            .last_mut()
            .ok_or_else(|| syntax(line, "a setting before any [section] header"))?;
        let separator = trimmed
            .find(['=', ':'])
            .ok_or_else(|| syntax(line, "expected `key = value`"))?;
        let key = trimmed[..separator].trim().to_ascii_lowercase();
        let value = trimmed[separator + 1..].trim();
        if key.is_empty() {
            return Err(syntax(line, "expected `key = value`"));
        }
        if section.get(&key).is_some() {
            let message = format!("{key} is given twice in [{}]", section.name);
            return Err(syntax(line, message));
        }
        section.entries.push(Entry {
            key,
            value: value.to_string(),
            line,
        });
    }
    Ok(sections)
}

/// The `[server:NAME]` section (or `[server]` for `main`); exactly one.
fn choose_section<'a>(sections: &'a [Section], name: &str) -> Result<&'a Section, ConfigError> {
    let matches = |section: &&Section| {
        let named = section
            .name
            .strip_prefix("server:")
            .is_some_and(|n| n.trim() == name);
        named || (name == "main" && section.name == "server")
    };
    let mut found = sections.iter().filter(matches);
    match (found.next(), found.next()) {
        (Some(section), None) => Ok(section),
        (Some(first), Some(second)) => Err(ConfigError::conflict(format!(
            "both [{}] and [{}] are the server section: keep one",
            first.name, second.name
        ))),
        (None, _) => Err(ConfigError::MissingSection {
            section: format!("server:{name}"),
            found: sections.iter().map(|s| format!("[{}]", s.name)).collect(),
        }),
    }
}

/// Where `%(name)s` looks: the section, then `[DEFAULT]`, then `here` and
/// `__file__`.
struct Values<'a> {
    section: &'a Section,
    default: Option<&'a Section>,
    builtins: &'a [(&'static str, String)],
}

/// As `configparser`: references nested deeper than this are an error.
const MAX_DEPTH: usize = 10;

impl Values<'_> {
    // ANCHOR: interpolate
    /// Replaces `%(name)s` and `%%` in `raw` (written on `line`). `stack`
    /// holds the names being expanded, to name a loop.
    fn interpolate(
        &self,
        raw: &str,
        line: usize,
        stack: &mut Vec<String>,
    ) -> Result<String, ConfigError> {
        let mut out = String::new();
        let mut rest = raw;
        while let Some(percent) = rest.find('%') {
            out.push_str(&rest[..percent]);
            let after = &rest[percent + 1..];
            if let Some(tail) = after.strip_prefix('%') {
                out.push('%');
                rest = tail;
                continue;
            }
            let bad = || {
                syntax(
                    line,
                    format!(
                        "{:?}: only %(name)s and %% can follow a %",
                        &rest[percent..].chars().take(12).collect::<String>()
                    ),
                )
            };
            let inner = after.strip_prefix('(').ok_or_else(bad)?;
            let close = inner.find(')').ok_or_else(bad)?;
            let tail = inner[close + 1..].strip_prefix('s').ok_or_else(bad)?;
            let name = inner[..close].to_ascii_lowercase();
            out.push_str(&self.lookup(&name, line, stack)?);
            rest = tail;
        }
        out.push_str(rest);
        Ok(out)
    }
    // ANCHOR_END: interpolate

    fn lookup(
        &self,
        name: &str,
        line: usize,
        stack: &mut Vec<String>,
    ) -> Result<String, ConfigError> {
        if stack.iter().any(|n| n == name) || stack.len() >= MAX_DEPTH {
            stack.push(name.to_string());
            let chain = stack.iter().map(|n| format!("%({n})s")).collect::<Vec<_>>();
            let message = format!("interpolation loop: {}", chain.join(" -> "));
            return Err(syntax(line, message));
        }
        let entry = self
            .section
            .get(name)
            .or_else(|| self.default.and_then(|d| d.get(name)));
        if let Some(entry) = entry {
            stack.push(name.to_string());
            let value = self.interpolate(&entry.value, entry.line, stack)?;
            stack.pop();
            return Ok(value);
        }
        if let Some((_, value)) = self.builtins.iter().find(|(n, _)| *n == name) {
            return Ok(value.clone());
        }
        let message = format!(
            "%({name})s: no {name:?} in [{}] or [DEFAULT]",
            self.section.name
        );
        Err(syntax(line, message))
    }
}
