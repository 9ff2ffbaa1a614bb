//! Trusting `Forwarded` and `X-Forwarded-*` headers from a proxy.
//!
//! Not written yet: `trusted_proxy` and its related settings are already
//! parsed and validated by `adjustments`; the middleware that applies them
//! comes with `waitress-serve`.
#![forbid(unsafe_code)]
