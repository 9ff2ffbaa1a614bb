//! Spooling buffers: bytes in memory up to a limit, then in a temporary file.
//!
//! A request body can be far larger than the memory a server wants to spend
//! on one connection. Waitress's `OverflowableBuffer` keeps a body in memory
//! until it reaches `inbuf_overflow` bytes and then moves it to an anonymous
//! temporary file; `wsgi.input` reads from either without the application
//! knowing which. The same type (sized by `outbuf_overflow`) queues response
//! bytes that the socket has not accepted yet, which is why it is a FIFO
//! queue: bytes are appended at the back and read, then skipped, at the
//! front.
//!
//! The examples are unit tests at the end of this file (`doc_examples`),
//! with the tests of the queue and of the body it becomes.
#![forbid(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::http::input::Input;

/// How much a spooled buffer copies at a time when it moves bytes around.
const COPY_CHUNK: usize = 64 * 1024;

// ANCHOR: overflowable_buffer
/// A FIFO byte queue held in memory until it would exceed `overflow` bytes,
/// then in an anonymous temporary file.
///
/// The memory it holds never exceeds `overflow` bytes of queued data: the
/// append that would cross the limit moves everything to the file first.
/// When a spooled buffer is drained completely it drops the file and goes
/// back to memory, so a long-lived output buffer does not keep a file open.
#[derive(Debug)]
pub struct OverflowableBuffer {
    overflow: usize,
    storage: Storage,
}
// ANCHOR_END: overflowable_buffer

#[derive(Debug)]
enum Storage {
    /// Queued bytes are `bytes[start..]`; the consumed prefix is dropped
    /// lazily so that `skip` is cheap.
    Memory { bytes: Vec<u8>, start: usize },
    /// Queued bytes are `file[read_at..write_at]`.
    File {
        file: File,
        read_at: u64,
        write_at: u64,
    },
}

impl OverflowableBuffer {
    /// An empty buffer that moves to a temporary file once it would hold
    /// more than `overflow` bytes. Allocates nothing until the first append.
    pub fn new(overflow: usize) -> OverflowableBuffer {
        OverflowableBuffer {
            overflow,
            storage: Storage::Memory {
                bytes: Vec::new(),
                start: 0,
            },
        }
    }

    /// The overflow size this buffer was made with.
    #[allow(dead_code)] // for chapter 11's exercise "Spool at once"
    pub fn overflow(&self) -> usize {
        self.overflow
    }

    /// Reserves memory for `additional` more bytes, but never beyond the
    /// overflow size (a client's announced length is only a promise).
    pub fn reserve(&mut self, additional: u64) {
        if let Storage::Memory { bytes, .. } = &mut self.storage {
            let room = self.overflow.saturating_sub(bytes.len());
            let wanted = usize::try_from(additional).unwrap_or(usize::MAX).min(room);
            bytes.reserve_exact(wanted);
        }
    }

    /// How many bytes are queued.
    pub fn len(&self) -> u64 {
        match &self.storage {
            Storage::Memory { bytes, start } => (bytes.len() - start) as u64,
            Storage::File {
                read_at, write_at, ..
            } => write_at - read_at,
        }
    }

    /// Whether no bytes are queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How much memory the buffer holds (its capacity; 0 once spooled).
    /// Never more than the overflow size, or the largest single append.
    pub fn memory_capacity(&self) -> usize {
        match &self.storage {
            Storage::Memory { bytes, .. } => bytes.capacity(),
            Storage::File { .. } => 0,
        }
    }

    /// Whether the bytes live in a temporary file.
    #[cfg_attr(not(test), allow(dead_code))] // for the tests
    pub fn is_file(&self) -> bool {
        matches!(self.storage, Storage::File { .. })
    }

    // ANCHOR: append
    /// Appends bytes at the back, spooling to a temporary file first when the
    /// queue would grow beyond the overflow size.
    pub fn append(&mut self, data: &[u8]) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        if let Storage::Memory { bytes, start } = &mut self.storage {
            let queued = bytes.len() - *start;
            if queued + data.len() <= self.overflow {
                if *start > 0 && bytes.len() + data.len() > bytes.capacity() {
                    // Reuse the consumed prefix instead of growing.
                    bytes.drain(..*start);
                    *start = 0;
                }
                extend_bounded(bytes, data, self.overflow);
                return Ok(());
            }
            let mut file = anonymous_temp_file()?;
            file.write_all(&bytes[*start..])?;
            self.storage = Storage::File {
                file,
                read_at: 0,
                write_at: queued as u64,
            };
        }
        if let Storage::File { file, write_at, .. } = &mut self.storage {
            file.seek(SeekFrom::Start(*write_at))?;
            file.write_all(data)?;
            *write_at += data.len() as u64;
        }
        Ok(())
    }
    // ANCHOR_END: append

    /// The queued bytes, when they are in memory: a writer can send them
    /// without copying them out first.
    pub fn in_memory(&self) -> Option<&[u8]> {
        match &self.storage {
            Storage::Memory { bytes, start } => Some(&bytes[*start..]),
            Storage::File { .. } => None,
        }
    }

    /// Copies up to `out.len()` bytes from the front into `out` without
    /// consuming them; returns how many were copied.
    pub fn peek_into(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match &mut self.storage {
            Storage::Memory { bytes, start } => {
                let available = &bytes[*start..];
                let count = available.len().min(out.len());
                out[..count].copy_from_slice(&available[..count]);
                Ok(count)
            }
            Storage::File {
                file,
                read_at,
                write_at,
            } => {
                let queued = *write_at - *read_at;
                let wanted = usize::try_from(queued).unwrap_or(usize::MAX).min(out.len());
                file.seek(SeekFrom::Start(*read_at))?;
                file.read_exact(&mut out[..wanted])?;
                Ok(wanted)
            }
        }
    }

    /// Up to `max` bytes from the front, not consumed.
    #[cfg_attr(not(test), allow(dead_code))] // for the tests
    pub fn peek(&mut self, max: usize) -> io::Result<Vec<u8>> {
        let queued = usize::try_from(self.len()).unwrap_or(usize::MAX);
        let mut out = vec![0; max.min(queued)];
        let count = self.peek_into(&mut out)?;
        out.truncate(count);
        Ok(out)
    }

    /// Consumes up to `count` bytes from the front. A file-backed buffer that
    /// becomes empty drops its file and returns to memory.
    pub fn skip(&mut self, count: u64) -> io::Result<()> {
        match &mut self.storage {
            Storage::Memory { bytes, start } => {
                let queued = bytes.len() - *start;
                let skipped = usize::try_from(count).unwrap_or(usize::MAX).min(queued);
                *start += skipped;
                if *start == bytes.len() {
                    bytes.clear();
                    *start = 0;
                }
            }
            Storage::File {
                read_at, write_at, ..
            } => {
                *read_at += count.min(*write_at - *read_at);
                if read_at == write_at {
                    self.storage = Storage::Memory {
                        bytes: Vec::new(),
                        start: 0,
                    };
                }
            }
        }
        Ok(())
    }

    /// Removes and returns up to `max` bytes from the front.
    #[cfg_attr(not(test), allow(dead_code))] // for the tests
    pub fn get(&mut self, max: usize) -> io::Result<Vec<u8>> {
        let bytes = self.peek(max)?;
        self.skip(bytes.len() as u64)?;
        Ok(bytes)
    }

    // ANCHOR: into_input
    /// Turns the queued bytes into a `wsgi.input` positioned at their start:
    /// the memory is handed over without a copy, a file is rewound.
    pub fn into_input(self) -> io::Result<Input> {
        match self.storage {
            Storage::Memory { mut bytes, start } => {
                bytes.drain(..start);
                Ok(Input::from_bytes(bytes))
            }
            Storage::File {
                file,
                read_at: 0,
                write_at,
            } => {
                file.set_len(write_at)?;
                Input::from_file(file)
            }
            Storage::File {
                mut file,
                read_at,
                write_at,
            } => {
                // Part was consumed: copy the rest into a fresh file so that
                // the input starts at offset 0 and has the right length.
                let mut fresh = anonymous_temp_file()?;
                file.seek(SeekFrom::Start(read_at))?;
                let mut rest = (&mut file).take(write_at - read_at);
                let mut chunk = vec![0; COPY_CHUNK];
                loop {
                    let count = rest.read(&mut chunk)?;
                    if count == 0 {
                        break;
                    }
                    fresh.write_all(&chunk[..count])?;
                }
                Input::from_file(fresh)
            }
        }
    }
    // ANCHOR_END: into_input
}

/// Appends to `vec`, growing it geometrically (so that appending byte by
/// byte stays linear) but never beyond `capacity_limit`, unless the data
/// itself needs more.
pub(crate) fn extend_bounded(vec: &mut Vec<u8>, data: &[u8], capacity_limit: usize) {
    let needed = vec.len() + data.len();
    if needed > vec.capacity() {
        let target = vec
            .capacity()
            .saturating_mul(2)
            .max(needed)
            .min(capacity_limit.max(needed));
        vec.reserve_exact(target - vec.len());
    }
    vec.extend_from_slice(data);
}

// ANCHOR: anonymous_temp_file
/// Creates a temporary file that no other process can find: it is created
/// with `create_new` (never opening someone else's file or symlink) under a
/// name nobody can predict in advance, then unlinked at once, so it vanishes
/// when the handle is dropped, even if the process crashes.
fn anonymous_temp_file() -> io::Result<File> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut last_error = None;
    for _ in 0..16 {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let name = format!(
            "waitress-{}-{}-{nanos:x}.tmp",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path: PathBuf = std::env::temp_dir().join(name);
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => {
                std::fs::remove_file(&path)?;
                return Ok(file);
            }
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => last_error = Some(error),
            Err(error) => return Err(error),
        }
    }
    Err(last_error.unwrap_or_else(|| io::Error::other("no unique temporary file name")))
}
// ANCHOR_END: anonymous_temp_file

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_in_memory_up_to_the_overflow_size() {
        let mut buffer = OverflowableBuffer::new(4);
        buffer.append(b"ab").unwrap();
        buffer.append(b"cd").unwrap();
        assert!(!buffer.is_file());
        buffer.append(b"e").unwrap();
        assert!(buffer.is_file());
        assert_eq!(buffer.peek(100).unwrap(), b"abcde");
    }

    #[test]
    fn a_drained_file_buffer_returns_to_memory() {
        let mut buffer = OverflowableBuffer::new(2);
        buffer.append(b"hello").unwrap();
        assert!(buffer.is_file());
        assert_eq!(buffer.get(3).unwrap(), b"hel");
        buffer.append(b"!").unwrap();
        assert_eq!(buffer.get(10).unwrap(), b"lo!");
        assert!(!buffer.is_file());
        assert!(buffer.is_empty());
    }

    #[test]
    fn memory_reuses_the_consumed_prefix() {
        let mut buffer = OverflowableBuffer::new(8);
        buffer.append(b"12345678").unwrap();
        buffer.skip(6).unwrap();
        buffer.append(b"abcdef").unwrap();
        assert!(!buffer.is_file());
        assert_eq!(buffer.get(100).unwrap(), b"78abcdef");
    }

    #[test]
    fn into_input_after_partial_consumption_of_a_file() {
        let mut buffer = OverflowableBuffer::new(2);
        buffer.append(b"0123456789").unwrap();
        buffer.skip(4).unwrap();
        let mut input = buffer.into_input().unwrap();
        assert_eq!(input.len(), 6);
        let mut text = String::new();
        input.read_to_string(&mut text).unwrap();
        assert_eq!(text, "456789");
    }

    #[test]
    fn reserve_never_exceeds_the_overflow() {
        let mut buffer = OverflowableBuffer::new(16);
        buffer.reserve(1 << 40);
        assert!(buffer.memory_capacity() <= 16);
    }

    #[test]
    fn memory_capacity_stays_within_the_overflow_while_appending_bytewise() {
        let mut buffer = OverflowableBuffer::new(100);
        for i in 0..100u8 {
            buffer.append(&[i]).unwrap();
            assert!(buffer.memory_capacity() <= 100);
            if i % 3 == 0 {
                buffer.skip(1).unwrap();
            }
        }
        assert!(!buffer.is_file());
    }
}

/// The examples that were the module's documentation, and the tests of the
/// buffer as the channel uses it (they were `tests/buffers.rs`).
#[cfg(test)]
mod doc_examples {
    use std::io::{Read, Seek, SeekFrom};

    use super::OverflowableBuffer;

    /// The module's example: memory up to the overflow size, then a file.
    #[test]
    fn spools_past_the_overflow_and_reads_back() {
        let mut buffer = OverflowableBuffer::new(8);
        buffer.append(b"hello").unwrap();
        assert!(!buffer.is_file());
        buffer.append(b" world").unwrap(); // 11 bytes > 8: spooled to a file
        assert!(buffer.is_file());
        assert_eq!(buffer.len(), 11);

        let mut input = buffer.into_input().unwrap();
        let mut text = String::new();
        input.read_to_string(&mut text).unwrap();
        assert_eq!(text, "hello world");
    }

    /// `OverflowableBuffer`'s example: a FIFO queue.
    #[test]
    fn is_a_fifo_queue() {
        let mut queue = OverflowableBuffer::new(1024);
        queue.append(b"abcdef").unwrap();
        assert_eq!(queue.peek(4).unwrap(), b"abcd");
        queue.skip(2).unwrap();
        assert_eq!(queue.get(10).unwrap(), b"cdef");
        assert!(queue.is_empty());
    }

    /// `in_memory`'s example.
    #[test]
    fn in_memory_shows_the_queued_bytes() {
        let mut queue = OverflowableBuffer::new(1024);
        queue.append(b"abc").unwrap();
        queue.skip(1).unwrap();
        assert_eq!(queue.in_memory(), Some(&b"bc"[..]));
    }

    #[test]
    fn spooled_buffer_works_as_an_output_queue() {
        let mut queue = OverflowableBuffer::new(16);
        for n in 0..10 {
            queue.append(format!("line {n}\n").as_bytes()).unwrap();
        }
        assert!(queue.is_file());
        assert_eq!(queue.memory_capacity(), 0);
        let mut drained = Vec::new();
        let mut window = [0; 5];
        while !queue.is_empty() {
            let count = queue.peek_into(&mut window).unwrap();
            drained.extend_from_slice(&window[..count]);
            queue.skip(count as u64).unwrap();
        }
        let expected: String = (0..10).map(|n| format!("line {n}\n")).collect();
        assert_eq!(drained, expected.as_bytes());
        assert!(
            !queue.is_file(),
            "a drained spooled buffer returns to memory"
        );
    }

    #[test]
    fn spooled_input_reads_and_seeks_from_the_start() {
        let mut buffer = OverflowableBuffer::new(4);
        buffer.append(b"0123456789").unwrap();
        let mut input = buffer.into_input().unwrap();
        assert!(input.is_file());
        assert_eq!(input.len(), 10);
        let mut text = String::new();
        input.read_to_string(&mut text).unwrap();
        assert_eq!(text, "0123456789");
        input.seek(SeekFrom::Start(5)).unwrap();
        text.clear();
        input.read_to_string(&mut text).unwrap();
        assert_eq!(text, "56789");
    }
}
