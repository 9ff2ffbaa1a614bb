//! Listeners, the poll loop and `create_server`/`serve`.
//!
//! Not written yet: this crate cannot serve HTTP until it is.
#![forbid(unsafe_code)]
