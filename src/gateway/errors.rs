//! `wsgi.errors`: [`Errors`], a `Write` that turns an application's error
//! output into lines of the server's log.
//!
//! It is separate because it is the gateway's one tie to logging: the rest
//! of the gateway does not know where the log goes.
#![forbid(unsafe_code)]

use std::io::{self, Write};

use crate::logging::{Level, Logger};

/// `wsgi.errors`: a `Write` whose lines go to the server's log at the error
/// level, under the target `wsgi.errors`. A partial line is written when the
/// handle is flushed or dropped.
///
/// ```
/// use std::io::Write;
/// use waitress::logging::{Level, Logger};
/// use waitress::gateway::Errors;
///
/// let (logger, log) = Logger::memory(Level::Info);
/// let mut errors = Errors::new(logger);
/// writeln!(errors, "cache miss for {}", "/a").unwrap();
/// assert!(log.contents().contains("ERROR [wsgi.errors] cache miss for /a"));
/// ```
#[derive(Debug)]
pub struct Errors {
    logger: Logger,
    pending: Vec<u8>,
}

impl Errors {
    /// Errors that go to `logger`.
    pub fn new(logger: Logger) -> Errors {
        Errors {
            logger,
            pending: Vec::new(),
        }
    }

    fn emit(&mut self, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        self.logger.log(
            Level::Error,
            "wsgi.errors",
            format_args!("{}", text.trim_end_matches('\r')),
        );
    }
}

impl Write for Errors {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(data);
        while let Some(newline) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=newline).collect();
            self.emit(&line[..line.len() - 1]);
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            self.emit(&line);
        }
        Ok(())
    }
}

impl Drop for Errors {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_emit_one_log_line_per_line_and_flush_the_rest_on_drop() {
        let (logger, log) = Logger::memory(Level::Debug);
        let mut errors = Errors::new(logger);
        errors.write_all(b"first\nsec").unwrap();
        errors.write_all(b"ond\r\nthird").unwrap();
        assert_eq!(log.contents().lines().count(), 2);
        drop(errors);
        let contents = log.contents();
        let lines: Vec<&str> = contents.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].ends_with("[wsgi.errors] first"));
        assert!(lines[1].ends_with("[wsgi.errors] second"));
        assert!(lines[2].ends_with("[wsgi.errors] third"));
    }
}
