//! The application's side of the contract: the [`Application`] trait, the
//! [`StartResponse`] callable it is given, and the types they exchange
//! ([`AppResult`], [`Headers`]; [`AppError`] is defined with the body,
//! whose chunks may carry one).
//!
//! These are the signatures a reader of PEP 3333 looks for first; the rules
//! behind `start_response` are in `start_response.rs`, the body in `body.rs`.
#![forbid(unsafe_code)]

use super::{AppError, Body, Environ};

/// What an application returns: the response body, or an error.
pub type AppResult = Result<Body, AppError>;

/// Response headers: `(name, value)` pairs in order, as PEP 3333's list of tuples.
pub type Headers = Vec<(String, String)>;

/// Builds [`Headers`] from string pairs.
///
/// ```
/// let h = waitress::gateway::headers(&[("Content-Type", "text/plain")]);
/// assert_eq!(h, vec![("Content-Type".to_string(), "text/plain".to_string())]);
/// ```
pub fn headers(pairs: &[(&str, &str)]) -> Headers {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

// ANCHOR: application
/// A WSGI application: it receives the environ and a `start_response`, and
/// returns the response body.
///
/// Every `fn(&mut Environ, &mut dyn StartResponse) -> AppResult` is an
/// application, and so is a closure with those (annotated) argument types.
/// A middleware is a type that holds another application and implements this
/// trait itself (see `examples/middleware.rs`).
pub trait Application: Send + Sync + 'static {
    /// Handles one request.
    fn call(&self, environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult;
}

impl<F> Application for F
where
    F: Fn(&mut Environ, &mut dyn StartResponse) -> AppResult + Send + Sync + 'static,
{
    fn call(&self, environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        self(environ, start_response)
    }
}
// ANCHOR_END: application

// ANCHOR: start_response
/// PEP 3333's `start_response` callable and the `write` callable it returns.
///
/// The server's implementation (and the test client's) enforce PEP 3333's
/// rules, listed on [`ResponseStart`](super::ResponseStart). A middleware implements this trait to
/// see or change what the application it wraps starts.
pub trait StartResponse {
    /// Begins the response: a status such as `"200 OK"` and the headers.
    ///
    /// A second call is an error unless it carries `exc_info` (the error the
    /// application is handling) and no header was sent yet; then it replaces
    /// the status and headers. With `exc_info` after the headers were sent,
    /// the error is returned, so that `?` propagates it (PEP 3333: "re-raise").
    fn start_response(
        &mut self,
        status: &str,
        headers: Headers,
        exc_info: Option<AppError>,
    ) -> Result<(), AppError>;

    /// Writes body bytes imperatively (PEP 3333's `write`). New code should
    /// return a [`Body`] instead; `write` exists for applications that push.
    fn write(&mut self, data: &[u8]) -> Result<(), AppError>;
}
// ANCHOR_END: start_response
