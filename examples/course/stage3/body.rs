//! Request bodies framed by Content-Length (course stage 3).
//!
//! `framing` decides from the head how the body is delimited; a
//! `BodyDecoder` then takes the body's bytes out of whatever the server has
//! received, as they arrive. Stage 4 adds chunked bodies around this file.

use crate::parser::{BAD_REQUEST, HttpError, NOT_IMPLEMENTED, Request, TOO_LARGE};

/// The largest body the server accepts (1 MiB).
pub const MAX_BODY: u64 = 1024 * 1024;

/// How the body of a request is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body at all.
    Empty,
    /// Exactly this many bytes follow the head.
    Length(u64),
}

// ANCHOR: framing
/// Reads the framing of the body from the head (RFC 9112 §6.3).
pub fn framing(request: &Request) -> Result<Framing, HttpError> {
    // Stage 3 does not decode chunked bodies: refusing with 501 (and
    // closing) is correct, guessing where the body ends is not.
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
        if length
            .replace(parsed)
            .is_some_and(|previous| previous != parsed)
        {
            return Err(BAD_REQUEST);
        }
    }
    match length {
        None | Some(0) => Ok(Framing::Empty),
        Some(n) if n > MAX_BODY => Err(TOO_LARGE),
        Some(n) => Ok(Framing::Length(n)),
    }
}
// ANCHOR_END: framing

/// What one call to [`BodyDecoder::decode`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    /// How many bytes of the input it used (the caller drops them).
    pub consumed: usize,
    /// Whether the body is complete.
    pub done: bool,
}

// ANCHOR: decoder
/// Takes a body's bytes out of the input, a piece at a time.
pub struct BodyDecoder {
    /// Bytes of the body still to come.
    remaining: u64,
}

impl BodyDecoder {
    pub fn new(framing: Framing) -> BodyDecoder {
        let remaining = match framing {
            Framing::Empty => 0,
            Framing::Length(n) => n,
        };
        BodyDecoder { remaining }
    }

    /// Appends to `body` what `input` holds of it. Bytes after the body
    /// (the next pipelined request) are not consumed.
    pub fn decode(&mut self, input: &[u8], body: &mut Vec<u8>) -> Result<Decoded, HttpError> {
        let take = input
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        body.extend_from_slice(&input[..take]);
        self.remaining -= take as u64;
        let done = self.remaining == 0;
        Ok(Decoded {
            consumed: take,
            done,
        })
    }
}
// ANCHOR_END: decoder
