//! Request bodies framed by Content-Length (course stage 3). Stage 4 adds
//! chunked bodies around this file.

use crate::parser::{BAD_REQUEST, HttpError, NOT_IMPLEMENTED, Request, TOO_LARGE};

/// The largest body the server accepts (1 MiB).
pub const MAX_BODY: u64 = 1024 * 1024;

/// How the body of a request is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Empty,
    Length(u64),
}

// ANCHOR: framing
/// Reads the framing of the body from the head (RFC 9112 §6.3).
pub fn framing(request: &Request) -> Result<Framing, HttpError> {
    // Refusing a chunked body is correct; guessing where it ends is not.
    if request.header("transfer-encoding").is_some() {
        return Err(NOT_IMPLEMENTED);
    }
    let mut length = None;
    for value in request.values("content-length") {
        // Digits only: no sign, no spaces, no `0x`, no list (`5, 5`).
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BAD_REQUEST);
        }
        // Too many digits for a u64 is too large, not malformed.
        let parsed = value.parse::<u64>().map_err(|_| TOO_LARGE)?;
        // Two lengths that disagree: which one is the body? Refuse.
        if length.is_some_and(|previous| previous != parsed) {
            return Err(BAD_REQUEST);
        }
        length = Some(parsed);
    }
    match length {
        None | Some(0) => Ok(Framing::Empty),
        Some(n) if n > MAX_BODY => Err(TOO_LARGE),
        Some(n) => Ok(Framing::Length(n)),
    }
}
// ANCHOR_END: framing

/// What one call to `decode` did: how many input bytes it used (the caller
/// drops them), and whether the body is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    pub consumed: usize,
    pub done: bool,
}

// ANCHOR: decoder
/// Takes a body's bytes out of the input, a piece at a time.
pub struct BodyDecoder {
    remaining: u64,
}

impl BodyDecoder {
    pub fn new(framing: Framing) -> BodyDecoder {
        match framing {
            Framing::Empty => BodyDecoder { remaining: 0 },
            Framing::Length(n) => BodyDecoder { remaining: n },
        }
    }

    /// Appends to `body` what `input` holds of it, and leaves the bytes
    /// after it (the next pipelined request).
    pub fn decode(&mut self, input: &[u8], body: &mut Vec<u8>) -> Result<Decoded, HttpError> {
        let consumed = input.len().min(self.remaining as usize); // at most MAX_BODY
        body.extend_from_slice(&input[..consumed]);
        self.remaining -= consumed as u64;
        let done = self.remaining == 0;
        Ok(Decoded { consumed, done })
    }
}
// ANCHOR_END: decoder
