//! The device's settings: what they are, which values are valid, and how
//! they are kept in a file that a power cut cannot leave half written.

use std::fs::{self, File};
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// The log levels the device knows, in the order the form lists them.
pub const LOG_LEVELS: [&str; 4] = ["error", "warn", "info", "debug"];

/// The settings, as text (as the form sends them and the file keeps them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub device_name: String,
    pub ntp_server: String,
    pub log_level: String,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            device_name: "waitress-device".to_string(),
            ntp_server: "pool.ntp.org".to_string(),
            log_level: "info".to_string(),
        }
    }
}

/// A message for the field (by its form name) whose value was refused.
pub type Problem = (&'static str, &'static str);

impl Settings {
    /// The settings named in `pairs` (the first of a repeated name); a
    /// missing one is empty, which [`Settings::problems`] refuses.
    pub fn from_pairs(pairs: &[(String, String)]) -> Settings {
        let value = |name: &str| {
            let found = pairs.iter().find(|(key, _)| key == name);
            found.map(|(_, value)| value.clone()).unwrap_or_default()
        };
        Settings {
            device_name: value("device_name"),
            ntp_server: value("ntp_server"),
            log_level: value("log_level"),
        }
    }

    /// What is wrong with these settings; empty when they are valid.
    pub fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let name = &self.device_name;
        if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
            problems.push((
                "device_name",
                "Device name: 1 to 64 characters, without control characters.",
            ));
        }
        if !is_host(&self.ntp_server) {
            problems.push((
                "ntp_server",
                "NTP server: a host name (pool.ntp.org) or an IP address.",
            ));
        }
        if !LOG_LEVELS.contains(&self.log_level.as_str()) {
            problems.push(("log_level", "Log level: one of error, warn, info, debug."));
        }
        problems
    }

    /// The file's text: one `name=value` line per setting. Valid values
    /// hold no line break, so each line reads back as it was written.
    fn to_file_text(&self) -> String {
        format!(
            "device_name={}\nntp_server={}\nlog_level={}\n",
            self.device_name, self.ntp_server, self.log_level
        )
    }

    fn from_file_text(text: &str) -> Settings {
        let pairs: Vec<(String, String)> = (text.lines())
            .filter_map(|line| line.split_once('='))
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        Settings::from_pairs(&pairs)
    }
}

/// An IP address, or a DNS name: dot-separated labels of letters, digits
/// and inner hyphens, each 1 to 63 bytes, 253 in all.
fn is_host(text: &str) -> bool {
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    text.parse::<IpAddr>().is_ok() || (text.len() <= 253 && text.split('.').all(label_ok))
}

/// Where the settings are kept: `settings.conf` in the data directory.
pub struct Store {
    path: PathBuf,
}

impl Store {
    /// A store in `dir`, which is created if it does not exist.
    pub fn open(dir: &Path) -> io::Result<Store> {
        fs::create_dir_all(dir)?;
        Ok(Store {
            path: dir.join("settings.conf"),
        })
    }

    /// The settings file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved settings; the defaults when there is no file yet, and
    /// (with a warning) when it cannot be read or holds invalid values.
    pub fn load(&self) -> Settings {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Settings::default(),
            Err(error) => {
                eprintln!(
                    "device_ui: {}: {error}; using the defaults",
                    self.path.display()
                );
                return Settings::default();
            }
        };
        let settings = Settings::from_file_text(&text);
        if settings.problems().is_empty() {
            settings
        } else {
            eprintln!(
                "device_ui: {}: invalid; using the defaults",
                self.path.display()
            );
            Settings::default()
        }
    }

    // ANCHOR: save
    /// Saves `settings` atomically: a reader (or a reboot) sees the old file
    /// or the new one, never a mix. The caller makes saves one at a time.
    pub fn save(&self, settings: &Settings) -> io::Result<()> {
        let temporary = self.path.with_extension("conf.tmp");
        let mut file = File::create(&temporary)?;
        file.write_all(settings.to_file_text().as_bytes())?;
        file.sync_all()?; // the new content is on disk before its name is
        drop(file);
        fs::rename(&temporary, &self.path)?;
        if let Some(dir) = self.path.parent() {
            File::open(dir)?.sync_all()?; // and so is the rename
        }
        Ok(())
    }
    // ANCHOR_END: save
}
