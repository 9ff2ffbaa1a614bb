//! The protocol: bytes in, a request out, and the tables and utilities
//! every later stage shares.
//!
//! | module | concern |
//! |---|---|
//! | [`parser`] | the hand-written HTTP/1.1 request parser |
//! | `receiver` | body framing: Content-Length and chunked |
//! | `buffers` | bodies in memory or spooled to temporary files |
//! | `input` | the received body as the application reads it (`wsgi.input`) |
//! | `limits` | how much a request may make the server hold ([`parser::Limits`]) |
//! | `grammar` | byte tables, the field line, tokens and numbers |
//! | `fields` | the table of common header field names |
//! | `uri` (internal) | target and authority parsing, percent-decoding |
//! | [`date`] | HTTP dates |
//! | [`error`] | error responses, and the parse errors that lead to them |
//!
//! The parser drives the receivers; both read the grammar, the limits and
//! the errors below them, so no module here imports one above it.
#![forbid(unsafe_code)]

pub(crate) mod buffers;
pub mod date;
pub mod error;
pub(crate) mod fields;
pub(crate) mod grammar;
pub(crate) mod input;
pub(crate) mod latin1;
mod limits;
pub mod parser;
pub(crate) mod receiver;
pub(crate) mod uri;
