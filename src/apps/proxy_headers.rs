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
#![forbid(unsafe_code)]

use std::collections::BTreeSet;
use std::fmt;

use crate::config::Adjustments;
use crate::gateway::{AppResult, Application, Body, Environ, StartResponse, headers};
use crate::http::error::HttpError;
use crate::logging::Logger;

/// The logger the middleware's warnings go to (Waitress's `waitress` logger).
const LOG_TARGET: &str = "waitress";

// ANCHOR: proxy_header
/// One of the six headers a proxy uses to describe the client's request.
///
/// ```
/// use waitress::apps::proxy_headers::ProxyHeader;
///
/// let header = ProxyHeader::from_setting("x-forwarded-for").unwrap();
/// assert_eq!(header, ProxyHeader::XForwardedFor);
/// assert_eq!(header.name(), "X-Forwarded-For");
/// assert_eq!(header.environ_key(), "HTTP_X_FORWARDED_FOR");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProxyHeader {
    /// `Forwarded` (RFC 7239): `for`, `by`, `host` and `proto` in one header.
    Forwarded,
    /// `X-Forwarded-By`: the proxy's own address; passed on, never used.
    XForwardedBy,
    /// `X-Forwarded-For`: the client, then every proxy but the last.
    XForwardedFor,
    /// `X-Forwarded-Host`: the `Host` the client sent.
    XForwardedHost,
    /// `X-Forwarded-Port`: the port the client connected to.
    XForwardedPort,
    /// `X-Forwarded-Proto`: `http` or `https`, as the client connected.
    XForwardedProto,
}

impl ProxyHeader {
    /// All six, in the order their names sort (the order of the log line).
    pub const ALL: [ProxyHeader; 6] = [
        ProxyHeader::Forwarded,
        ProxyHeader::XForwardedBy,
        ProxyHeader::XForwardedFor,
        ProxyHeader::XForwardedHost,
        ProxyHeader::XForwardedPort,
        ProxyHeader::XForwardedProto,
    ];

    /// The header's name as it is usually written, e.g. `X-Forwarded-Proto`.
    pub fn name(self) -> &'static str {
        match self {
            ProxyHeader::Forwarded => "Forwarded",
            ProxyHeader::XForwardedBy => "X-Forwarded-By",
            ProxyHeader::XForwardedFor => "X-Forwarded-For",
            ProxyHeader::XForwardedHost => "X-Forwarded-Host",
            ProxyHeader::XForwardedPort => "X-Forwarded-Port",
            ProxyHeader::XForwardedProto => "X-Forwarded-Proto",
        }
    }

    /// The environ key the header arrives under, e.g. `HTTP_X_FORWARDED_PROTO`.
    pub fn environ_key(self) -> &'static str {
        match self {
            ProxyHeader::Forwarded => "HTTP_FORWARDED",
            ProxyHeader::XForwardedBy => "HTTP_X_FORWARDED_BY",
            ProxyHeader::XForwardedFor => "HTTP_X_FORWARDED_FOR",
            ProxyHeader::XForwardedHost => "HTTP_X_FORWARDED_HOST",
            ProxyHeader::XForwardedPort => "HTTP_X_FORWARDED_PORT",
            ProxyHeader::XForwardedProto => "HTTP_X_FORWARDED_PROTO",
        }
    }

    /// The header a `trusted_proxy_headers` entry names (`x-forwarded-for`,
    /// `forwarded`, …, in any case), if it names one.
    pub fn from_setting(name: &str) -> Option<ProxyHeader> {
        ProxyHeader::ALL
            .into_iter()
            .find(|header| header.name().eq_ignore_ascii_case(name.trim()))
    }
}
// ANCHOR_END: proxy_header

// ANCHOR: config
/// The settings the middleware needs: the `trusted_proxy*` and
/// `*_untrusted_proxy_headers` adjustments, with the header names parsed.
///
/// ```
/// use waitress::config::Adjustments;
/// use waitress::apps::proxy_headers::{ProxyConfig, ProxyHeader};
///
/// let adj = Adjustments::builder()
///     .trusted_proxy("10.0.0.2")
///     .trusted_proxy_headers("x-forwarded-for x-forwarded-proto")
///     .build()
///     .unwrap();
/// let config = ProxyConfig::from_adjustments(&adj);
/// assert!(config.trusts("10.0.0.2") && !config.trusts("10.0.0.3"));
/// assert!(config.trusted_proxy_headers.contains(&ProxyHeader::XForwardedFor));
/// assert!(config.clear_untrusted_proxy_headers);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyConfig {
    /// The peer address whose proxy headers are believed, compared with
    /// `REMOTE_ADDR` as text (`::1`, not `[::1]`; `localhost` on a Unix
    /// socket); `*` trusts every peer; `None` trusts none.
    pub trusted_proxy: Option<String>,
    /// How many hops, counted from the newest, are trusted: the proxies in
    /// front of this server, each of which appends one hop. Zero counts as one.
    pub trusted_proxy_count: usize,
    /// The headers read from a trusted peer. `Forwarded` excludes the
    /// `X-Forwarded-*` family (adjustments refuse both); when it is present
    /// the `X-Forwarded-*` headers are treated as untrusted.
    pub trusted_proxy_headers: BTreeSet<ProxyHeader>,
    /// Remove untrusted proxy headers from the environ (the default).
    pub clear_untrusted_proxy_headers: bool,
    /// Log a warning naming the untrusted headers that were removed.
    pub log_untrusted_proxy_headers: bool,
}
// ANCHOR_END: config

impl Default for ProxyConfig {
    /// Waitress's defaults: no trusted proxy, and untrusted headers removed
    /// silently.
    fn default() -> ProxyConfig {
        ProxyConfig {
            trusted_proxy: None,
            trusted_proxy_count: 1,
            trusted_proxy_headers: BTreeSet::new(),
            clear_untrusted_proxy_headers: true,
            log_untrusted_proxy_headers: false,
        }
    }
}

impl ProxyConfig {
    /// The middleware's settings from validated adjustments.
    pub fn from_adjustments(adj: &Adjustments) -> ProxyConfig {
        ProxyConfig {
            trusted_proxy: adj.trusted_proxy.clone(),
            trusted_proxy_count: adj.trusted_proxy_count,
            trusted_proxy_headers: adj
                .trusted_proxy_headers
                .iter()
                .filter_map(|name| ProxyHeader::from_setting(name))
                .collect(),
            clear_untrusted_proxy_headers: adj.clear_untrusted_proxy_headers,
            log_untrusted_proxy_headers: adj.log_untrusted_proxy_headers,
        }
    }

    /// Whether the middleware has anything to do: a proxy to trust, or
    /// headers to clear. Otherwise the server can skip it.
    ///
    /// ```
    /// use waitress::apps::proxy_headers::ProxyConfig;
    ///
    /// let nothing_to_do = ProxyConfig { clear_untrusted_proxy_headers: false, ..ProxyConfig::default() };
    /// assert!(!nothing_to_do.is_needed());
    /// assert!(ProxyConfig::default().is_needed());
    /// ```
    pub fn is_needed(&self) -> bool {
        self.trusted_proxy.is_some() || self.clear_untrusted_proxy_headers
    }

    /// Whether proxy headers from this peer (a `REMOTE_ADDR`) are believed.
    ///
    /// ```
    /// use waitress::apps::proxy_headers::ProxyConfig;
    ///
    /// let any = ProxyConfig { trusted_proxy: Some("*".into()), ..ProxyConfig::default() };
    /// assert!(any.trusts("192.0.2.1"));
    /// assert!(!ProxyConfig::default().trusts("127.0.0.1"));
    /// ```
    pub fn trusts(&self, peer: &str) -> bool {
        self.trusted_proxy
            .as_deref()
            .is_some_and(|trusted| trusted == "*" || trusted == peer)
    }

    // ANCHOR: apply
    /// Applies the proxy headers to an environ: what the middleware does
    /// before it calls the application. Warnings go to `logger`.
    ///
    /// On `Err` the environ may be half rewritten and the request must be
    /// answered with a 400 instead of reaching the application.
    ///
    /// ```
    /// use waitress::logging::{Level, Logger};
    /// use waitress::apps::proxy_headers::{ProxyConfig, ProxyHeader};
    /// use waitress::gateway::Environ;
    ///
    /// let config = ProxyConfig {
    ///     trusted_proxy: Some("127.0.0.1".into()),
    ///     trusted_proxy_headers: [ProxyHeader::XForwardedProto].into(),
    ///     ..ProxyConfig::default()
    /// };
    /// let mut environ = Environ::new();
    /// environ.insert("REMOTE_ADDR", "127.0.0.1");
    /// environ.insert("HTTP_X_FORWARDED_PROTO", "https");
    /// environ.insert("HTTP_X_FORWARDED_FOR", "203.0.113.9");
    /// config.apply(&mut environ, &Logger::memory(Level::Warn).0).unwrap();
    /// assert_eq!(environ.url_scheme(), "https");
    /// assert_eq!(environ.get("SERVER_PORT"), Some("443"));
    /// // X-Forwarded-For was not trusted: removed.
    /// assert_eq!(environ.get("HTTP_X_FORWARDED_FOR"), None);
    /// ```
    pub fn apply(
        &self,
        environ: &mut Environ,
        logger: &Logger,
    ) -> Result<(), MalformedProxyHeader> {
        let peer = environ.get("REMOTE_ADDR").unwrap_or_default().to_string();
        let trusted_peer = self.trusts(&peer);
        if trusted_peer {
            if let Err(malformed) = self.read_trusted_headers(environ, logger) {
                logger.warn(
                    LOG_TARGET,
                    format_args!(
                        "Malformed proxy header \"{}\" from \"{peer}\": {}",
                        malformed.header.name(),
                        malformed.detail()
                    ),
                );
                return Err(malformed);
            }
        }
        if self.clear_untrusted_proxy_headers {
            let untrusted: Vec<ProxyHeader> = ProxyHeader::ALL
                .into_iter()
                .filter(|header| !(trusted_peer && self.reads(*header)))
                .collect();
            let log = self.log_untrusted_proxy_headers;
            clear_headers(environ, &untrusted, log, logger);
        }
        Ok(())
    }
    // ANCHOR_END: apply

    /// Whether `header` is read from a trusted peer: with `Forwarded`
    /// trusted, only `Forwarded` is.
    fn reads(&self, header: ProxyHeader) -> bool {
        let forwarded_mode = self.trusted_proxy_headers.contains(&ProxyHeader::Forwarded);
        self.trusted_proxy_headers.contains(&header)
            && (!forwarded_mode || header == ProxyHeader::Forwarded)
    }

    fn read_trusted_headers(
        &self,
        environ: &mut Environ,
        logger: &Logger,
    ) -> Result<(), MalformedProxyHeader> {
        // Zero would keep no hop at all; Waitress's `hops[-0:]` keeps every
        // hop, which trusts the client. One is the safe reading.
        let count = self.trusted_proxy_count.max(1);
        let facts = if self.reads(ProxyHeader::Forwarded) {
            read_forwarded(environ, count, logger)?
        } else {
            read_x_forwarded(environ, count, |header| self.reads(header))?
        };
        facts.apply_to(environ)
    }
}

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

// ANCHOR: middleware
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
// ANCHOR_END: middleware

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

// ANCHOR: facts
/// What the trusted headers say about the client's request; empty means
/// "not said". `client` is an address with an optional port.
struct ClientFacts {
    client: String,
    host: String,
    proto: String,
    port: String,
    /// Which header `client` and `proto` came from, to name it in errors.
    client_header: ProxyHeader,
    proto_header: ProxyHeader,
}

impl ClientFacts {
    fn new(client_header: ProxyHeader, proto_header: ProxyHeader) -> ClientFacts {
        ClientFacts {
            client: String::new(),
            host: String::new(),
            proto: String::new(),
            port: String::new(),
            client_header,
            proto_header,
        }
    }

    /// Rewrites the environ's view of the request, in Waitress's order:
    /// the scheme (and its default port), the host (whose port wins), the
    /// port, then the client's address.
    fn apply_to(self, environ: &mut Environ) -> Result<(), MalformedProxyHeader> {
        let mut port = self.port;
        if !self.proto.is_empty() {
            let proto = self.proto.to_ascii_lowercase();
            let default_port = match proto.as_str() {
                "http" => "80",
                "https" => "443",
                _ => {
                    return Err(MalformedProxyHeader::new(
                        self.proto_header,
                        "unsupported proto value",
                        proto,
                    ));
                }
            };
            if port.is_empty() {
                port = default_port.to_string();
            }
            environ.insert("wsgi.url_scheme", proto);
        }

        if !self.host.is_empty() {
            if let (name, Some(host_port)) = split_address(&self.host) {
                // The port in the host beats X-Forwarded-Port and the
                // scheme's default: it is what the client typed.
                port = host_port.to_string();
                environ.insert("SERVER_NAME", trim_ows(name));
                environ.insert("HTTP_HOST", self.host.as_str());
            } else {
                let scheme = environ.url_scheme();
                let default_for_scheme =
                    (port == "80" && scheme == "http") || (port == "443" && scheme == "https");
                let http_host = if port.is_empty() || default_for_scheme {
                    self.host.clone()
                } else {
                    format!("{}:{port}", self.host)
                };
                environ.insert("SERVER_NAME", self.host.as_str());
                environ.insert("HTTP_HOST", http_host);
            }
        }

        if !port.is_empty() {
            environ.insert("SERVER_PORT", port);
        }

        if !self.client.is_empty() {
            let (addr, client_port) = split_address(trim_ows(&self.client));
            let addr = strip_brackets(trim_ows(addr));
            // Waitress crashes (500) or sets an empty REMOTE_ADDR here; an
            // address that is not there is a malformed header.
            if addr.is_empty() {
                return Err(MalformedProxyHeader::new(
                    self.client_header,
                    "empty client address",
                    self.client.as_str(),
                ));
            }
            environ.insert("REMOTE_ADDR", addr);
            environ.insert("REMOTE_HOST", addr);
            if let Some(client_port) = client_port {
                environ.insert("REMOTE_PORT", trim_ows(client_port));
            }
        }
        Ok(())
    }
}
// ANCHOR_END: facts

// ANCHOR: x_forwarded
/// Reads the `X-Forwarded-*` headers that `reads` accepts, rewriting the
/// list headers to their trusted hops.
fn read_x_forwarded(
    environ: &mut Environ,
    count: usize,
    reads: impl Fn(ProxyHeader) -> bool,
) -> Result<ClientFacts, MalformedProxyHeader> {
    let mut facts = ClientFacts::new(ProxyHeader::XForwardedFor, ProxyHeader::XForwardedProto);
    if reads(ProxyHeader::XForwardedFor) {
        if let Some(client) = read_hops(environ, ProxyHeader::XForwardedFor, count)? {
            facts.client = client;
        }
    }
    if reads(ProxyHeader::XForwardedHost) {
        if let Some(host) = read_hops(environ, ProxyHeader::XForwardedHost, count)? {
            facts.host = host;
        }
    }
    if reads(ProxyHeader::XForwardedProto) {
        facts.proto = read_single(environ, ProxyHeader::XForwardedProto)?;
    }
    if reads(ProxyHeader::XForwardedPort) {
        facts.port = read_single(environ, ProxyHeader::XForwardedPort)?;
    }
    Ok(facts)
}

/// A list header (`X-Forwarded-For`, `-Host`): one value per hop, the
/// newest last. Each proxy appends the peer it saw, so only the last `count`
/// hops were written by trusted proxies; anything before them is whatever
/// the client sent. Returns the oldest trusted hop, and leaves only the
/// trusted hops in the environ.
fn read_hops(
    environ: &mut Environ,
    header: ProxyHeader,
    count: usize,
) -> Result<Option<String>, MalformedProxyHeader> {
    let Some(value) = environ.get(header.environ_key()).map(str::to_string) else {
        return Ok(None);
    };
    let hops: Vec<&str> = value.split(',').collect();
    let first_trusted = hops.len().saturating_sub(count);
    let mut oldest_trusted = String::new();
    // Every hop must be well quoted, the untrusted ones too (as in Waitress).
    for (index, hop) in hops.iter().enumerate() {
        let hop = undquote(trim_ows(hop))
            .map_err(|error| MalformedProxyHeader::new(header, error.to_string(), &value))?;
        if index == first_trusted {
            oldest_trusted = hop;
        }
    }
    let trusted_part = trim_ows(&hops[first_trusted..].join(",")).to_string();
    environ.insert(header.environ_key(), trusted_part);
    Ok(Some(oldest_trusted))
}

/// A single-value header (`X-Forwarded-Proto`, `-Port`); `""` when absent.
fn read_single(environ: &Environ, header: ProxyHeader) -> Result<String, MalformedProxyHeader> {
    let value = environ.get(header.environ_key()).unwrap_or_default();
    let malformed = |reason: String| MalformedProxyHeader::new(header, reason, value);
    let unquoted = undquote(value).map_err(|error| malformed(error.to_string()))?;
    if unquoted.contains(',') {
        return Err(malformed(
            "Unspecified behavior for multiple values found in header".to_string(),
        ));
    }
    Ok(unquoted)
}
// ANCHOR_END: x_forwarded

// ANCHOR: forwarded
/// One element of `Forwarded`: what one proxy said.
#[derive(Default)]
struct ForwardedElement {
    for_: String,
    host: String,
    proto: String,
}

/// Reads `Forwarded` (RFC 7239): elements separated by `,` (one per proxy,
/// the newest last), each `token=value` pairs separated by `;`.
fn read_forwarded(
    environ: &mut Environ,
    count: usize,
    logger: &Logger,
) -> Result<ClientFacts, MalformedProxyHeader> {
    let mut facts = ClientFacts::new(ProxyHeader::Forwarded, ProxyHeader::Forwarded);
    let key = ProxyHeader::Forwarded.environ_key();
    let Some(value) = environ
        .get(key)
        .filter(|value| !value.is_empty())
        .map(str::to_string)
    else {
        return Ok(facts);
    };
    let raw_elements: Vec<&str> = value.split(',').collect();
    let elements = raw_elements
        .iter()
        .map(|element| parse_forwarded_element(trim_ows(element), logger))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|reason| MalformedProxyHeader::new(ProxyHeader::Forwarded, reason, &value))?;

    let first_trusted = elements.len().saturating_sub(count);
    let trusted = &elements[first_trusted..];
    // The oldest trusted element that says something wins: later proxies
    // may rewrite host or proto for their own hop, but the oldest one saw
    // what the client asked for.
    let oldest = |field: fn(&ForwardedElement) -> &String| {
        trusted
            .iter()
            .map(field)
            .find(|value| !value.is_empty())
            .cloned()
            .unwrap_or_default()
    };
    facts.client = oldest(|element| &element.for_);
    facts.host = oldest(|element| &element.host);
    facts.proto = oldest(|element| &element.proto);

    let trusted_part = trim_ows(&raw_elements[first_trusted..].join(",")).to_string();
    environ.insert(key, trusted_part);
    Ok(facts)
}

/// Parses one element. Like Waitress, each pair is lower-cased whole before
/// it is split, so host names come out lower-case, and whitespace around
/// `=` or `;` is an error.
fn parse_forwarded_element(element: &str, logger: &Logger) -> Result<ForwardedElement, String> {
    let mut parsed = ForwardedElement::default();
    let mut by = String::new();
    for pair in element.split(';') {
        let pair = pair.to_lowercase();
        if pair.is_empty() {
            continue;
        }
        let Some((token, value)) = pair.split_once('=') else {
            return Err("Invalid forwarded-pair missing \"=\"".to_string());
        };
        if trim_ows(token) != token {
            return Err("Token may not be surrounded by whitespace".to_string());
        }
        if trim_ows(value) != value {
            return Err("Value may not be surrounded by whitespace".to_string());
        }
        let slot = match token {
            "for" => &mut parsed.for_,
            "host" => &mut parsed.host,
            "proto" => &mut parsed.proto,
            // Checked for quoting like the others, then not used.
            "by" => &mut by,
            _ => {
                logger.warn(
                    LOG_TARGET,
                    format_args!("Unknown Forwarded token: {token:?}"),
                );
                continue;
            }
        };
        *slot = undquote(value).map_err(|error| error.to_string())?;
    }
    Ok(parsed)
}
// ANCHOR_END: forwarded

// ANCHOR: clear
/// Removes the untrusted headers present in the environ; with `log`, one
/// warning names them. Removing them (the default) matters because an
/// application, or a library it uses, may read `X-Forwarded-For` on its own
/// and believe whatever the client wrote.
fn clear_headers(environ: &mut Environ, untrusted: &[ProxyHeader], log: bool, logger: &Logger) {
    let removed: Vec<&str> = untrusted
        .iter()
        .filter(|header| environ.remove(header.environ_key()).is_some())
        .map(|header| header.name())
        .collect();
    if log && !removed.is_empty() {
        logger.warn(
            LOG_TARGET,
            format_args!(
                "Removed untrusted headers ({}). Waitress recommends these be removed upstream.",
                removed.join(", ")
            ),
        );
    }
}
// ANCHOR_END: clear

// ANCHOR: addresses
/// An address (a host or a client) and its port, if it has one:
/// `192.0.2.1:80`, `example.com:80`, `[2001:db8::1]:80`, `[2001:db8::1]`,
/// or a bare `2001:db8::1`. Two colons or more without a `[` can only be an
/// IPv6 address without a port, so it is not split at its last colon.
/// (Waitress brackets such X-Forwarded-For hops for the same reason, but
/// also brackets `[2001:db8::1]:80`, which it then takes whole for the
/// address, and splits `::ffff:192.0.2.1` and bare IPv6 hosts.)
fn split_address(address: &str) -> (&str, Option<&str>) {
    let bare_ipv6 = !address.starts_with('[') && address.matches(':').count() > 1;
    if bare_ipv6 || address.ends_with(']') {
        return (address, None);
    }
    match address.rsplit_once(':') {
        Some((addr, port)) => (addr, Some(port)),
        None => (address, None),
    }
}

/// `[2001:db8::1]` → `2001:db8::1`; anything else unchanged.
fn strip_brackets(addr: &str) -> &str {
    addr.strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(addr)
}
// ANCHOR_END: addresses

/// Trims optional whitespace (RFC 9110's OWS: spaces and tabs).
fn trim_ows(text: &str) -> &str {
    text.trim_matches([' ', '\t'])
}

// ANCHOR: undquote
/// A value that starts or ends with `"` but is not one valid quoted-string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidQuoting;

impl fmt::Display for InvalidQuoting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Invalid quoting in value")
    }
}

impl std::error::Error for InvalidQuoting {}

/// Removes the quotes of an RFC 9110 quoted-string and unescapes its
/// quoted-pairs; a value that neither starts nor ends with `"` is returned
/// as it is. Waitress's `utilities.undquote`.
///
/// ```
/// use waitress::apps::proxy_headers::undquote;
///
/// assert_eq!(undquote("plain").unwrap(), "plain");
/// assert_eq!(undquote(r#""[2001:db8::1]:80""#).unwrap(), "[2001:db8::1]:80");
/// assert_eq!(undquote(r#""say \"hi\"""#).unwrap(), r#"say "hi""#);
/// assert!(undquote(r#""unterminated"#).is_err());
/// assert!(undquote(r#""two" "strings""#).is_err());
/// ```
pub fn undquote(value: &str) -> Result<String, InvalidQuoting> {
    let starts = value.starts_with('"');
    let ends = value.ends_with('"');
    if !starts && !ends {
        return Ok(value.to_string());
    }
    if !(starts && ends) || value.len() < 2 {
        return Err(InvalidQuoting);
    }
    let inside = &value[1..value.len() - 1];
    let mut unquoted = String::with_capacity(inside.len());
    let mut chars = inside.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped) if is_quoted_pair_char(escaped) => unquoted.push(escaped),
                _ => return Err(InvalidQuoting),
            },
            // A `"` before the end closes the string early: what follows
            // is outside any quoted-string.
            '"' => return Err(InvalidQuoting),
            c if is_qdtext(c) => unquoted.push(c),
            _ => return Err(InvalidQuoting),
        }
    }
    Ok(unquoted)
}

/// qdtext: HTAB, SP, VCHAR except `"` and `\`, obs-text (latin-1's upper half).
fn is_qdtext(c: char) -> bool {
    c != '"' && c != '\\' && is_quoted_pair_char(c)
}

/// What may follow `\` in a quoted-pair: HTAB, SP, VCHAR, obs-text.
fn is_quoted_pair_char(c: char) -> bool {
    matches!(c, '\t' | ' '..='~' | '\u{80}'..='\u{ff}')
}
// ANCHOR_END: undquote

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undquote_leaves_unquoted_values_alone() {
        assert_eq!(undquote("").unwrap(), "");
        assert_eq!(undquote("a b\\c").unwrap(), "a b\\c");
        assert_eq!(undquote("mid\"dle").unwrap(), "mid\"dle");
    }

    #[test]
    fn undquote_removes_quotes_and_unescapes_quoted_pairs() {
        assert_eq!(undquote("\"\"").unwrap(), "");
        assert_eq!(undquote("\"a,b;c\"").unwrap(), "a,b;c");
        assert_eq!(undquote(r#""\\""#).unwrap(), "\\");
        assert_eq!(undquote(r#""\a\ \"""#).unwrap(), "a \"");
        assert_eq!(undquote("\"tab\there\"").unwrap(), "tab\there");
        assert_eq!(undquote("\"caf\u{e9}\"").unwrap(), "caf\u{e9}");
    }

    #[test]
    fn undquote_refuses_half_quoted_and_broken_strings() {
        for bad in [
            "\"",
            "\"abc",
            "abc\"",
            r#""abc\""#,
            r#""a"b""#,
            "\"new\nline\"",
            "\"nul\0\"",
            "\"beyond latin-1 \u{100}\"",
            "\"del\u{7f}\"",
        ] {
            assert_eq!(undquote(bad), Err(InvalidQuoting), "{bad:?}");
        }
    }

    #[test]
    fn undquote_error_reads_like_waitress() {
        assert_eq!(InvalidQuoting.to_string(), "Invalid quoting in value");
    }

    #[test]
    fn strip_brackets_only_strips_a_pair() {
        assert_eq!(strip_brackets("[::1]"), "::1");
        assert_eq!(strip_brackets("[::1"), "[::1");
        assert_eq!(strip_brackets("["), "[");
        assert_eq!(strip_brackets("[]"), "");
        assert_eq!(strip_brackets("192.0.2.1"), "192.0.2.1");
    }

    #[test]
    fn addresses_split_at_the_port_only_when_there_is_one() {
        assert_eq!(split_address("192.0.2.1:80"), ("192.0.2.1", Some("80")));
        assert_eq!(split_address("192.0.2.1"), ("192.0.2.1", None));
        assert_eq!(split_address("2001:db8::1"), ("2001:db8::1", None));
        assert_eq!(
            split_address("::ffff:192.0.2.1"),
            ("::ffff:192.0.2.1", None)
        );
        assert_eq!(
            split_address("[2001:db8::1]:80"),
            ("[2001:db8::1]", Some("80"))
        );
        assert_eq!(split_address("[2001:db8::1]"), ("[2001:db8::1]", None));
        assert_eq!(split_address("proxy:80"), ("proxy", Some("80")));
        assert_eq!(split_address("example.com"), ("example.com", None));
        assert_eq!(split_address(""), ("", None));
    }

    #[test]
    fn every_setting_name_parses_back_to_its_header() {
        for header in ProxyHeader::ALL {
            let setting = header.name().to_ascii_lowercase();
            assert_eq!(ProxyHeader::from_setting(&setting), Some(header));
        }
        assert_eq!(ProxyHeader::from_setting("x-real-ip"), None);
    }
}
