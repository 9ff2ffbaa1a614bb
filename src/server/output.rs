//! The bytes and files a connection still has to send, in order, and how
//! the I/O thread sends them when the socket has room.
#![forbid(unsafe_code)]

use std::collections::VecDeque;
use std::io::{self, Read};

use crate::http::buffers::OverflowableBuffer;

use super::stream::Stream;

// ANCHOR: output
/// The bytes and files a channel still has to send, in order.
#[derive(Default)]
pub(super) struct Output {
    pub(super) segments: VecDeque<Segment>,
    pub(super) len: u64,
}

pub(super) enum Segment {
    /// Bytes, in memory up to `outbuf_overflow`, then in a temporary file.
    Bytes(OverflowableBuffer),
    /// A file body, streamed a block at a time.
    File {
        reader: Box<dyn Read + Send>,
        remaining: u64,
        /// A block read from the file that the socket has not fully taken.
        block: Vec<u8>,
        sent_of_block: usize,
    },
}
// ANCHOR_END: output

/// What one flush did.
pub(super) struct Flush {
    pub(super) wrote: usize,
    pub(super) file_ended_early: bool,
}

impl Output {
    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(super) fn len(&self) -> u64 {
        self.len
    }

    pub(super) fn push_bytes(&mut self, data: &[u8], overflow: usize) -> io::Result<()> {
        if !matches!(self.segments.back(), Some(Segment::Bytes(_))) {
            self.segments
                .push_back(Segment::Bytes(OverflowableBuffer::new(overflow)));
        }
        if let Some(Segment::Bytes(buffer)) = self.segments.back_mut() {
            buffer.append(data)?;
        }
        self.len += data.len() as u64;
        Ok(())
    }

    pub(super) fn push_file(&mut self, reader: Box<dyn Read + Send>, len: u64) {
        if len == 0 {
            return;
        }
        self.segments.push_back(Segment::File {
            reader,
            remaining: len,
            block: Vec::new(),
            sent_of_block: 0,
        });
        self.len += len;
    }

    pub(super) fn clear(&mut self) {
        self.segments.clear();
        self.len = 0;
    }

    /// Writes as much as the socket takes. `scratch` is the I/O thread's
    /// reusable buffer for bytes spooled to a file.
    pub(super) fn flush_to(&mut self, stream: &Stream, scratch: &mut [u8]) -> io::Result<Flush> {
        let mut flush = Flush {
            wrote: 0,
            file_ended_early: false,
        };
        while let Some(segment) = self.segments.front_mut() {
            match segment {
                Segment::Bytes(buffer) => {
                    if buffer.is_empty() {
                        self.segments.pop_front();
                        continue;
                    }
                    // In memory: straight from the buffer; spooled: a block
                    // at a time through the scratch buffer.
                    let written = match buffer.in_memory() {
                        Some(bytes) => write_some(stream, bytes)?,
                        None => {
                            let available = buffer.peek_into(scratch)?;
                            write_some(stream, &scratch[..available])?
                        }
                    };
                    match written {
                        Some(sent) => {
                            buffer.skip(sent as u64)?;
                            self.len -= sent as u64;
                            flush.wrote += sent;
                        }
                        None => return Ok(flush),
                    }
                }
                Segment::File {
                    reader,
                    remaining,
                    block,
                    sent_of_block,
                } => {
                    if *sent_of_block == block.len() {
                        if *remaining == 0 {
                            self.segments.pop_front();
                            continue;
                        }
                        let want = scratch
                            .len()
                            .min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                        block.resize(want, 0);
                        let read = loop {
                            match reader.read(&mut block[..]) {
                                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                                other => break other?,
                            }
                        };
                        if read == 0 {
                            flush.file_ended_early = true;
                            return Ok(flush);
                        }
                        block.truncate(read);
                        *sent_of_block = 0;
                        *remaining -= read as u64;
                    }
                    match write_some(stream, &block[*sent_of_block..])? {
                        Some(sent) => {
                            *sent_of_block += sent;
                            self.len -= sent as u64;
                            flush.wrote += sent;
                        }
                        None => return Ok(flush),
                    }
                }
            }
        }
        Ok(flush)
    }
}

/// One nonblocking write: `Some(bytes written)`, or `None` when the socket
/// is full.
pub(super) fn write_some(stream: &Stream, data: &[u8]) -> io::Result<Option<usize>> {
    loop {
        match stream.write(data) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(sent) => return Ok(Some(sent)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) => return Err(e),
        }
    }
}
