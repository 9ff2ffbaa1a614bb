//! The hand-written HTTP/1.1 request parser.
//!
//! Not written yet: it is being built in its own change (the parser issue).
//! Nothing in this module is public until it works.
#![forbid(unsafe_code)]
