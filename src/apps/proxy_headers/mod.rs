//! Trusting `Forwarded` and `X-Forwarded-*` headers from a proxy.
//!
//! Behind a reverse proxy (nginx, HAProxy, a load balancer) every request
//! comes from the proxy's address, and TLS has usually ended at the proxy. The
//! proxy says who the client was and what it asked for in headers:
//! `X-Forwarded-For`, `-Host`, `-Proto`, `-Port`, `-By`, or the standard
//! `Forwarded` (RFC 7239). Anybody can send those headers, so they mean
//! something only when the peer is the proxy.
//!
//! [`ProxyHeaders`] is Waitress's `proxy_headers` middleware: an application
//! that wraps the real one and, per request,
//!
//! * when the peer is the trusted proxy (`trusted_proxy`, or `*` for any
//!   peer), reads the headers named in `trusted_proxy_headers`, keeps the
//!   last `trusted_proxy_count` hops, and rewrites `REMOTE_ADDR`,
//!   `REMOTE_PORT`, `REMOTE_HOST`, `SERVER_NAME`, `SERVER_PORT`,
//!   `HTTP_HOST` and `wsgi.url_scheme` to what the proxy saw;
//! * removes every proxy header it does not trust from the environ (unless
//!   `clear_untrusted_proxy_headers` is off), so that the application cannot
//!   be fooled by a client that sends `X-Forwarded-For` itself;
//! * answers `400 Bad Request` when a trusted header is malformed.
//!
//! ```
//! use waitress::config::Adjustments;
//! use waitress::logging::{Level, Logger};
//! use waitress::apps::proxy_headers::ProxyHeaders;
//! use waitress::gateway::testing::TestRequest;
//! use waitress::gateway::{headers, AppResult, Body, Environ, StartResponse};
//!
//! fn whoami(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
//!     let who = format!("{} via {}", environ.get("REMOTE_ADDR").unwrap(), environ.url_scheme());
//!     start_response.start_response("200 OK", headers(&[("Content-Type", "text/plain")]), None)?;
//!     Ok(Body::from(who))
//! }
//!
//! let adj = Adjustments::builder()
//!     .trusted_proxy("127.0.0.1")
//!     .trusted_proxy_headers("x-forwarded-for x-forwarded-proto")
//!     .build()
//!     .unwrap();
//! let app = ProxyHeaders::from_adjustments(whoami, &adj, Logger::memory(Level::Warn).0);
//!
//! let from_proxy = TestRequest::get("/")
//!     .remote("127.0.0.1", "40000")
//!     .header("X-Forwarded-For", "203.0.113.9")
//!     .header("X-Forwarded-Proto", "https");
//! assert_eq!(from_proxy.call(&app).unwrap().text(), "203.0.113.9 via https");
//!
//! // The same headers from anyone else are removed, not believed.
//! let spoofed = TestRequest::get("/")
//!     .remote("198.51.100.7", "40000")
//!     .header("X-Forwarded-For", "203.0.113.9");
//! assert_eq!(spoofed.call(&app).unwrap().text(), "198.51.100.7 via http");
//! ```
//!
//! The middleware and its error are in this file; what it does to an
//! environ is in `config.rs` ([`ProxyConfig::apply`]), the readers of the
//! two header families in `forwarded.rs`, and the value helpers in
//! `addresses.rs` and `quoted_string.rs` ([`undquote`]).
#![forbid(unsafe_code)]

mod addresses;
mod config;
mod forwarded;
mod header;
mod quoted_string;

use std::fmt;

use crate::config::Adjustments;
use crate::gateway::{AppResult, Application, Body, Environ, StartResponse, headers};
use crate::http::error::HttpError;
use crate::logging::Logger;

pub use config::ProxyConfig;
pub use header::ProxyHeader;
pub use quoted_string::{InvalidQuoting, undquote};

/// The logger the middleware's warnings go to (Waitress's `waitress` logger).
const LOG_TARGET: &str = "waitress";

/// Whether the server should wrap its application in [`ProxyHeaders`]: when
/// a proxy is trusted or untrusted headers are to be cleared (Waitress's
/// rule; the latter is on by default).
///
/// ```
/// use waitress::config::Adjustments;
///
/// let defaults = Adjustments::builder().build().unwrap();
/// assert!(waitress::apps::proxy_headers::is_needed(&defaults));
/// let off = Adjustments::builder().clear_untrusted_proxy_headers(false).build().unwrap();
/// assert!(!waitress::apps::proxy_headers::is_needed(&off));
/// ```
pub fn is_needed(adj: &Adjustments) -> bool {
    adj.trusted_proxy.is_some() || adj.clear_untrusted_proxy_headers
}

/// The middleware: applies [`ProxyConfig`] to every request, then calls the
/// inner application, or answers `400 Bad Request` itself when a trusted
/// header is malformed.
///
/// ```
/// use waitress::logging::{Level, Logger};
/// use waitress::apps::proxy_headers::{ProxyConfig, ProxyHeader, ProxyHeaders};
/// use waitress::gateway::testing::TestRequest;
/// use waitress::gateway::{headers, AppResult, Body, Environ, StartResponse};
///
/// fn scheme(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
///     start_response.start_response("200 OK", headers(&[]), None)?;
///     Ok(Body::from(environ.url_scheme().to_string()))
/// }
///
/// let config = ProxyConfig {
///     trusted_proxy: Some("*".into()),
///     trusted_proxy_headers: [ProxyHeader::XForwardedProto].into(),
///     ..ProxyConfig::default()
/// };
/// let app = ProxyHeaders::new(scheme, config, Logger::memory(Level::Warn).0);
///
/// let ok = TestRequest::get("/").header("X-Forwarded-Proto", "https").call(&app).unwrap();
/// assert_eq!(ok.text(), "https");
/// let bad = TestRequest::get("/").header("X-Forwarded-Proto", "ftp").call(&app).unwrap();
/// assert_eq!(bad.status, "400 Bad Request");
/// assert!(bad.text().contains("Header \"X-Forwarded-Proto\" malformed."));
/// ```
#[derive(Debug)]
pub struct ProxyHeaders<A> {
    inner: A,
    config: ProxyConfig,
    logger: Logger,
}

impl<A: Application> ProxyHeaders<A> {
    /// Wraps `inner`; warnings go to `logger`.
    pub fn new(inner: A, config: ProxyConfig, logger: Logger) -> ProxyHeaders<A> {
        ProxyHeaders {
            inner,
            config,
            logger,
        }
    }

    /// Wraps `inner` with the settings of `adj`.
    pub fn from_adjustments(inner: A, adj: &Adjustments, logger: Logger) -> ProxyHeaders<A> {
        ProxyHeaders::new(inner, ProxyConfig::from_adjustments(adj), logger)
    }

    /// The settings in use.
    pub fn config(&self) -> &ProxyConfig {
        &self.config
    }

    /// The wrapped application.
    pub fn inner(&self) -> &A {
        &self.inner
    }
}

// ANCHOR: middleware_call
impl<A: Application> Application for ProxyHeaders<A> {
    fn call(&self, environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        match self.config.apply(environ, &self.logger) {
            Ok(()) => self.inner.call(environ, start_response),
            Err(malformed) => bad_request(environ, start_response, &malformed),
        }
    }
}

/// The 400 for a malformed header, in the shape of the server's own error
/// pages. Unlike Waitress, whose generator body goes out chunked with
/// `Connection: close`, this body has a known length: the server can frame
/// it with `Content-Length` and keep the proxy's connection open, since the
/// next request on it may well be fine.
fn bad_request(
    environ: &Environ,
    start_response: &mut dyn StartResponse,
    malformed: &MalformedProxyHeader,
) -> AppResult {
    let error = HttpError::new(400, malformed.response_detail());
    let body = error.body(environ.get("SERVER_SOFTWARE"));
    start_response.start_response(
        &error.status_line(),
        headers(&[
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", &body.len().to_string()),
        ]),
        None,
    )?;
    Ok(Body::from(body))
}
// ANCHOR_END: middleware_call

/// A trusted proxy header whose value cannot be understood.
///
/// ```
/// use waitress::apps::proxy_headers::{MalformedProxyHeader, ProxyHeader};
///
/// let error = MalformedProxyHeader::new(ProxyHeader::XForwardedProto, "unsupported proto value", "ftp");
/// assert_eq!(error.response_detail(), "Header \"X-Forwarded-Proto\" malformed.");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MalformedProxyHeader {
    /// The header that was malformed.
    pub header: ProxyHeader,
    /// What is wrong with it.
    pub reason: String,
    /// The offending value.
    pub value: String,
}

impl MalformedProxyHeader {
    /// An error for `header` with a reason and the offending value.
    pub fn new(
        header: ProxyHeader,
        reason: impl Into<String>,
        value: impl Into<String>,
    ) -> MalformedProxyHeader {
        MalformedProxyHeader {
            header,
            reason: reason.into(),
            value: value.into(),
        }
    }

    /// The detail of the 400 response: `Header "<name>" malformed.`. The
    /// client is not told why; the log is.
    pub fn response_detail(&self) -> String {
        format!("Header \"{}\" malformed.", self.header.name())
    }

    /// The reason and the value, for the log (the value escaped, since it
    /// came from the network).
    fn detail(&self) -> String {
        format!("{} (value: {:?})", self.reason, self.value)
    }
}

impl fmt::Display for MalformedProxyHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "malformed {} header: {}",
            self.header.name(),
            self.detail()
        )
    }
}

impl std::error::Error for MalformedProxyHeader {}
