//! Request body framing with chunked bodies (course stage 4).
//!
//! Same API as stage 3's `body.rs`, which it wraps (as `length`) for
//! Content-Length, plus `Framing::Chunked` and the rules that keep a
//! request's two framings from disagreeing (request smuggling).

#[path = "../stage3/body.rs"]
mod length;

use crate::chunked::ChunkedDecoder;
use crate::parser::{BAD_REQUEST, HttpError, NOT_IMPLEMENTED, Request};
pub use length::{Decoded, MAX_BODY};

/// How the body of a request is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body at all.
    Empty,
    /// Exactly this many bytes follow the head.
    Length(u64),
    /// Chunks, each with its size, until a chunk of size zero.
    Chunked,
}

// ANCHOR: framing
/// Reads the framing of the body from the head (RFC 9112 §6.1 and §6.3).
pub fn framing(request: &Request) -> Result<Framing, HttpError> {
    if request.header("transfer-encoding").is_none() {
        return Ok(match length::framing(request)? {
            length::Framing::Empty => Framing::Empty,
            length::Framing::Length(n) => Framing::Length(n),
        });
    }
    // Two framings, or one HTTP/1.0 does not have: the proxy in front of
    // us may have used the other one. Refuse, and close (§6.1).
    if request.header("content-length").is_some() || request.minor_version == 0 {
        return Err(BAD_REQUEST);
    }
    let codings = request
        .values("transfer-encoding")
        .flat_map(|v| v.split(','));
    let mut chunked = 0;
    for coding in codings.map(str::trim).filter(|c| !c.is_empty()) {
        if !coding.eq_ignore_ascii_case("chunked") {
            return Err(NOT_IMPLEMENTED); // gzip, deflate...: not decoded here
        }
        chunked += 1;
    }
    // `chunked` exactly once (and so last); twice would be decoded twice.
    match chunked {
        1 => Ok(Framing::Chunked),
        _ => Err(BAD_REQUEST),
    }
}
// ANCHOR_END: framing

/// Takes a body's bytes out of the input, whatever its framing.
pub enum BodyDecoder {
    Length(length::BodyDecoder),
    Chunked(ChunkedDecoder),
}

impl BodyDecoder {
    pub fn new(framing: Framing) -> BodyDecoder {
        match framing {
            Framing::Empty => BodyDecoder::Length(length::BodyDecoder::new(length::Framing::Empty)),
            Framing::Length(n) => {
                BodyDecoder::Length(length::BodyDecoder::new(length::Framing::Length(n)))
            }
            Framing::Chunked => BodyDecoder::Chunked(ChunkedDecoder::new()),
        }
    }

    /// Appends to `body` what `input` holds of it; see stage 3.
    pub fn decode(&mut self, input: &[u8], body: &mut Vec<u8>) -> Result<Decoded, HttpError> {
        match self {
            BodyDecoder::Length(decoder) => decoder.decode(input, body),
            BodyDecoder::Chunked(decoder) => decoder.decode(input, body),
        }
    }
}
