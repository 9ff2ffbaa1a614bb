//! The gateway interface: PEP 3333 (WSGI) in Rust.
//!
//! A WSGI application is a callable `app(environ, start_response)` that
//! returns an iterable of byte strings. This module keeps that shape one to
//! one, so that everything written about WSGI (and every middleware pattern)
//! carries over:
//!
//! | PEP 3333                               | here                                              |
//! |----------------------------------------|---------------------------------------------------|
//! | `app(environ, start_response)`         | [`Application::call`], or any `fn`/closure        |
//! | `environ` (a dict)                     | [`Environ`]: string keys plus typed `wsgi.*` values |
//! | `start_response(status, headers, exc_info=None)` | [`StartResponse::start_response`]       |
//! | the `write(data)` it returns           | [`StartResponse::write`]                          |
//! | the returned iterable, `close()`       | [`Body`], an `Iterator` of chunks; dropping it is `close()` |
//! | `wsgi.input`                           | [`Environ::input`]: an [`Input`] (`Read` + `BufRead`) |
//! | `wsgi.errors`                          | [`Environ::errors`]: an [`Errors`] (`Write`)      |
//! | `wsgi.file_wrapper(file, block_size)`  | [`Environ::file_wrapper`] / [`Body::file`]        |
//! | an exception                           | an `Err(AppError)`, or a panic                    |
//!
//! One concern per file: `app.rs` (the [`Application`] and [`StartResponse`]
//! traits and the types they exchange), `start_response.rs` (the rules,
//! [`ResponseStart`]), `body.rs` ([`Body`]), `environ.rs` ([`Environ`],
//! [`RequestInfo`]), `errors.rs` (`wsgi.errors`) and `testing.rs` (the test
//! client). This file keeps `wsgi.input` and the header-field helpers the
//! HTTP parser shares (the table of common field names, `is_token_byte`,
//! `parse_decimal`).
//!
//! The smallest application:
//!
//! ```
//! use waitress::gateway::{headers, AppResult, Body, Environ, StartResponse};
//!
//! fn hello(_environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
//!     start_response.start_response("200 OK", headers(&[("Content-Type", "text/plain")]), None)?;
//!     Ok(Body::from("Hello, world!\n"))
//! }
//!
//! let response = waitress::gateway::testing::TestRequest::get("/").call(&hello).unwrap();
//! assert_eq!(response.status, "200 OK");
//! assert_eq!(response.text(), "Hello, world!\n");
//! ```
#![forbid(unsafe_code)]

mod app;
mod body;
mod environ;
mod errors;
mod start_response;
pub mod testing;

pub use app::{AppError, AppResult, Application, Headers, StartResponse, headers};
pub(crate) use body::BodyKind;
pub use body::{Body, Chunk, DEFAULT_BLOCK_SIZE};
pub use environ::{ClientDisconnected, Environ, RequestInfo};
pub use errors::Errors;
pub use start_response::{ResponseError, ResponseStart};

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read, Seek, SeekFrom};

/// tchar (RFC 9110 §5.6.2).
pub(crate) fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// A character a field value may carry: HTAB, SP, VCHAR, or obs-text (which
/// latin-1 maps to U+0080..=U+00FF).
fn is_field_char(c: char) -> bool {
    matches!(c, '\t' | ' '..='~' | '\u{80}'..='\u{ff}')
}

/// A non-empty run of ASCII digits that fits in a u64 (never `str::parse`,
/// which accepts a leading `+`).
pub(crate) fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.bytes().try_fold(0u64, |total, byte| {
        if !byte.is_ascii_digit() {
            return None;
        }
        total.checked_mul(10)?.checked_add(u64::from(byte - b'0'))
    })
}

// ANCHOR: input
/// `wsgi.input`: the request body, fully received before the application
/// runs, in memory or (above `inbuf_overflow`) in an anonymous temporary
/// file. Reading past the end returns 0 bytes (`wsgi.input_terminated`).
///
/// ```
/// use std::io::{BufRead, Read};
/// use waitress::gateway::Input;
///
/// let mut input = Input::from_bytes(b"line one\nline two".to_vec());
/// let mut first = String::new();
/// input.read_line(&mut first).unwrap();
/// assert_eq!(first, "line one\n");
/// let mut rest = String::new();
/// input.read_to_string(&mut rest).unwrap();
/// assert_eq!(rest, "line two");
/// ```
pub struct Input {
    kind: InputKind,
    len: u64,
}
// ANCHOR_END: input

enum InputKind {
    Memory(Cursor<Vec<u8>>),
    File(BufReader<File>),
}

impl Input {
    /// An empty body.
    pub fn empty() -> Input {
        Input::from_bytes(Vec::new())
    }

    /// A body held in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Input {
        Input {
            len: bytes.len() as u64,
            kind: InputKind::Memory(Cursor::new(bytes)),
        }
    }

    /// A body spooled to a file; reading starts at its beginning.
    pub fn from_file(mut file: File) -> io::Result<Input> {
        let len = file.seek(SeekFrom::End(0))?;
        file.rewind()?;
        Ok(Input {
            len,
            kind: InputKind::File(BufReader::new(file)),
        })
    }

    /// The body's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the body was spooled to a temporary file.
    pub fn is_file(&self) -> bool {
        matches!(self.kind, InputKind::File(_))
    }
}

impl Default for Input {
    fn default() -> Input {
        Input::empty()
    }
}

impl fmt::Debug for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Input")
            .field("len", &self.len)
            .field("file", &self.is_file())
            .finish()
    }
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.kind {
            InputKind::Memory(cursor) => cursor.read(buf),
            InputKind::File(file) => file.read(buf),
        }
    }
}

impl BufRead for Input {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match &mut self.kind {
            InputKind::Memory(cursor) => cursor.fill_buf(),
            InputKind::File(file) => file.fill_buf(),
        }
    }

    fn consume(&mut self, amount: usize) {
        match &mut self.kind {
            InputKind::Memory(cursor) => cursor.consume(amount),
            InputKind::File(file) => file.consume(amount),
        }
    }
}

impl Seek for Input {
    fn seek(&mut self, position: SeekFrom) -> io::Result<u64> {
        match &mut self.kind {
            InputKind::Memory(cursor) => cursor.seek(position),
            InputKind::File(file) => file.seek(position),
        }
    }
}

/// Common header names: (as sent in lower case, CGI name, environ key).
/// Looking them up saves two allocations per field for most requests.
const KNOWN_FIELDS: [(&str, &str, &str); 31] = [
    ("accept", "ACCEPT", "HTTP_ACCEPT"),
    ("accept-charset", "ACCEPT_CHARSET", "HTTP_ACCEPT_CHARSET"),
    ("accept-encoding", "ACCEPT_ENCODING", "HTTP_ACCEPT_ENCODING"),
    ("accept-language", "ACCEPT_LANGUAGE", "HTTP_ACCEPT_LANGUAGE"),
    ("authorization", "AUTHORIZATION", "HTTP_AUTHORIZATION"),
    ("cache-control", "CACHE_CONTROL", "HTTP_CACHE_CONTROL"),
    ("connection", "CONNECTION", "HTTP_CONNECTION"),
    ("content-length", "CONTENT_LENGTH", "CONTENT_LENGTH"),
    ("content-type", "CONTENT_TYPE", "CONTENT_TYPE"),
    ("cookie", "COOKIE", "HTTP_COOKIE"),
    ("dnt", "DNT", "HTTP_DNT"),
    ("expect", "EXPECT", "HTTP_EXPECT"),
    ("forwarded", "FORWARDED", "HTTP_FORWARDED"),
    ("host", "HOST", "HTTP_HOST"),
    (
        "if-modified-since",
        "IF_MODIFIED_SINCE",
        "HTTP_IF_MODIFIED_SINCE",
    ),
    ("if-none-match", "IF_NONE_MATCH", "HTTP_IF_NONE_MATCH"),
    ("origin", "ORIGIN", "HTTP_ORIGIN"),
    ("pragma", "PRAGMA", "HTTP_PRAGMA"),
    ("range", "RANGE", "HTTP_RANGE"),
    ("referer", "REFERER", "HTTP_REFERER"),
    ("sec-fetch-dest", "SEC_FETCH_DEST", "HTTP_SEC_FETCH_DEST"),
    ("sec-fetch-mode", "SEC_FETCH_MODE", "HTTP_SEC_FETCH_MODE"),
    ("sec-fetch-site", "SEC_FETCH_SITE", "HTTP_SEC_FETCH_SITE"),
    ("sec-fetch-user", "SEC_FETCH_USER", "HTTP_SEC_FETCH_USER"),
    (
        "transfer-encoding",
        "TRANSFER_ENCODING",
        "HTTP_TRANSFER_ENCODING",
    ),
    (
        "upgrade-insecure-requests",
        "UPGRADE_INSECURE_REQUESTS",
        "HTTP_UPGRADE_INSECURE_REQUESTS",
    ),
    ("user-agent", "USER_AGENT", "HTTP_USER_AGENT"),
    ("x-forwarded-for", "X_FORWARDED_FOR", "HTTP_X_FORWARDED_FOR"),
    (
        "x-forwarded-host",
        "X_FORWARDED_HOST",
        "HTTP_X_FORWARDED_HOST",
    ),
    (
        "x-forwarded-proto",
        "X_FORWARDED_PROTO",
        "HTTP_X_FORWARDED_PROTO",
    ),
    (
        "x-requested-with",
        "X_REQUESTED_WITH",
        "HTTP_X_REQUESTED_WITH",
    ),
];

/// How many names the table of common header fields holds.
pub(crate) const KNOWN_FIELD_COUNT: usize = KNOWN_FIELDS.len();

// ANCHOR: known_field
/// The index of a common header field as sent (any case) in the table of
/// common names, if it is one.
///
/// Every field line of every request asks, so this is a hash table built at
/// compile time, not a search: a name goes to its slot, and only the names
/// found from there to the next empty slot (usually one, often none) are
/// compared with it.
pub(crate) fn known_field(sent: &[u8]) -> Option<u8> {
    let [.., second_last, last] = *sent else {
        return None; // every common name is longer
    };
    let mut slot = known_slot(sent.len(), second_last, last);
    loop {
        let index = KNOWN_SLOTS[slot];
        let (lower, _, _) = KNOWN_FIELDS.get(usize::from(index))?; // empty: not common
        if lower.as_bytes().eq_ignore_ascii_case(sent) {
            return Some(index);
        }
        slot = (slot + 1) % KNOWN_SLOTS.len();
    }
}

/// Where a name's search starts in `KNOWN_SLOTS`: from its length and its
/// last two bytes, lower-cased (`| 0x20` leaves `-` and digits alone).
const fn known_slot(len: usize, second_last: u8, last: u8) -> usize {
    let (second_last, last) = ((second_last | 0x20) as usize, (last | 0x20) as usize);
    (len * 4 + last * 2 + second_last) % KNOWN_SLOTS.len()
}

/// Indices in `KNOWN_FIELDS`, each at its name's slot or the next free one
/// after it (linear probing); `u8::MAX` in the free slots.
static KNOWN_SLOTS: [u8; 128] = {
    assert!(KNOWN_FIELDS.len() < 64, "keep the table at most half full");
    let mut slots = [u8::MAX; 128];
    let mut index = 0;
    while index < KNOWN_FIELDS.len() {
        let name = KNOWN_FIELDS[index].0.as_bytes();
        let len = name.len();
        let mut slot = known_slot(len, name[len - 2], name[len - 1]);
        while slots[slot] != u8::MAX {
            slot = (slot + 1) % slots.len();
        }
        slots[slot] = index as u8;
        index += 1;
    }
    slots
};
// ANCHOR_END: known_field

/// The CGI name of the common field at `index` (`HOST`, `CONTENT_TYPE`).
pub(crate) fn known_field_name(index: u8) -> &'static str {
    KNOWN_FIELDS[usize::from(index)].1
}

/// The index of a common field by its CGI name, for constants: a name that
/// is not in the table fails to compile.
pub(crate) const fn known_field_index(cgi: &str) -> u8 {
    let mut index = 0;
    while index < KNOWN_FIELDS.len() {
        if const_eq(KNOWN_FIELDS[index].1.as_bytes(), cgi.as_bytes()) {
            return index as u8;
        }
        index += 1;
    }
    panic!("not a common header field name");
}

/// `a == b` for byte strings, usable in a constant.
const fn const_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The environ key for a CGI name (`HOST` → `HTTP_HOST`, `CONTENT_TYPE` stays).
fn environ_key(cgi: &str) -> Option<&'static str> {
    KNOWN_FIELDS
        .iter()
        .find(|(_, name, _)| *name == cgi)
        .map(|(_, _, key)| *key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn known_field_finds_every_common_name_in_any_case_and_nothing_else() {
        for (index, (lower, cgi, _)) in KNOWN_FIELDS.iter().enumerate() {
            let index = u8::try_from(index).unwrap();
            assert_eq!(known_field(lower.as_bytes()), Some(index));
            assert_eq!(
                known_field(lower.to_ascii_uppercase().as_bytes()),
                Some(index)
            );
            assert_eq!(known_field_name(index), *cgi);
            assert_eq!(known_field_index(cgi), index);
            // One byte more, less or different is another name.
            assert_eq!(known_field(format!("{lower}s").as_bytes()), None);
            assert_eq!(known_field(&lower.as_bytes()[1..]), None);
            if lower.contains('-') {
                assert_eq!(known_field(lower.replace('-', "_").as_bytes()), None);
            }
        }
        for other in ["", "a", "x-", "hosts", "x-forwarded-port", "content_type"] {
            assert_eq!(known_field(other.as_bytes()), None, "{other}");
        }
    }

    #[test]
    fn decimal_parsing_refuses_signs_and_overflow() {
        assert_eq!(parse_decimal("0"), Some(0));
        assert_eq!(parse_decimal("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_decimal("18446744073709551616"), None);
        assert_eq!(parse_decimal("+3"), None);
        assert_eq!(parse_decimal(""), None);
    }

    #[test]
    fn input_from_a_file_reads_from_the_start() {
        let path = std::env::temp_dir().join(format!("waitress-input-test-{}", std::process::id()));
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        file.write_all(b"spooled body").unwrap();
        let mut input = Input::from_file(file).unwrap();
        assert!(input.is_file());
        assert_eq!(input.len(), 12);
        let mut text = String::new();
        input.read_to_string(&mut text).unwrap();
        assert_eq!(text, "spooled body");
        assert_eq!(
            input.read(&mut [0; 8]).unwrap(),
            0,
            "input_terminated: EOF at the end"
        );
    }
}
