//! Tasks: running the application and framing its response.
//!
//! Not written yet: it comes with the thread pool.
#![forbid(unsafe_code)]
