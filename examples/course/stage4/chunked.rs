//! The chunked transfer coding, decoded incrementally (course stage 4).
//!
//! ```text
//! 5;ext=1\r\n          chunk size in hex, optional extensions (dropped)
//! hello\r\n            that many bytes, then CRLF
//! 0\r\n                the last chunk
//! Trailer: x\r\n       optional trailer fields (read, checked, dropped)
//! \r\n                 the end of the body
//! ```

use crate::body::{Decoded, MAX_BODY};
use crate::parser::{BAD_REQUEST, HEAD_TOO_LARGE, HttpError, MAX_HEAD, TOO_LARGE, parse_field};

/// The longest chunk-size line, extensions included.
const MAX_SIZE_LINE: usize = 1024;

// ANCHOR: state
/// Where the decoder is in the chunked body.
enum State {
    /// Expecting a chunk-size line.
    Size,
    /// Inside a chunk's data: this many bytes to go.
    Data(u64),
    /// Expecting the CRLF after a chunk's data.
    DataEnd,
    /// After the last chunk: trailer lines, this many bytes of them so far.
    Trailers(usize),
    /// The empty line after the trailers was read.
    Done,
}

pub struct ChunkedDecoder {
    state: State,
    /// Bytes of data so far, all chunks together (limited to `MAX_BODY`).
    total: u64,
}
// ANCHOR_END: state

impl ChunkedDecoder {
    pub fn new() -> ChunkedDecoder {
        ChunkedDecoder {
            state: State::Size,
            total: 0,
        }
    }

    // ANCHOR: decode_size
    /// Appends to `body` the data `input` holds; stops at the end of the
    /// body (the next request's bytes are not consumed) or of the input.
    pub fn decode(&mut self, input: &[u8], body: &mut Vec<u8>) -> Result<Decoded, HttpError> {
        let mut used = 0;
        loop {
            let rest = &input[used..];
            match self.state {
                State::Size => {
                    let Some(line) = line(rest, MAX_SIZE_LINE, BAD_REQUEST)? else {
                        break;
                    };
                    used += line.len() + 2;
                    let size = chunk_size(line)?;
                    self.total = self.total.saturating_add(size);
                    if self.total > MAX_BODY {
                        return Err(TOO_LARGE);
                    }
                    self.state = if size == 0 {
                        State::Trailers(0)
                    } else {
                        State::Data(size)
                    };
                }
                // ANCHOR_END: decode_size
                // ANCHOR: decode_data
                State::Data(left) => {
                    let take = rest.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    if take == 0 {
                        break;
                    }
                    body.extend_from_slice(&rest[..take]);
                    used += take;
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        State::DataEnd
                    } else {
                        State::Data(left)
                    };
                }
                State::DataEnd if rest.len() < 2 => break,
                State::DataEnd if rest.starts_with(b"\r\n") => {
                    used += 2;
                    self.state = State::Size;
                }
                State::DataEnd => return Err(BAD_REQUEST), // more data than the size said
                // ANCHOR_END: decode_data
                // ANCHOR: decode_trailers
                State::Trailers(seen) => {
                    let Some(line) = line(rest, MAX_HEAD - seen, HEAD_TOO_LARGE)? else {
                        break;
                    };
                    used += line.len() + 2;
                    if line.is_empty() {
                        self.state = State::Done;
                    } else {
                        parse_field(line)?; // checked like a header, then dropped
                        self.state = State::Trailers(seen + line.len() + 2);
                    }
                }
                State::Done => {
                    return Ok(Decoded {
                        consumed: used,
                        done: true,
                    });
                }
            }
        }
        Ok(Decoded {
            consumed: used,
            done: false,
        })
    }
    // ANCHOR_END: decode_trailers
}

/// The CRLF-terminated line at the start of `input`, without its CRLF;
/// `None` if it is not complete yet, `error` if it is longer than `limit`.
fn line(input: &[u8], limit: usize, error: HttpError) -> Result<Option<&[u8]>, HttpError> {
    match input.iter().position(|&b| b == b'\n') {
        None if input.len() > limit => Err(error),
        None => Ok(None),
        Some(lf) if lf > limit => Err(error),
        Some(lf) => input[..lf].strip_suffix(b"\r").map(Some).ok_or(BAD_REQUEST),
    }
}

// ANCHOR: chunk_size
/// `1*HEXDIG [ BWS ";" chunk-ext ]`: the size, extensions ignored.
fn chunk_size(line: &[u8]) -> Result<u64, HttpError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    let (hex, extensions) = line.split_at(digits);
    // Hex digits only: no sign, no `0x`, no `_` (CVE-2022-24761), and at
    // most 16 of them, so that the size fits in a u64.
    if digits == 0 || digits > 16 {
        return Err(BAD_REQUEST);
    }
    let after_space = extensions.iter().position(|&b| b != b' ' && b != b'\t');
    let well_formed = match after_space {
        None => extensions.is_empty(), // `5 ` alone: trailing space, refused
        Some(i) => extensions[i] == b';',
    };
    if !well_formed
        || extensions
            .iter()
            .any(|&b| b.is_ascii_control() && b != b'\t')
    {
        return Err(BAD_REQUEST);
    }
    let hex = std::str::from_utf8(hex).map_err(|_| BAD_REQUEST)?;
    u64::from_str_radix(hex, 16).map_err(|_| BAD_REQUEST)
}
// ANCHOR_END: chunk_size
