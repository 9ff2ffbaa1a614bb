//! `wsgi.input`: the request body as the application reads it.
//!
//! The body receivers and the spooling buffers produce an [`Input`]; the
//! gateway hands it to the application. It is defined here, with the
//! protocol, so that the HTTP layer does not import the gateway above it;
//! `waitress::gateway::Input` re-exports it.
#![forbid(unsafe_code)]

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read, Seek, SeekFrom};

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
