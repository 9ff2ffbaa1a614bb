//! Body receivers: Content-Length and chunked framing.
//!
//! Once the header section says how the body is framed (RFC 9112 §6.3), the
//! parser hands the following bytes to a receiver. A receiver consumes only
//! the bytes that belong to the body, so that what follows (the next
//! pipelined request) is left to the next parser, and stores the decoded
//! body in an [`OverflowableBuffer`].
//!
//! * [`FixedStreamReceiver`]: exactly `Content-Length` bytes.
//! * [`ChunkedReceiver`]: the chunked coding (RFC 9112 §7.1), decoded by a
//!   byte-at-a-time state machine for the framing and bulk copies for the
//!   data, so it needs no buffering of its own and accepts any split.
//!
//! The examples are unit tests at the end of this file (`doc_examples`).
#![forbid(unsafe_code)]

use std::io;

use crate::http::buffers::{OverflowableBuffer, extend_bounded};
use crate::http::error::ParseError;
use crate::http::grammar::{FIELD_VALUE_CHAR, TCHAR, find_byte, parse_field_line};
use crate::http::input::Input;
use crate::http::limits::Limits;

/// How many bytes of chunk extensions one body may carry in total. They are
/// validated and then thrown away, so there is no reason to read more.
pub const MAX_CHUNK_EXTENSIONS_SIZE: usize = 16 * 1024;

/// How much memory a receiver reserves up front for a Content-Length body:
/// an announced length is only a promise, so it does not buy more.
const INITIAL_RESERVATION: u64 = 64 * 1024;

// ANCHOR: fixed
/// Receives a body of exactly `Content-Length` bytes, and leaves what
/// follows it.
#[derive(Debug)]
pub struct FixedStreamReceiver {
    remaining: u64,
    buffer: OverflowableBuffer,
}

impl FixedStreamReceiver {
    /// A receiver for `content_length` bytes, stored in `buffer`.
    pub fn new(content_length: u64, mut buffer: OverflowableBuffer) -> FixedStreamReceiver {
        buffer.reserve(content_length.min(INITIAL_RESERVATION));
        FixedStreamReceiver {
            remaining: content_length,
            buffer,
        }
    }

    /// Takes as many bytes as the body still needs; returns how many.
    pub fn received(&mut self, data: &[u8]) -> Result<usize, ParseError> {
        let take = usize::try_from(self.remaining)
            .unwrap_or(usize::MAX)
            .min(data.len());
        self.buffer.append(&data[..take])?;
        self.remaining -= take as u64;
        Ok(take)
    }
    // ANCHOR_END: fixed

    /// Whether the whole body has arrived.
    pub fn is_complete(&self) -> bool {
        self.remaining == 0
    }

    /// Memory held for the body (0 once it is spooled to a file).
    pub fn buffered_capacity(&self) -> usize {
        self.buffer.memory_capacity()
    }

    /// The body, positioned at its start.
    pub fn into_input(self) -> io::Result<Input> {
        self.buffer.into_input()
    }
}

// ANCHOR: chunk_state
/// Where the chunked decoder is. Every state but `Data` and `Trailer` looks
/// at one byte at a time, so a split anywhere changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChunkState {
    /// Reading the hex digits of a chunk size (`digits` so far).
    Size {
        digits: u8,
    },
    /// Inside the chunk extensions after the size.
    Extension(ExtensionState),
    /// After the CR that ends a size line: the LF must follow.
    SizeLineFeed,
    /// Copying chunk data; this many bytes are left.
    Data {
        remaining: u64,
    },
    /// After chunk data: exactly CRLF must follow.
    DataCarriageReturn,
    DataLineFeed,
    /// After the last chunk: trailer field lines until an empty line.
    Trailer,
    /// The body is complete.
    Complete,
}
// ANCHOR_END: chunk_state

/// `chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )`,
/// with `chunk-ext-val = token / quoted-string` (RFC 9112 §7.1.1). BWS is
/// SP and HTAB (RFC 9110 §5.6.3: a recipient MUST parse it), accepted
/// where the grammar puts it and nowhere else: not before the CRLF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ExtensionState {
    /// Whitespace after the size: only more of it or `;` may follow.
    AfterSize,
    /// Just after `;` (and any whitespace): a name must start.
    NameStart,
    Name,
    /// Whitespace after a name: `=`, `;` or more whitespace.
    AfterName,
    /// Just after `=` (and any whitespace): a token or a quoted string.
    ValueStart,
    TokenValue,
    QuotedValue,
    /// After a backslash inside a quoted string.
    QuotedPair,
    /// After the closing quote.
    QuotedEnd,
    /// Whitespace after a value: `;` or more whitespace.
    AfterValue,
}

/// Decodes a chunked body.
///
/// Limits: a body whose decoded size reaches `max_body_size` is refused with
/// 413 as soon as a chunk size announces it (before its data is read); chunk
/// extensions may total [`MAX_CHUNK_EXTENSIONS_SIZE`]; the trailer section
/// must stay below `max_header_size`. Trailer fields are checked like header
/// fields and discarded.
#[derive(Debug)]
pub struct ChunkedReceiver {
    state: ChunkState,
    chunk_size: u64,
    buffer: OverflowableBuffer,
    body_len: u64,
    max_body_size: u64,
    extension_bytes: usize,
    trailer_line: Vec<u8>,
    trailer_bytes: usize,
    max_trailer_size: usize,
}

impl ChunkedReceiver {
    /// A decoder that stores the body in `buffer`, with the body and
    /// trailer limits of `limits`.
    pub fn new(buffer: OverflowableBuffer, limits: &Limits) -> ChunkedReceiver {
        ChunkedReceiver {
            state: ChunkState::Size { digits: 0 },
            chunk_size: 0,
            buffer,
            body_len: 0,
            max_body_size: limits.max_body_size,
            extension_bytes: 0,
            trailer_line: Vec::new(),
            trailer_bytes: 0,
            max_trailer_size: limits.max_header_size,
        }
    }

    /// Whether the last chunk and the trailer section have arrived.
    pub fn is_complete(&self) -> bool {
        self.state == ChunkState::Complete
    }

    /// Memory held: the body while in memory, plus an incomplete trailer line.
    pub fn buffered_capacity(&self) -> usize {
        self.buffer.memory_capacity() + self.trailer_line.capacity()
    }

    /// The decoded length so far.
    #[cfg_attr(not(test), allow(dead_code))] // for the tests
    pub fn body_len(&self) -> u64 {
        self.body_len
    }

    /// The decoded body, positioned at its start.
    pub fn into_input(self) -> io::Result<Input> {
        self.buffer.into_input()
    }

    // ANCHOR: chunked_received
    /// Consumes framing and data; returns how many bytes were consumed. It
    /// stops after the final CRLF, leaving what follows.
    pub fn received(&mut self, data: &[u8]) -> Result<usize, ParseError> {
        let mut position = 0;
        while position < data.len() {
            match self.state {
                ChunkState::Complete => break,
                ChunkState::Data { remaining } => {
                    let available = data.len() - position;
                    let take = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(available);
                    self.buffer.append(&data[position..position + take])?;
                    position += take;
                    self.body_len += take as u64;
                    self.state = match remaining - take as u64 {
                        0 => ChunkState::DataCarriageReturn,
                        left => ChunkState::Data { remaining: left },
                    };
                }
                ChunkState::Trailer => position += self.trailer(&data[position..])?,
                _ => {
                    self.framing_byte(data[position])?;
                    position += 1;
                }
            }
        }
        Ok(position)
    }
    // ANCHOR_END: chunked_received

    // ANCHOR: framing_byte
    /// One byte of a size line or of the CRLF after chunk data.
    fn framing_byte(&mut self, byte: u8) -> Result<(), ParseError> {
        use ChunkState::*;
        if let Extension(_) = self.state {
            self.extension_bytes += 1;
            if self.extension_bytes > MAX_CHUNK_EXTENSIONS_SIZE {
                return Err(ParseError::ChunkExtensionsTooLarge);
            }
        }
        self.state = match (self.state, byte) {
            (_, b'\n') if self.state != SizeLineFeed && self.state != DataLineFeed => {
                return Err(ParseError::BareLineFeed);
            }
            (Size { digits }, _) if byte.is_ascii_hexdigit() => {
                // At most 16 hex digits: the size always fits in a u64.
                if digits == 16 {
                    return Err(ParseError::ChunkSizeTooLarge);
                }
                self.chunk_size = self.chunk_size << 4 | u64::from(hex_value(byte));
                Size { digits: digits + 1 }
            }
            (Size { digits }, b';') if digits > 0 => Extension(ExtensionState::NameStart),
            (Size { digits }, b' ' | b'\t') if digits > 0 => Extension(ExtensionState::AfterSize),
            (Size { digits }, b'\r') if digits > 0 => SizeLineFeed,
            (Size { .. }, _) => return Err(ParseError::InvalidChunkSize),
            (Extension(extension), _) => self.extension_byte(extension, byte)?,
            (SizeLineFeed, b'\n') => self.start_chunk()?,
            (SizeLineFeed, _) => return Err(ParseError::BareCarriageReturn),
            (DataCarriageReturn, b'\r') => DataLineFeed,
            (DataLineFeed, b'\n') => Size { digits: 0 },
            (DataCarriageReturn | DataLineFeed, _) => return Err(ParseError::ChunkNotTerminated),
            (Data { .. } | Trailer | Complete, _) => self.state,
        };
        Ok(())
    }
    // ANCHOR_END: framing_byte

    /// A complete size line: the next state is its data, or the trailer.
    fn start_chunk(&mut self) -> Result<ChunkState, ParseError> {
        let size = std::mem::take(&mut self.chunk_size);
        if size == 0 {
            return Ok(ChunkState::Trailer);
        }
        if self.body_len.saturating_add(size) >= self.max_body_size {
            return Err(ParseError::BodyTooLarge {
                limit: self.max_body_size,
            });
        }
        Ok(ChunkState::Data { remaining: size })
    }

    // ANCHOR: extension_byte
    /// One byte of the chunk extensions: the next state, or what is wrong.
    fn extension_byte(&self, state: ExtensionState, byte: u8) -> Result<ChunkState, ParseError> {
        use ExtensionState::*;
        let is_token = TCHAR[usize::from(byte)];
        let is_whitespace = matches!(byte, b' ' | b'\t');
        let next = match (state, byte) {
            // Inside a quoted string whitespace is text, so it comes first.
            (QuotedValue, b'"') => QuotedEnd,
            (QuotedValue, b'\\') => QuotedPair,
            // qdtext: HTAB, SP, VCHAR except `"` and `\`, obs-text.
            (QuotedValue, _) if FIELD_VALUE_CHAR[usize::from(byte)] => QuotedValue,
            (QuotedPair, _) if FIELD_VALUE_CHAR[usize::from(byte)] => QuotedValue,
            // BWS: where the grammar allows it, as much as the bound allows.
            (AfterSize | NameStart | AfterName | ValueStart | AfterValue, _) if is_whitespace => {
                state
            }
            (Name, _) if is_whitespace => AfterName,
            (TokenValue | QuotedEnd, _) if is_whitespace => AfterValue,
            (NameStart | Name, _) if is_token => Name,
            (Name | AfterName, b'=') => ValueStart,
            (ValueStart | TokenValue, _) if is_token => TokenValue,
            (ValueStart, b'"') => QuotedValue,
            (AfterSize | Name | AfterName | TokenValue | QuotedEnd | AfterValue, b';') => NameStart,
            (Name | TokenValue | QuotedEnd, b'\r') => return Ok(ChunkState::SizeLineFeed),
            // `5 x`, `5 \r\n`: no extension began, so the size line is wrong.
            (AfterSize, _) => return Err(ParseError::InvalidChunkSize),
            _ => return Err(ParseError::InvalidChunkExtension),
        };
        Ok(ChunkState::Extension(next))
    }
    // ANCHOR_END: extension_byte

    // ANCHOR: trailer
    /// Trailer lines, until the empty line; returns the bytes consumed.
    fn trailer(&mut self, data: &[u8]) -> Result<usize, ParseError> {
        let (taken, line_complete) = match find_byte(data, b'\n') {
            Some(index) => (index + 1, true),
            None => (data.len(), false),
        };
        self.trailer_bytes = self.trailer_bytes.saturating_add(taken);
        if self.trailer_bytes >= self.max_trailer_size {
            return Err(ParseError::TrailerSectionTooLarge {
                limit: self.max_trailer_size,
            });
        }
        extend_bounded(
            &mut self.trailer_line,
            &data[..taken],
            self.max_trailer_size,
        );
        if line_complete {
            let Some(line) = self.trailer_line.strip_suffix(b"\r\n") else {
                return Err(ParseError::BareLineFeed);
            };
            if line.is_empty() {
                self.state = ChunkState::Complete;
                self.trailer_line = Vec::new();
            } else {
                parse_field_line(line)?; // checked, then discarded
                self.trailer_line.clear();
            }
        }
        Ok(taken)
    }
    // ANCHOR_END: trailer
}

fn hex_value(byte: u8) -> u8 {
    match byte {
        b'0'..=b'9' => byte - b'0',
        b'a'..=b'f' => byte - b'a' + 10,
        _ => byte.wrapping_sub(b'A').wrapping_add(10) & 0x0f,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(wire: &[u8]) -> Result<(usize, Vec<u8>), ParseError> {
        let mut receiver =
            ChunkedReceiver::new(OverflowableBuffer::new(1 << 20), &Limits::default());
        let used = receiver.received(wire)?;
        assert!(receiver.is_complete(), "incomplete");
        let mut body = Vec::new();
        io::Read::read_to_end(&mut receiver.into_input().unwrap(), &mut body).unwrap();
        Ok((used, body))
    }

    #[test]
    fn hex_values() {
        for (digit, value) in b"0123456789abcdefABCDEF".iter().zip((0..16).chain(10..16)) {
            assert_eq!(hex_value(*digit), value);
        }
    }

    #[test]
    fn sixteen_hex_digits_are_the_maximum() {
        let limits = Limits::default();
        let mut receiver = ChunkedReceiver::new(OverflowableBuffer::new(16), &limits);
        assert_eq!(
            receiver.received(b"00000000000000001\r\n"),
            Err(ParseError::ChunkSizeTooLarge)
        );
        assert_eq!(
            decode(b"0000000000000003\r\nabc\r\n0\r\n\r\n").unwrap().1,
            b"abc"
        );
    }

    #[test]
    fn whitespace_inside_a_quoted_value_is_text_not_bws() {
        let (_, body) = decode(b"3 ; a = \"x ; \\\" =\" ;b\r\nabc\r\n0\r\n\r\n").unwrap();
        assert_eq!(body, b"abc");
    }

    #[test]
    fn quoted_extension_with_escapes_is_accepted() {
        let (_, body) = decode(b"3;a=\"x\\\"y; z\";b\r\nabc\r\n0\r\n\r\n").unwrap();
        assert_eq!(body, b"abc");
    }
}

/// The examples that were the documentation of the receivers, and the tests
/// of a receiver on its own (they were in `tests/buffers.rs`).
#[cfg(test)]
mod doc_examples {
    use std::io::Read;

    use super::{ChunkedReceiver, FixedStreamReceiver, MAX_CHUNK_EXTENSIONS_SIZE};
    use crate::http::buffers::OverflowableBuffer;
    use crate::http::error::ParseError;
    use crate::http::limits::Limits;

    /// The module's example: a chunked body, and the request after it left.
    #[test]
    fn chunked_body_then_the_next_request() {
        let mut receiver = ChunkedReceiver::new(OverflowableBuffer::new(1024), &Limits::default());
        let wire = b"5\r\nhello\r\n6;lang=en\r\n world\r\n0\r\n\r\nNEXT";
        let consumed = receiver.received(wire).unwrap();
        assert_eq!(&wire[consumed..], b"NEXT");
        assert!(receiver.is_complete());
        let mut body = String::new();
        receiver
            .into_input()
            .unwrap()
            .read_to_string(&mut body)
            .unwrap();
        assert_eq!(body, "hello world");
    }

    /// `MAX_CHUNK_EXTENSIONS_SIZE`'s example.
    #[test]
    fn chunk_extensions_are_bounded() {
        let mut receiver = ChunkedReceiver::new(OverflowableBuffer::new(64), &Limits::default());
        let long = format!("1;a={}\r\n", "v".repeat(MAX_CHUNK_EXTENSIONS_SIZE));
        assert_eq!(
            receiver.received(long.as_bytes()),
            Err(ParseError::ChunkExtensionsTooLarge)
        );
    }

    /// `FixedStreamReceiver`'s example.
    #[test]
    fn fixed_receiver_takes_exactly_its_length() {
        let mut receiver = FixedStreamReceiver::new(5, OverflowableBuffer::new(1024));
        assert_eq!(receiver.received(b"hel").unwrap(), 3);
        assert_eq!(receiver.received(b"loGET /").unwrap(), 2);
        assert!(receiver.is_complete());
        assert_eq!(receiver.into_input().unwrap().len(), 5);
    }

    /// `ChunkedReceiver`'s example.
    #[test]
    fn a_signed_chunk_size_is_refused() {
        let limits = Limits::default();
        let mut receiver = ChunkedReceiver::new(OverflowableBuffer::new(64), &limits);
        assert_eq!(
            receiver.received(b"+5\r\n"),
            Err(ParseError::InvalidChunkSize)
        );
    }

    #[test]
    fn fixed_receiver_spools_past_the_overflow() {
        let mut receiver = FixedStreamReceiver::new(10, OverflowableBuffer::new(4));
        assert_eq!(receiver.received(b"01234").unwrap(), 5);
        assert!(receiver.buffered_capacity() <= 4);
        assert_eq!(receiver.received(b"56789extra").unwrap(), 5);
        assert!(receiver.is_complete());
        let input = receiver.into_input().unwrap();
        assert!(input.is_file());
        assert_eq!(input.len(), 10);
    }

    #[test]
    fn chunked_receiver_on_its_own() {
        let limits = Limits {
            max_body_size: 8,
            ..Limits::default()
        };
        let mut receiver = ChunkedReceiver::new(OverflowableBuffer::new(64), &limits);
        assert_eq!(receiver.received(b"3\r\nabc\r\n").unwrap(), 8);
        assert_eq!(receiver.body_len(), 3);
        assert_eq!(
            receiver.received(b"5\r\n"),
            Err(ParseError::BodyTooLarge { limit: 8 })
        );
    }
}
