//! A small logger: levels, one line per event, a timestamp, any `Write` sink.
//!
//! Waitress logs through Python's `logging` module to the loggers `waitress`
//! and `waitress.queue`. Here a [`Logger`] is a cheap handle (an `Arc`) that
//! the server, the dispatcher and every environ's `wsgi.errors` share. It is a
//! value rather than a global so that tests can capture what one server logs
//! without seeing what another, running in parallel, logs.
//!
//! ```
//! use waitress::logging::{Level, Logger};
//!
//! let (logger, captured) = Logger::memory(Level::Info);
//! logger.warn("waitress.queue", format_args!("Task queue depth is {}", 3));
//! logger.debug("waitress", format_args!("not shown: below the level"));
//! assert!(captured.contents().ends_with("WARNING [waitress.queue] Task queue depth is 3\n"));
//! assert_eq!(captured.contents().lines().count(), 1);
//! ```
#![forbid(unsafe_code)]

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

/// How important an event is. Lower is more important.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Something failed: an application error, a socket error.
    Error = 1,
    /// Something needs attention: the queue is backing up, a limit was reached.
    Warn = 2,
    /// Normal operation: where the server listens, connections released.
    Info = 3,
    /// Detail for developers.
    Debug = 4,
}

impl Level {
    /// The name printed in each line, as Python's `logging` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Level::Error => "ERROR",
            Level::Warn => "WARNING",
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
        }
    }

    fn from_u8(value: u8) -> Level {
        match value {
            1 => Level::Error,
            2 => Level::Warn,
            3 => Level::Info,
            _ => Level::Debug,
        }
    }
}

impl std::str::FromStr for Level {
    type Err = String;

    /// Parses `error`, `warn` (or `warning`), `info` and `debug`, in any case.
    ///
    /// ```
    /// use waitress::logging::Level;
    /// assert_eq!("WARNING".parse::<Level>(), Ok(Level::Warn));
    /// assert!("loud".parse::<Level>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Level, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "error" => Ok(Level::Error),
            "warn" | "warning" => Ok(Level::Warn),
            "info" => Ok(Level::Info),
            "debug" => Ok(Level::Debug),
            _ => Err("expected one of error, warn, info, debug".to_string()),
        }
    }
}

struct Inner {
    max_level: AtomicU8,
    sink: Mutex<Box<dyn Write + Send>>,
}

/// A shared handle to a log sink. Cloning it is cheap; all clones write to the
/// same sink, one whole line at a time.
///
/// ```
/// use waitress::logging::{Level, Logger};
/// let logger = Logger::stderr(Level::Info);
/// logger.info("waitress", format_args!("Serving on http://127.0.0.1:8080"));
/// ```
#[derive(Clone)]
pub struct Logger {
    inner: Arc<Inner>,
}

impl fmt::Debug for Logger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Logger")
            .field("max_level", &self.max_level())
            .finish_non_exhaustive()
    }
}

impl Default for Logger {
    /// Standard error at [`Level::Info`], as `waitress-serve` starts.
    fn default() -> Logger {
        Logger::stderr(Level::Info)
    }
}

impl Logger {
    /// A logger that writes to standard error.
    pub fn stderr(max_level: Level) -> Logger {
        Logger::to_writer(io::stderr(), max_level)
    }

    /// A logger that writes to any sink, e.g. an opened file.
    ///
    /// ```
    /// use waitress::logging::{Level, Logger};
    /// let logger = Logger::to_writer(std::io::sink(), Level::Error);
    /// assert!(!logger.enabled(Level::Warn));
    /// ```
    pub fn to_writer<W: Write + Send + 'static>(sink: W, max_level: Level) -> Logger {
        Logger {
            inner: Arc::new(Inner {
                max_level: AtomicU8::new(max_level as u8),
                sink: Mutex::new(Box::new(sink)),
            }),
        }
    }

    /// A logger that keeps every line in memory, for tests.
    ///
    /// ```
    /// use waitress::logging::{Level, Logger};
    /// let (logger, captured) = Logger::memory(Level::Debug);
    /// logger.error("waitress", format_args!("boom"));
    /// assert!(captured.contents().contains("ERROR [waitress] boom"));
    /// ```
    pub fn memory(max_level: Level) -> (Logger, MemoryLog) {
        let log = MemoryLog::default();
        (Logger::to_writer(log.clone(), max_level), log)
    }

    /// The most detailed level that is written.
    pub fn max_level(&self) -> Level {
        Level::from_u8(self.inner.max_level.load(Ordering::Relaxed))
    }

    /// Changes the most detailed level that is written, for every clone.
    pub fn set_max_level(&self, level: Level) {
        self.inner.max_level.store(level as u8, Ordering::Relaxed);
    }

    /// Whether an event at `level` would be written.
    pub fn enabled(&self, level: Level) -> bool {
        level <= self.max_level()
    }

    /// Writes one line: `2026-11-25 01:37:16.123 LEVEL [target] message`.
    ///
    /// A message that spans several lines keeps its line breaks (tracebacks
    /// do); a failing sink is ignored, because logging must never take the
    /// server down.
    pub fn log(&self, level: Level, target: &str, message: fmt::Arguments<'_>) {
        if !self.enabled(level) {
            return;
        }
        let line = format!(
            "{} {} [{}] {}\n",
            format_timestamp(SystemTime::now()),
            level.name(),
            target,
            message
        );
        let mut sink = self
            .inner
            .sink
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let _ = sink.write_all(line.as_bytes());
        let _ = sink.flush();
    }

    /// Logs at [`Level::Error`].
    pub fn error(&self, target: &str, message: fmt::Arguments<'_>) {
        self.log(Level::Error, target, message);
    }

    /// Logs at [`Level::Warn`].
    pub fn warn(&self, target: &str, message: fmt::Arguments<'_>) {
        self.log(Level::Warn, target, message);
    }

    /// Logs at [`Level::Info`].
    pub fn info(&self, target: &str, message: fmt::Arguments<'_>) {
        self.log(Level::Info, target, message);
    }

    /// Logs at [`Level::Debug`].
    pub fn debug(&self, target: &str, message: fmt::Arguments<'_>) {
        self.log(Level::Debug, target, message);
    }
}

/// The lines a [`Logger::memory`] logger has written.
#[derive(Clone, Default, Debug)]
pub struct MemoryLog {
    bytes: Arc<Mutex<Vec<u8>>>,
}

impl MemoryLog {
    /// Everything written so far.
    pub fn contents(&self) -> String {
        let bytes = self.bytes.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for MemoryLog {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut bytes = self.bytes.lock().unwrap_or_else(PoisonError::into_inner);
        bytes.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `YYYY-MM-DD HH:MM:SS.mmm` in UTC (Python's `logging` default shape).
fn format_timestamp(time: SystemTime) -> String {
    let since_epoch = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since_epoch.as_secs();
    let (year, month, day) = crate::http::date::civil_from_days((secs / 86_400) as i64);
    let second_of_day = secs % 86_400;
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}",
        year,
        month,
        day,
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
        since_epoch.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_below_the_level_are_not_written() {
        let (logger, log) = Logger::memory(Level::Warn);
        logger.info("waitress", format_args!("hidden"));
        logger.warn("waitress", format_args!("shown"));
        assert!(!log.contents().contains("hidden"));
        assert!(log.contents().contains("WARNING [waitress] shown"));
    }

    #[test]
    fn changing_the_level_affects_every_clone() {
        let (logger, log) = Logger::memory(Level::Error);
        let clone = logger.clone();
        logger.set_max_level(Level::Debug);
        clone.debug("waitress", format_args!("now visible"));
        assert!(log.contents().contains("DEBUG [waitress] now visible"));
    }

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(784_111_777_042);
        assert_eq!(format_timestamp(t), "1994-11-06 08:49:37.042");
    }

    #[test]
    fn level_names_parse_case_insensitively() {
        assert_eq!("Debug".parse::<Level>(), Ok(Level::Debug));
        assert_eq!("error".parse::<Level>(), Ok(Level::Error));
        assert!("".parse::<Level>().is_err());
    }
}
