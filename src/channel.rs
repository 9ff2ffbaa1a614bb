//! One connection: read, parse, queue requests, buffer output.
//!
//! Not written yet: it comes with the poll loop and the server.
#![forbid(unsafe_code)]
