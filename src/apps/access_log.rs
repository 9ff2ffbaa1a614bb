//! An access-log middleware: one line per request, in Apache's formats.
//!
//! Waitress itself logs errors only; its users get access logs from Paste's
//! `TransLogger`, and asking for them is the most common request in its
//! tracker. [`AccessLog`] is that middleware: it wraps an application, and
//! when a response ends it writes one line in one of three formats:
//!
//! | [`LogFormat`] | Apache `LogFormat` | example |
//! |---|---|---|
//! | `Common` | `%h %l %u %t "%r" %>s %b` | `127.0.0.1 - - [06/Nov/1994:08:49:37 +0000] "GET / HTTP/1.1" 200 13` |
//! | `Combined` (the default) | Common + `"%{Referer}i" "%{User-agent}i"` | `… 200 13 "-" "curl/8.5.0"` |
//! | `Timed` | Combined + ` %D` | `… 200 13 "-" "curl/8.5.0" 1234` |
//!
//! `%D` is the time from the call of the application to the end of the
//! response body, in microseconds. `%b` is the number of body bytes the
//! application produced, `-` for none (and always `-` for `HEAD`). `%t` is
//! the time the request reached the application, in UTC. Quotes, backslashes
//! and control or non-ASCII bytes in the request line and headers are
//! escaped as Apache escapes them (`\"`, `\\`, `\xHH`), so a client cannot
//! forge a line.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use waitress::apps::access_log::{AccessLog, LogFormat};
//! use waitress::logging::MemoryLog;
//! use waitress::gateway::testing::TestRequest;
//!
//! let lines = MemoryLog::default();
//! let app = AccessLog::new(waitress::apps::hello, lines.clone())
//!     .format(LogFormat::Common)
//!     .clock(|| UNIX_EPOCH + Duration::from_secs(784_111_777));
//! TestRequest::get("/?q=1").remote("10.0.0.7", "4242").call(&app).unwrap();
//! assert_eq!(
//!     lines.contents(),
//!     "10.0.0.7 - - [06/Nov/1994:08:49:37 +0000] \"GET /?q=1 HTTP/1.1\" 200 13\n"
//! );
//! ```
//!
//! What it cannot see: requests the server answers itself without calling
//! the application (a malformed request's 400, a 413, a 408), as with
//! `TransLogger`.
#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime};

pub use super::log_file::LogFile;

use crate::gateway::{
    AppError, AppResult, Application, Body, BodyKind, Chunk, DEFAULT_BLOCK_SIZE, Environ, Headers,
    StartResponse,
};

/// The shape of each access-log line.
///
/// ```
/// use waitress::apps::access_log::{AccessLog, LogFormat};
/// let app = AccessLog::stderr(waitress::apps::hello).format(LogFormat::Timed);
/// # drop(app);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Apache's Common Log Format: `%h %l %u %t "%r" %>s %b`.
    Common,
    /// Apache's Combined Log Format: Common + `"%{Referer}i" "%{User-agent}i"`.
    /// Every log analyser reads it, so it is the default.
    #[default]
    Combined,
    /// Combined + ` %D`: the duration in microseconds.
    Timed,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    /// `common`, `combined` or `timed`, in any case.
    ///
    /// ```
    /// use waitress::apps::access_log::LogFormat;
    /// assert_eq!("Combined".parse::<LogFormat>(), Ok(LogFormat::Combined));
    /// assert!("json".parse::<LogFormat>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<LogFormat, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "common" => Ok(LogFormat::Common),
            "combined" => Ok(LogFormat::Combined),
            "timed" => Ok(LogFormat::Timed),
            _ => Err("expected one of common, combined, timed".to_string()),
        }
    }
}

/// Where the lines go, shared by every request (and every clone).
type Sink = Arc<Mutex<Box<dyn Write + Send>>>;

// ANCHOR: access_log
/// Wraps an application and logs every response it gives.
///
/// ```no_run
/// use waitress::apps::access_log::AccessLog;
/// use waitress::config::Adjustments;
///
/// let app = AccessLog::stderr(waitress::apps::hello);
/// waitress::server::serve(app, Adjustments::default()).unwrap();
/// ```
pub struct AccessLog<A> {
    app: A,
    format: LogFormat,
    sink: Sink,
    clock: fn() -> SystemTime,
}
// ANCHOR_END: access_log

impl<A> std::fmt::Debug for AccessLog<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessLog")
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl<A: Application> AccessLog<A> {
    /// Logs `app`'s responses to `sink` (a file opened for appending, a
    /// [`MemoryLog`](crate::logging::MemoryLog) in tests) in the Combined
    /// format. Each line is written whole, with one `write_all`.
    ///
    /// ```no_run
    /// use std::fs::OpenOptions;
    /// use waitress::apps::access_log::AccessLog;
    ///
    /// let file = OpenOptions::new().create(true).append(true).open("access.log")?;
    /// let app = AccessLog::new(waitress::apps::hello, file);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new<W: Write + Send + 'static>(app: A, sink: W) -> AccessLog<A> {
        AccessLog {
            app,
            format: LogFormat::default(),
            sink: Arc::new(Mutex::new(Box::new(sink))),
            clock: SystemTime::now,
        }
    }

    /// Logs `app`'s responses to standard error.
    ///
    /// ```
    /// let app = waitress::apps::access_log::AccessLog::stderr(waitress::apps::echo);
    /// # drop(app);
    /// ```
    pub fn stderr(app: A) -> AccessLog<A> {
        AccessLog::new(app, io::stderr())
    }

    /// Uses `format` for every line.
    ///
    /// ```
    /// use waitress::apps::access_log::{AccessLog, LogFormat};
    /// use waitress::logging::MemoryLog;
    /// use waitress::gateway::testing::TestRequest;
    ///
    /// let lines = MemoryLog::default();
    /// let app = AccessLog::new(waitress::apps::hello, lines.clone()).format(LogFormat::Common);
    /// TestRequest::get("/").call(&app).unwrap();
    /// assert!(lines.contents().ends_with("\"GET / HTTP/1.1\" 200 13\n"));
    /// ```
    pub fn format(mut self, format: LogFormat) -> AccessLog<A> {
        self.format = format;
        self
    }

    /// Takes `%t` from `clock` instead of the system clock (for tests). The
    /// duration is always measured with the monotonic clock.
    ///
    /// ```
    /// use std::time::UNIX_EPOCH;
    /// use waitress::apps::access_log::AccessLog;
    /// use waitress::logging::MemoryLog;
    /// use waitress::gateway::testing::TestRequest;
    ///
    /// let lines = MemoryLog::default();
    /// let app = AccessLog::new(waitress::apps::hello, lines.clone()).clock(|| UNIX_EPOCH);
    /// TestRequest::get("/").call(&app).unwrap();
    /// assert!(lines.contents().contains(" [01/Jan/1970:00:00:00 +0000] "));
    /// ```
    pub fn clock(mut self, clock: fn() -> SystemTime) -> AccessLog<A> {
        self.clock = clock;
        self
    }
}

// ANCHOR: call
impl<A: Application> Application for AccessLog<A> {
    fn call(&self, environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        let mut entry = Entry::new(environ, self);
        let mut capturing = CaptureStatus {
            inner: start_response,
            entry: &mut entry,
        };
        // If the application panics, `entry` is dropped while unwinding and
        // still writes its line (with a 500: the server's answer).
        let result = self.app.call(environ, &mut capturing);
        match result {
            Ok(body) => Ok(entry.follow(body)),
            Err(error) => {
                entry.failed();
                Err(error)
            }
        }
    }
}
// ANCHOR_END: call

/// The line being built for one request; dropping it writes the line.
struct Entry {
    format: LogFormat,
    sink: Sink,
    remote_addr: String,
    remote_user: String,
    time: SystemTime,
    request_line: String,
    referer: String,
    user_agent: String,
    head: bool,
    started: Instant,
    status: u16,
    bytes: u64,
}

impl Entry {
    fn new<A>(environ: &Environ, log: &AccessLog<A>) -> Entry {
        let get = |key: &str| environ.get(key).unwrap_or("").to_string();
        let request_uri = environ.get("REQUEST_URI").unwrap_or("");
        Entry {
            format: log.format,
            sink: Arc::clone(&log.sink),
            remote_addr: get("REMOTE_ADDR"),
            remote_user: get("REMOTE_USER"),
            time: (log.clock)(),
            request_line: format!(
                "{} {} {}",
                environ.method(),
                request_uri,
                environ.get("SERVER_PROTOCOL").unwrap_or("")
            ),
            referer: get("HTTP_REFERER"),
            user_agent: get("HTTP_USER_AGENT"),
            head: environ.method() == "HEAD",
            started: Instant::now(),
            status: 0,
            bytes: 0,
        }
    }

    /// The application failed. Before any body byte the server answers 500;
    /// after, the status stands and the connection is closed.
    fn failed(&mut self) {
        if self.bytes == 0 {
            self.status = 500;
        }
    }

    /// Wraps the body so that its bytes are counted and the line is written
    /// when the server drops it: at the end of the response.
    fn follow(self, body: Body) -> Body {
        match body.into_kind() {
            // Nothing to wait for: the line is written now.
            BodyKind::Empty => Body::empty(),
            BodyKind::Bytes(bytes) => {
                // One chunk: the server still knows the length (PEP 3333's
                // `len(iterable) == 1`).
                let inner = match bytes {
                    std::borrow::Cow::Borrowed(bytes) => Body::from(bytes),
                    std::borrow::Cow::Owned(bytes) => Body::from(bytes),
                };
                Body::from_fallible_chunks(CountedChunks {
                    inner: Box::new(inner),
                    entry: self,
                })
            }
            BodyKind::Chunks(chunks) => Body::from_fallible_chunks(CountedChunks {
                inner: chunks,
                entry: self,
            }),
            // A file stays a file, so the server still streams it from the
            // I/O thread; the line is written when that stream is dropped.
            BodyKind::File(file) => match file.into_reader() {
                (reader, Some(length)) => Body::file(
                    CountedReader {
                        inner: reader,
                        length,
                        consumed: 0,
                        position: 0,
                        entry: self,
                    },
                    DEFAULT_BLOCK_SIZE,
                ),
                (reader, None) => Body::reader(
                    CountedReader {
                        inner: reader,
                        length: 0,
                        consumed: 0,
                        position: 0,
                        entry: self,
                    },
                    DEFAULT_BLOCK_SIZE,
                ),
            },
        }
    }

    // ANCHOR: line
    /// The line, without its newline.
    fn line(&self, now: Instant) -> String {
        let dash = |value: &str| {
            if value.is_empty() {
                "-".to_string()
            } else {
                escape(value)
            }
        };
        // Status 0: the application never started a response; the server
        // answered 500.
        let status = if self.status == 0 { 500 } else { self.status };
        let bytes = if self.bytes == 0 || self.head {
            "-".to_string()
        } else {
            self.bytes.to_string()
        };
        let mut line = format!(
            "{} - {} [{}] \"{}\" {} {}",
            dash(&self.remote_addr),
            dash(&self.remote_user),
            format_clf_time(self.time),
            escape(&self.request_line),
            status,
            bytes
        );
        if matches!(self.format, LogFormat::Combined | LogFormat::Timed) {
            let _ = write!(
                line,
                " \"{}\" \"{}\"",
                dash(&self.referer),
                dash(&self.user_agent)
            );
        }
        if self.format == LogFormat::Timed {
            let micros = now.saturating_duration_since(self.started).as_micros();
            let _ = write!(line, " {micros}");
        }
        line
    }
    // ANCHOR_END: line
}

impl Drop for Entry {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.failed();
        }
        let mut line = self.line(Instant::now());
        line.push('\n');
        let mut sink = self.sink.lock().unwrap_or_else(PoisonError::into_inner);
        // A full disk must not take a response down with it.
        let _ = sink.write_all(line.as_bytes());
        let _ = sink.flush();
    }
}

/// The `start_response` the wrapped application sees: it passes everything
/// through and notes the status and the bytes of `write` calls.
struct CaptureStatus<'a> {
    inner: &'a mut dyn StartResponse,
    entry: &'a mut Entry,
}

impl StartResponse for CaptureStatus<'_> {
    fn start_response(
        &mut self,
        status: &str,
        headers: Headers,
        exc_info: Option<AppError>,
    ) -> Result<(), AppError> {
        let code = status
            .get(..3)
            .and_then(|digits| digits.parse::<u16>().ok());
        self.inner.start_response(status, headers, exc_info)?;
        if let Some(code) = code {
            self.entry.status = code;
        }
        Ok(())
    }

    fn write(&mut self, data: &[u8]) -> Result<(), AppError> {
        self.inner.write(data)?;
        self.entry.bytes += data.len() as u64;
        Ok(())
    }
}

/// A body of chunks, counted.
struct CountedChunks {
    inner: Box<dyn Iterator<Item = Chunk> + Send>,
    entry: Entry,
}

impl Iterator for CountedChunks {
    type Item = Chunk;

    fn next(&mut self) -> Option<Chunk> {
        let next = self.inner.next();
        match &next {
            Some(Ok(chunk)) => self.entry.bytes += chunk.len() as u64,
            Some(Err(_)) => self.entry.failed(),
            None => {}
        }
        next
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

/// A file body, counted. `Body::file` learns a body's length by seeking to
/// its end and back; the wrapped reader cannot seek, so the seeks are only
/// recorded, and reading is allowed only where the reader really is.
struct CountedReader {
    inner: Box<dyn Read + Send>,
    length: u64,
    consumed: u64,
    position: u64,
    entry: Entry,
}

impl Read for CountedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.position != self.consumed {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "a logged file body cannot be read after seeking",
            ));
        }
        let read = self.inner.read(buf)?;
        self.consumed += read as u64;
        self.position = self.consumed;
        self.entry.bytes += read as u64;
        Ok(read)
    }
}

impl Seek for CountedReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(offset) => Some(offset),
            SeekFrom::End(delta) => self.length.checked_add_signed(delta),
            SeekFrom::Current(delta) => self.position.checked_add_signed(delta),
        };
        self.position = target
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek out of range"))?;
        Ok(self.position)
    }
}

/// Escapes `"`, `\` and every byte outside printable ASCII, as Apache does.
/// Environ strings hold one character per byte (latin-1), so every character
/// here is below 256.
fn escape(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '"' => escaped.push_str("\\\""),
            '\\' => escaped.push_str("\\\\"),
            ' '..='~' => escaped.push(c),
            _ => {
                let _ = write!(escaped, "\\x{:02x}", u32::from(c));
            }
        }
    }
    escaped
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `%t` without its brackets: `06/Nov/1994:08:49:37 +0000`, always UTC.
fn format_clf_time(time: SystemTime) -> String {
    let secs = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let (year, month, day) = crate::http::date::civil_from_days((secs / 86_400) as i64);
    let second_of_day = secs % 86_400;
    let month_name = usize::try_from(month - 1)
        .ok()
        .and_then(|index| MONTHS.get(index))
        .copied()
        .unwrap_or("Jan");
    format!(
        "{:02}/{}/{:04}:{:02}:{:02}:{:02} +0000",
        day,
        month_name,
        year,
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clf_time_is_apache_shaped() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(971_186_136);
        assert_eq!(format_clf_time(t), "10/Oct/2000:13:55:36 +0000");
    }

    #[test]
    fn escaping_keeps_one_line_per_request() {
        assert_eq!(
            escape("GET /\"x\\\n\u{e9} HTTP/1.1"),
            "GET /\\\"x\\\\\\x0a\\xe9 HTTP/1.1"
        );
    }
}
