//! The middleware's settings and what it does with them: [`ProxyHeader`]
//! (the six headers), [`ProxyConfig`] (whom to trust, for which headers),
//! and [`ProxyConfig::apply`], which rewrites an environ from a trusted peer
//! and clears the untrusted headers.
//!
//! Apart from the middleware because this is the decision (who is believed,
//! what is removed); the middleware only wraps it around an application.
#![forbid(unsafe_code)]

use std::collections::BTreeSet;

use super::forwarded::{read_forwarded, read_x_forwarded};
use super::header::ProxyHeader;
use super::{LOG_TARGET, MalformedProxyHeader};
use crate::config::Adjustments;
use crate::gateway::Environ;
use crate::logging::Logger;

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
    // ANCHOR: apply_fn
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
    // ANCHOR_END: apply_fn

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_name_parses_back_to_its_header() {
        for header in ProxyHeader::ALL {
            let setting = header.name().to_ascii_lowercase();
            assert_eq!(ProxyHeader::from_setting(&setting), Some(header));
        }
        assert_eq!(ProxyHeader::from_setting("x-real-ip"), None);
    }
}
