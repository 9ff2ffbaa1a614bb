//! The `waitress-serve` command line (being written).
#![forbid(unsafe_code)]
