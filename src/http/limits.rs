//! [`Limits`]: how much of a request a client may make the server hold.
//!
//! The parser takes them, and so do the body receivers it drives: they
//! live below both, so that a receiver never imports the parser.
#![forbid(unsafe_code)]

// ANCHOR: limits
/// How much a request may make the server hold.
///
/// ```
/// let limits = waitress::http::parser::Limits::default();
/// assert_eq!(limits.max_header_size, 262_144);
/// assert_eq!(limits.max_body_size, 1_073_741_824);
/// assert_eq!(limits.inbuf_overflow, 524_288);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The request line plus the header section (leading empty lines and the
    /// final empty line included) must stay below this: 431, or 414 when the
    /// request line alone reaches it. The trailer section of a chunked body
    /// has the same limit, counted separately. (`max_request_header_size`;
    /// the parser never takes more than 512 MiB, whatever this says.)
    pub max_header_size: usize,
    /// A body of this many bytes or more is refused with 413: at once for a
    /// Content-Length, as it arrives for a chunked body. (`max_request_body_size`)
    pub max_body_size: u64,
    /// A body larger than this is spooled to a temporary file. (`inbuf_overflow`)
    pub inbuf_overflow: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_header_size: 262_144,
            max_body_size: 1_073_741_824,
            inbuf_overflow: 524_288,
        }
    }
}
// ANCHOR_END: limits
