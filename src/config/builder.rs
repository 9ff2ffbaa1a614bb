//! [`AdjustmentsBuilder`]: collects settings as text, from typed setters or
//! by name with [`set`](AdjustmentsBuilder::set). Nothing is checked here;
//! checking is [`build`](AdjustmentsBuilder::build), in `check.rs`.
//! [`Adjustments::builder`] and [`Adjustments::default`] start from here.
//! The flags' setter, [`args`](AdjustmentsBuilder::args), is in `flags.rs`.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::os::unix::net::UnixListener;

use super::error::ConfigError;
use super::options::option;
use super::{Adjustments, PreboundSocket};

impl Default for Adjustments {
    /// Waitress's defaults: `0.0.0.0:8080`, 4 threads, and so on.
    fn default() -> Adjustments {
        Adjustments::builder()
            .build()
            .expect("the defaults are valid")
    }
}

impl Adjustments {
    /// A builder with nothing set: every setting at its default.
    pub fn builder() -> AdjustmentsBuilder {
        AdjustmentsBuilder::default()
    }
}

/// Collects settings, then checks them all at once in [`build`](Self::build).
///
/// Typed setters are for Rust code; [`set`](Self::set) takes text, as the
/// command line and configuration files give it.
#[derive(Debug, Default)]
pub struct AdjustmentsBuilder {
    pub(super) settings: BTreeMap<&'static str, String>,
    pub(super) sockets: Vec<PreboundSocket>,
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, value: $ty) -> AdjustmentsBuilder {
                self.put(stringify!($name), value.to_string());
                self
            }
        )*
    };
}

impl AdjustmentsBuilder {
    /// Sets a setting from text, by its `snake_case` name. `listen` and
    /// `sockets` accumulate; every other key replaces its earlier value. The
    /// value is checked by [`build`](Self::build).
    ///
    /// ```
    /// use waitress::config::Adjustments;
    /// let builder = Adjustments::builder().set("ipv6", "no").unwrap();
    /// assert!(!builder.build().unwrap().ipv6);
    /// assert!(Adjustments::builder().set("thread", "4").is_err());
    /// ```
    pub fn set(mut self, key: &str, value: &str) -> Result<AdjustmentsBuilder, ConfigError> {
        let spec = option(key).ok_or_else(|| ConfigError::UnknownKey {
            key: key.to_string(),
        })?;
        self.put(spec.name, value.to_string());
        Ok(self)
    }

    /// Whether a setting has been given.
    pub fn is_set(&self, key: &str) -> bool {
        self.settings.contains_key(key) || (key == "sockets" && !self.sockets.is_empty())
    }

    /// Forgets a setting, so that its default applies again.
    pub fn unset(mut self, key: &str) -> AdjustmentsBuilder {
        self.settings.remove(key);
        if key == "sockets" {
            self.sockets.clear();
        }
        self
    }

    fn put(&mut self, key: &'static str, value: String) {
        match self.settings.get_mut(key) {
            Some(old) if matches!(key, "listen" | "sockets") => {
                old.push(' ');
                old.push_str(&value);
            }
            _ => {
                self.settings.insert(key, value);
            }
        }
    }

    setters! {
        /// Host name or IP address to listen on.
        host: &str;
        /// TCP port to listen on (0 picks a free one).
        port: u16;
        /// Adds `HOST:PORT` entries (space separated) to listen on.
        listen: &str;
        /// Use IPv4.
        ipv4: bool;
        /// Use IPv6.
        ipv6: bool;
        /// Worker threads.
        threads: usize;
        /// The peer allowed to send proxy headers (`*` for any).
        trusted_proxy: &str;
        /// How many proxies in a chain are trusted.
        trusted_proxy_count: usize;
        /// Proxy headers to trust, space separated.
        trusted_proxy_headers: &str;
        /// Log removed untrusted proxy headers.
        log_untrusted_proxy_headers: bool;
        /// Remove untrusted proxy headers.
        clear_untrusted_proxy_headers: bool;
        /// The default `wsgi.url_scheme`.
        url_scheme: &str;
        /// `SCRIPT_NAME` for every request.
        url_prefix: &str;
        /// The server's name; empty for none.
        ident: &str;
        /// The `listen(2)` backlog.
        backlog: u32;
        /// Set `SO_REUSEPORT` on TCP listeners (several processes, one port).
        reuse_port: bool;
        /// Bytes read at a time.
        recv_bytes: usize;
        /// Deprecated, no effect.
        send_bytes: usize;
        /// Output bytes in memory per buffer.
        outbuf_overflow: usize;
        /// Pending output that makes the application wait.
        outbuf_high_watermark: usize;
        /// Request body bytes in memory.
        inbuf_overflow: usize;
        /// Open connections at which accepting stops.
        connection_limit: usize;
        /// Seconds between idle sweeps.
        cleanup_interval: u64;
        /// Idle seconds before a connection closes.
        channel_timeout: u64;
        /// Seconds to receive a whole request head.
        request_header_timeout: u64;
        /// Seconds a graceful shutdown waits for requests in flight.
        shutdown_timeout: u64;
        /// Log socket errors.
        log_socket_errors: bool;
        /// Largest request header section.
        max_request_header_size: usize;
        /// Largest request body.
        max_request_body_size: u64;
        /// Error text in 500 responses.
        expose_tracebacks: bool;
        /// Ignored (the I/O thread never wakes on a timer).
        asyncore_loop_timeout: u64;
        /// Ignored (never `select()`).
        asyncore_use_poll: bool;
        /// Requests read ahead per connection.
        channel_request_lookahead: usize;
        /// `SERVER_NAME`.
        server_name: &str;
    }

    /// Listen on a Unix domain socket at this path instead of TCP. A `host`,
    /// `port` or `listen` set before is dropped, as the `--unix-socket` flag
    /// drops them: the last address given wins.
    ///
    /// ```
    /// use waitress::config::Adjustments;
    /// let adj = Adjustments::builder()
    ///     .host("127.0.0.1")
    ///     .port(8080)
    ///     .unix_socket("/run/app.sock")
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(adj.unix_socket.as_deref(), Some(std::path::Path::new("/run/app.sock")));
    /// assert!(adj.listen.is_empty());
    /// ```
    pub fn unix_socket(self, path: &str) -> AdjustmentsBuilder {
        let mut builder = self.unset("host").unset("port").unset("listen");
        builder.put("unix_socket", path.to_string());
        builder
    }

    /// The Unix socket's permissions, e.g. `0o660`.
    pub fn unix_socket_perms(mut self, perms: u32) -> AdjustmentsBuilder {
        self.put("unix_socket_perms", format!("{perms:o}"));
        self
    }

    /// Adds an already-bound TCP listener to serve.
    pub fn tcp_socket(mut self, listener: TcpListener) -> AdjustmentsBuilder {
        self.sockets.push(PreboundSocket::Tcp(listener));
        self
    }

    /// Adds an already-bound Unix domain socket listener to serve.
    pub fn unix_listener(mut self, listener: UnixListener) -> AdjustmentsBuilder {
        self.sockets.push(PreboundSocket::Unix(listener));
        self
    }
}
