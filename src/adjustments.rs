//! Adjustments: every setting of the server (being written).
#![forbid(unsafe_code)]
