//! [`AdjustmentsBuilder::build`]: parses every value, checks the conflicts
//! between keys, resolves the listen addresses, and makes the
//! [`Adjustments`](super::Adjustments).
#![forbid(unsafe_code)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::builder::AdjustmentsBuilder;
use super::error::ConfigError;
use super::listen::{join_host_port, resolve_listen};
use super::options::{KNOWN_PROXY_HEADERS, option};
use super::values::{parse_bool, parse_number, parse_octal, slash_fixed, split_list};
use super::{Adjustments, PreboundSocket};

// ANCHOR: check_setting
/// Checks one setting's value on its own, as [`build`](AdjustmentsBuilder::build)
/// would, leaving out the rules between keys (those are checked when
/// everything is built). `waitress-serve` uses it to report a bad value in
/// a configuration file at its line, even when a flag replaces it.
///
/// ```
/// use waitress::config::check_setting;
/// assert!(check_setting("threads", "8").is_ok());
/// assert!(check_setting("threads", "none").is_err());
/// assert!(check_setting("trusted_proxy_count", "2").is_ok()); // needs trusted_proxy, later
/// assert!(check_setting("thread", "8").is_err());
/// ```
pub fn check_setting(key: &str, value: &str) -> Result<(), ConfigError> {
    let mut builder = Adjustments::builder().set(key, value)?;
    if matches!(key, "trusted_proxy_count" | "trusted_proxy_headers") {
        builder = builder.set("trusted_proxy", "*")?;
    }
    match builder.build() {
        Err(error @ ConfigError::InvalidValue { .. }) if error_key(&error) == Some(key) => {
            Err(error)
        }
        _ => Ok(()),
    }
}
// ANCHOR_END: check_setting

fn error_key(error: &ConfigError) -> Option<&str> {
    match error {
        ConfigError::InvalidValue { key, .. } => Some(key),
        _ => None,
    }
}

impl AdjustmentsBuilder {
    /// Parses and checks every setting, resolves the listen addresses, and
    /// returns the adjustments or the first problem found.
    pub fn build(self) -> Result<Adjustments, ConfigError> {
        let sockets_given = !self.sockets.is_empty();
        let given =
            |key: &str| self.settings.contains_key(key) || (key == "sockets" && sockets_given);
        let conflicts = [
            (
                "listen",
                "host",
                "host or port may not be set if listen is set",
            ),
            (
                "listen",
                "port",
                "host or port may not be set if listen is set",
            ),
            (
                "listen",
                "sockets",
                "sockets may not be set if listen is set",
            ),
            (
                "sockets",
                "host",
                "host or port may not be set if sockets is set",
            ),
            (
                "sockets",
                "port",
                "host or port may not be set if sockets is set",
            ),
            (
                "sockets",
                "unix_socket",
                "unix_socket may not be set if sockets is set",
            ),
            (
                "unix_socket",
                "host",
                "unix_socket may not be set if host or port is set",
            ),
            (
                "unix_socket",
                "port",
                "unix_socket may not be set if host or port is set",
            ),
            (
                "unix_socket",
                "listen",
                "unix_socket may not be set if listen is set",
            ),
        ];
        // ANCHOR: build_checks
        for (a, b, message) in conflicts {
            if given(a) && given(b) {
                return Err(ConfigError::conflict(message));
            }
        }
        let text = |key: &'static str| -> String {
            self.settings.get(key).cloned().unwrap_or_else(|| {
                option(key)
                    .map(|s| s.default.to_string())
                    .unwrap_or_default()
            })
        };
        let number = |key: &'static str, min: u64| parse_number(key, &text(key), min);
        let boolean = |key: &'static str| parse_bool(key, &text(key));
        // ANCHOR_END: build_checks

        let mut warnings = Vec::new();
        if given("send_bytes") {
            warnings.push("send_bytes is deprecated and has no effect".to_string());
        }
        let ipv4 = boolean("ipv4")?;
        let ipv6 = boolean("ipv6")?;
        if !ipv4 && !ipv6 {
            return Err(ConfigError::conflict(
                "ipv4 and ipv6 are both disabled: at least one must be enabled",
            ));
        }
        let host = text("host").trim().to_string();
        let port = u16::try_from(number("port", 0)?).map_err(|_| {
            ConfigError::invalid(
                "port",
                &text("port"),
                "expected a port number from 0 to 65535",
            )
        })?;
        let unix_socket = self
            .settings
            .get("unix_socket")
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .map(PathBuf::from);
        let unix_socket_perms = parse_octal("unix_socket_perms", &text("unix_socket_perms"))?;

        let mut sockets = self.sockets;
        if let Some(fds) = self.settings.get("sockets") {
            for fd in split_list(fds) {
                let number = parse_number("sockets", fd, 0)?;
                let fd = i32::try_from(number).map_err(|_| {
                    ConfigError::invalid("sockets", fd, "expected file descriptor numbers")
                })?;
                sockets.push(PreboundSocket::Fd(fd));
            }
        }
        let has_tcp = sockets.iter().any(|s| matches!(s, PreboundSocket::Tcp(_)));
        let has_unix = sockets.iter().any(|s| matches!(s, PreboundSocket::Unix(_)));
        if has_tcp && has_unix {
            return Err(ConfigError::conflict(
                "Internet and UNIX sockets may not be mixed",
            ));
        }

        // The listen entries: given, or made from host and port.
        let listen = if unix_socket.is_some() || !sockets.is_empty() {
            Vec::new()
        } else {
            let entries = match self.settings.get("listen") {
                Some(listen) => listen.clone(),
                None if given("host") || given("port") => join_host_port(&host, port),
                None => option("listen")
                    .map(|s| s.default.to_string())
                    .unwrap_or_default(),
            };
            resolve_listen(&entries, port, ipv4, ipv6)?
        };

        let trusted_proxy = self
            .settings
            .get("trusted_proxy")
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        if given("trusted_proxy_count") && trusted_proxy.is_none() {
            return Err(ConfigError::conflict(
                "trusted_proxy_count has no meaning without setting trusted_proxy",
            ));
        }
        let trusted_proxy_count = number("trusted_proxy_count", 1)? as usize;
        let mut trusted_proxy_headers: BTreeSet<String> =
            split_list(&text("trusted_proxy_headers"))
                .flat_map(|h| h.split(','))
                .filter(|h| !h.is_empty())
                .map(str::to_ascii_lowercase)
                .collect();
        if !trusted_proxy_headers.is_empty() {
            if trusted_proxy.is_none() {
                return Err(ConfigError::conflict(
                    "trusted_proxy_headers has no meaning without setting trusted_proxy",
                ));
            }
            if let Some(unknown) = trusted_proxy_headers
                .iter()
                .find(|h| !KNOWN_PROXY_HEADERS.contains(&h.as_str()))
            {
                return Err(ConfigError::invalid(
                    "trusted_proxy_headers",
                    unknown,
                    format!("expected some of {}", KNOWN_PROXY_HEADERS.join(", ")),
                ));
            }
            if trusted_proxy_headers.contains("forwarded") && trusted_proxy_headers.len() > 1 {
                return Err(ConfigError::conflict(
                    "The Forwarded proxy header and the X-Forwarded-{By,Host,Proto,Port,For} \
                     headers are mutually exclusive. Can't trust both!",
                ));
            }
        } else if trusted_proxy.is_some() {
            warnings.push(
                "No proxy headers were marked as trusted, but trusted_proxy was set. \
                 Implicitly trusting X-Forwarded-Proto for backwards compatibility. \
                 This will be removed in future versions of waitress."
                    .to_string(),
            );
            trusted_proxy_headers.insert("x-forwarded-proto".to_string());
        }

        // ANCHOR: build_scheme
        let url_scheme = text("url_scheme").trim().to_ascii_lowercase();
        if url_scheme != "http" && url_scheme != "https" {
            return Err(ConfigError::invalid(
                "url_scheme",
                &text("url_scheme"),
                "expected http or https",
            ));
        }
        let ident = Some(text("ident")).filter(|i| !i.trim().is_empty());
        if let Some(bad) = ident
            .as_deref()
            .filter(|i| i.chars().any(|c| c.is_control()))
        {
            return Err(ConfigError::invalid(
                "ident",
                bad,
                "expected text without control characters",
            ));
        }
        // ANCHOR_END: build_scheme
        let backlog = u32::try_from(number("backlog", 0)?)
            .ok()
            .filter(|b| i32::try_from(*b).is_ok())
            .ok_or_else(|| {
                ConfigError::invalid("backlog", &text("backlog"), "expected a number below 2^31")
            })?;
        let reuse_port = boolean("reuse_port")?;
        if reuse_port {
            if unix_socket.is_some() || !sockets.is_empty() {
                return Err(ConfigError::conflict(
                    "reuse_port applies to the TCP addresses the server binds, \
                     not to unix_socket or sockets",
                ));
            }
            if !crate::io::sys::REUSE_PORT_SUPPORTED {
                return Err(ConfigError::invalid(
                    "reuse_port",
                    &text("reuse_port"),
                    "this platform has no SO_REUSEPORT",
                ));
            }
        }
        let usize_number = |key: &'static str, min: u64| -> Result<usize, ConfigError> {
            usize::try_from(number(key, min)?)
                .map_err(|_| ConfigError::invalid(key, &text(key), "too large for this machine"))
        };

        Ok(Adjustments {
            host,
            port,
            listen,
            ipv4,
            ipv6,
            unix_socket,
            unix_socket_perms,
            sockets,
            threads: usize_number("threads", 1)?,
            trusted_proxy,
            trusted_proxy_count,
            trusted_proxy_headers,
            log_untrusted_proxy_headers: boolean("log_untrusted_proxy_headers")?,
            clear_untrusted_proxy_headers: boolean("clear_untrusted_proxy_headers")?,
            url_scheme,
            url_prefix: slash_fixed(&text("url_prefix")),
            ident,
            backlog,
            reuse_port,
            recv_bytes: usize_number("recv_bytes", 1)?,
            send_bytes: usize_number("send_bytes", 0)?,
            outbuf_overflow: usize_number("outbuf_overflow", 1)?,
            outbuf_high_watermark: usize_number("outbuf_high_watermark", 1)?,
            inbuf_overflow: usize_number("inbuf_overflow", 1)?,
            connection_limit: usize_number("connection_limit", 1)?,
            cleanup_interval: number("cleanup_interval", 1)?,
            channel_timeout: number("channel_timeout", 1)?,
            request_header_timeout: number("request_header_timeout", 1)?,
            shutdown_timeout: number("shutdown_timeout", 0)?,
            log_socket_errors: boolean("log_socket_errors")?,
            max_request_header_size: usize_number("max_request_header_size", 1)?,
            max_request_body_size: number("max_request_body_size", 1)?,
            expose_tracebacks: boolean("expose_tracebacks")?,
            asyncore_loop_timeout: number("asyncore_loop_timeout", 1)?,
            asyncore_use_poll: boolean("asyncore_use_poll")?,
            channel_request_lookahead: usize_number("channel_request_lookahead", 0)?,
            server_name: text("server_name").trim().to_string(),
            warnings,
        })
    }
}
