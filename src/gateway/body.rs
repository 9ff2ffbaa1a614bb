//! The response body: [`Body`], PEP 3333's iterable of byte strings, with
//! the shapes the server frames differently (one buffer, a file, any
//! iterator), and the file reader behind `wsgi.file_wrapper`.
//!
//! It is separate because the body is what the task streams after the
//! application has returned: its shape, not the application, decides
//! `Content-Length` or chunked framing.
#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Read, Seek, SeekFrom};

/// What an application returns when it fails: any error, boxed. `?` converts
/// every `std::error::Error` into it. The server answers it with a 500 when no
/// headers were sent yet, and closes the connection otherwise.
pub type AppError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// One piece of a response body, or the error that cut it short.
pub type Chunk = Result<Vec<u8>, AppError>;

/// The block size `wsgi.file_wrapper` uses when none is given (Waitress's).
pub const DEFAULT_BLOCK_SIZE: usize = 32 * 1024;

// ANCHOR: body
/// A response body: PEP 3333's iterable of byte strings.
///
/// It is an `Iterator` of [`Chunk`]s, and dropping it is PEP 3333's `close()`
/// (an iterator that must release something implements `Drop`). Its shapes
/// matter to the server, which can frame a body whose size it knows with
/// `Content-Length` and keep the connection open:
///
/// * one buffer ([`Body::from`] a `Vec<u8>`, `String` or `&'static str`):
///   its length is known and it is sent as it is;
/// * a file ([`Body::file`], `wsgi.file_wrapper`): its length is known and
///   it is streamed from the file, not loaded whole;
/// * any other iterator ([`Body::from_chunks`]): its length is unknown,
///   unless it yields exactly one chunk (`size_hint` of exactly 1, PEP 3333's
///   `len(iterable) == 1`).
///
/// ```
/// use waitress::gateway::Body;
///
/// assert_eq!(Body::from("abc").content_length(), Some(3));
/// let chunks = Body::from_chunks(vec![b"ab".to_vec(), b"c".to_vec()]);
/// assert_eq!(chunks.content_length(), None);
/// let all: Vec<u8> = chunks.map(Result::unwrap).flatten().collect();
/// assert_eq!(all, b"abc");
/// ```
pub struct Body {
    kind: BodyKind,
}

pub(crate) enum BodyKind {
    Empty,
    Bytes(Cow<'static, [u8]>),
    Chunks(Box<dyn Iterator<Item = Chunk> + Send>),
    File(FileBody),
}
// ANCHOR_END: body

impl Body {
    /// A body with no bytes.
    pub fn empty() -> Body {
        Body {
            kind: BodyKind::Empty,
        }
    }

    /// A body of infallible chunks, e.g. a `Vec<Vec<u8>>` or a generator-like
    /// iterator. Its length is unknown unless it has exactly one chunk.
    pub fn from_chunks<I>(chunks: I) -> Body
    where
        I: IntoIterator<Item = Vec<u8>>,
        I::IntoIter: Send + 'static,
    {
        Body {
            kind: BodyKind::Chunks(Box::new(chunks.into_iter().map(Ok))),
        }
    }

    /// A body whose chunks may fail, like a Python generator that raises
    /// part-way: the server then closes the connection, so the client sees
    /// the response was cut short.
    pub fn from_fallible_chunks<I>(chunks: I) -> Body
    where
        I: IntoIterator<Item = Chunk>,
        I::IntoIter: Send + 'static,
    {
        Body {
            kind: BodyKind::Chunks(Box::new(chunks.into_iter())),
        }
    }

    /// `wsgi.file_wrapper` for a seekable file: the body is what remains from
    /// the file's current position, its length is known, and the server
    /// streams it in `block_size` pieces. Seek first to send a part (a Range).
    ///
    /// ```
    /// use std::io::Cursor;
    /// let body = waitress::gateway::Body::file(Cursor::new(vec![7u8; 100]), 16);
    /// assert_eq!(body.content_length(), Some(100));
    /// assert_eq!(body.count(), 7); // 6 blocks of 16 and one of 4
    /// ```
    pub fn file<F>(mut file: F, block_size: usize) -> Body
    where
        F: Read + Seek + Send + 'static,
    {
        let remaining = (|| {
            let position = file.stream_position()?;
            let end = file.seek(SeekFrom::End(0))?;
            file.seek(SeekFrom::Start(position))?;
            Ok::<u64, io::Error>(end.saturating_sub(position))
        })()
        .ok();
        Body {
            kind: BodyKind::File(FileBody {
                reader: Box::new(file),
                remaining,
                block_size: block_size.max(1),
            }),
        }
    }

    /// `wsgi.file_wrapper` for something that can only be read (a pipe, a
    /// decoder): streamed in `block_size` pieces, length unknown.
    pub fn reader<R>(reader: R, block_size: usize) -> Body
    where
        R: Read + Send + 'static,
    {
        Body {
            kind: BodyKind::File(FileBody {
                reader: Box::new(reader),
                remaining: None,
                block_size: block_size.max(1),
            }),
        }
    }

    /// The body's length, when known without reading it.
    pub fn content_length(&self) -> Option<u64> {
        match &self.kind {
            BodyKind::Empty => Some(0),
            BodyKind::Bytes(bytes) => Some(bytes.len() as u64),
            BodyKind::Chunks(_) => None,
            BodyKind::File(file) => file.remaining,
        }
    }

    /// The body's shape, for the server's fast paths.
    pub(crate) fn into_kind(self) -> BodyKind {
        self.kind
    }
}

impl Default for Body {
    fn default() -> Body {
        Body::empty()
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shape = match &self.kind {
            BodyKind::Empty => "empty",
            BodyKind::Bytes(_) => "bytes",
            BodyKind::Chunks(_) => "chunks",
            BodyKind::File(_) => "file",
        };
        f.debug_struct("Body")
            .field("shape", &shape)
            .field("content_length", &self.content_length())
            .finish()
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Body {
        Body {
            kind: BodyKind::Bytes(Cow::Owned(bytes)),
        }
    }
}

impl From<String> for Body {
    fn from(text: String) -> Body {
        Body::from(text.into_bytes())
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Body {
        Body::from(text.as_bytes())
    }
}

impl From<&'static [u8]> for Body {
    fn from(bytes: &'static [u8]) -> Body {
        Body {
            kind: BodyKind::Bytes(Cow::Borrowed(bytes)),
        }
    }
}

impl Iterator for Body {
    type Item = Chunk;

    fn next(&mut self) -> Option<Chunk> {
        match &mut self.kind {
            BodyKind::Empty => None,
            BodyKind::Bytes(_) => match std::mem::replace(&mut self.kind, BodyKind::Empty) {
                BodyKind::Bytes(bytes) => Some(Ok(bytes.into_owned())),
                _ => None,
            },
            BodyKind::Chunks(chunks) => chunks.next(),
            BodyKind::File(file) => file
                .next_block()
                .transpose()
                .map(|r| r.map_err(AppError::from)),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.kind {
            BodyKind::Empty => (0, Some(0)),
            BodyKind::Bytes(_) => (1, Some(1)),
            BodyKind::Chunks(chunks) => chunks.size_hint(),
            BodyKind::File(_) => (0, None),
        }
    }
}

/// The body `wsgi.file_wrapper` makes: a reader, how much of it to send (when
/// known), and the block size to read it in.
pub(crate) struct FileBody {
    reader: Box<dyn Read + Send>,
    remaining: Option<u64>,
    block_size: usize,
}

impl FileBody {
    /// The reader and how many bytes of it to send, when that is known.
    pub(crate) fn into_reader(self) -> (Box<dyn Read + Send>, Option<u64>) {
        (self.reader, self.remaining)
    }

    /// The next block; `None` at the end (or when `remaining` is used up).
    pub(crate) fn next_block(&mut self) -> io::Result<Option<Vec<u8>>> {
        let want = match self.remaining {
            Some(0) => return Ok(None),
            Some(remaining) => self
                .block_size
                .min(usize::try_from(remaining).unwrap_or(usize::MAX)),
            None => self.block_size,
        };
        let mut block = vec![0; want];
        let read = loop {
            match self.reader.read(&mut block) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        if read == 0 {
            self.remaining = Some(0);
            return Ok(None);
        }
        block.truncate(read);
        if let Some(remaining) = &mut self.remaining {
            *remaining -= read as u64;
        }
        Ok(Some(block))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn body_shapes_report_their_length() {
        assert_eq!(Body::empty().content_length(), Some(0));
        assert_eq!(Body::from(vec![1, 2, 3]).content_length(), Some(3));
        assert_eq!(Body::from(String::from("ab")).content_length(), Some(2));
        assert_eq!(
            Body::from_chunks(vec![b"a".to_vec()]).content_length(),
            None
        );
        assert_eq!(Body::reader(io::empty(), 8).content_length(), None);
    }

    #[test]
    fn a_single_chunk_iterator_reports_exactly_one_item() {
        assert_eq!(
            Body::from_chunks(vec![b"a".to_vec()]).size_hint(),
            (1, Some(1))
        );
        assert_eq!(Body::from("x").size_hint(), (1, Some(1)));
        let generator = Body::from_chunks((0..3).map(|i| vec![i]).filter(|_| true));
        assert_ne!(generator.size_hint(), (1, Some(1)));
    }

    #[test]
    fn file_bodies_start_at_the_current_position_and_stop_at_the_end() {
        let mut file = Cursor::new((0u8..100).collect::<Vec<_>>());
        file.seek(SeekFrom::Start(90)).unwrap();
        let body = Body::file(file, 4);
        assert_eq!(body.content_length(), Some(10));
        let blocks: Vec<Vec<u8>> = body.map(Result::unwrap).collect();
        assert_eq!(
            blocks,
            vec![vec![90, 91, 92, 93], vec![94, 95, 96, 97], vec![98, 99]]
        );
    }

    #[test]
    fn reader_bodies_stream_until_end_of_file() {
        let body = Body::reader(&b"hello world"[..], 5);
        let blocks: Vec<Vec<u8>> = body.map(Result::unwrap).collect();
        assert_eq!(
            blocks,
            vec![b"hello".to_vec(), b" worl".to_vec(), b"d".to_vec()]
        );
    }

    #[test]
    fn fallible_chunks_carry_the_error() {
        let mut body = Body::from_fallible_chunks(vec![Ok(b"abc".to_vec()), Err("boom".into())]);
        assert_eq!(body.next().unwrap().unwrap(), b"abc");
        assert_eq!(body.next().unwrap().unwrap_err().to_string(), "boom");
        assert!(body.next().is_none());
    }

    #[test]
    fn dropping_a_body_closes_its_iterator() {
        struct Closes(Arc<AtomicBool>);
        impl Iterator for Closes {
            type Item = Vec<u8>;
            fn next(&mut self) -> Option<Vec<u8>> {
                Some(b"x".to_vec())
            }
        }
        impl Drop for Closes {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let closed = Arc::new(AtomicBool::new(false));
        let mut body = Body::from_chunks(Closes(closed.clone()));
        body.next();
        assert!(!closed.load(Ordering::SeqCst));
        drop(body);
        assert!(closed.load(Ordering::SeqCst));
    }
}
