//! Body receivers: Content-Length and chunked framing.
//!
//! Not written yet: it comes with the parser.
#![forbid(unsafe_code)]
