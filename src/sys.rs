//! The only module with `unsafe` code: `poll(2)`, the listen backlog and
//! signal handling through FFI against the C library std already links.
//!
//! Not written yet: it comes with the poll loop. Every `unsafe` block here
//! will carry a `// SAFETY:` comment; the rest of the crate forbids `unsafe`.
