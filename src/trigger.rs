//! Waking the I/O thread from another thread (the self-pipe trick).
//!
//! Not written yet: it comes with the poll loop.
#![forbid(unsafe_code)]
