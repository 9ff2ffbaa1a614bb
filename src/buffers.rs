//! Spooling buffers: bodies in memory up to a limit, then in a temporary file.
//!
//! Not written yet: it comes with the parser.
#![forbid(unsafe_code)]
