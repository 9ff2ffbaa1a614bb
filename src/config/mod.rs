//! Adjustments: every setting of the server, with Waitress's names, defaults
//! and rules.
//!
//! Settings arrive three ways, and all three go through one path, so they
//! are checked the same way:
//!
//! * Rust code: [`Adjustments::builder`] with typed setters;
//! * the command line: `--kebab-case=value` flags (see [`crate::cli`]);
//! * an ini file with a `[server:main]` section, PasteDeploy's shape
//!   ([`parse_ini`]).
//!
//! Each way produces `(key, text)` settings; [`AdjustmentsBuilder::build`]
//! parses every value, checks the conflicts between keys and resolves the
//! listen addresses. A bad value is an error that names the key and the value;
//! an unknown key is an error.
//!
//! ```
//! use waitress::config::Adjustments;
//!
//! let adj = Adjustments::builder()
//!     .listen("127.0.0.1:0")
//!     .threads(8)
//!     .url_prefix("app/")
//!     .build()
//!     .unwrap();
//! assert_eq!(adj.threads, 8);
//! assert_eq!(adj.url_prefix, "/app");
//! assert_eq!(adj.listen[0].to_string(), "127.0.0.1:0");
//!
//! let error = Adjustments::builder().set("threads", "many").unwrap().build().unwrap_err();
//! assert_eq!(error.to_string(), "invalid value for threads: \"many\" (expected a whole number of at least 1)");
//! ```
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;

/// What kind of value a setting takes; it decides how the text is parsed and
/// how the command line spells the flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Any text.
    Text,
    /// A whole number.
    Number,
    /// `t`, `true`, `y`, `yes`, `on`, `1` or `f`, `false`, `n`, `no`, `off`, `0`
    /// (any case). On the command line, `--name` and `--no-name`.
    Boolean,
    /// Several values separated by spaces, newlines (or commas, for
    /// `trusted_proxy_headers`). `listen` accumulates when repeated.
    List,
    /// An octal number, e.g. `600`.
    Octal,
}

/// One setting: its name (as in Waitress), kind, default and description.
#[derive(Clone, Copy, Debug)]
pub struct OptionSpec {
    /// The name, `snake_case` (the ini key; the flag is the `kebab-case` form).
    pub name: &'static str,
    /// What kind of value it takes.
    pub kind: Kind,
    /// The default, as text.
    pub default: &'static str,
    /// What it does.
    pub help: &'static str,
}

impl OptionSpec {
    /// The command-line flag: `--name-with-dashes`.
    pub fn flag(&self) -> String {
        format!("--{}", self.name.replace('_', "-"))
    }
}

// ANCHOR: options
/// Every setting, in the order `waitress-serve --help` lists them.
pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec {
        name: "host",
        kind: Kind::Text,
        default: "0.0.0.0",
        help: "Host name or IP address to listen on (\"0.0.0.0\" is every IPv4 address of this host). Not with listen, unix_socket or sockets.",
    },
    OptionSpec {
        name: "port",
        kind: Kind::Number,
        default: "8080",
        help: "TCP port to listen on (0 picks a free one). Not with listen, unix_socket or sockets.",
    },
    OptionSpec {
        name: "listen",
        kind: Kind::List,
        default: "0.0.0.0:8080",
        help: "HOST:PORT to listen on, several allowed: 127.0.0.1:8080, [::1]:8080, *:8080 (every enabled family), or HOST alone (uses port). Repeat the flag for more.",
    },
    OptionSpec {
        name: "ipv4",
        kind: Kind::Boolean,
        default: "true",
        help: "Use IPv4 addresses when resolving listen entries and wildcards.",
    },
    OptionSpec {
        name: "ipv6",
        kind: Kind::Boolean,
        default: "true",
        help: "Use IPv6 addresses when resolving listen entries and wildcards (IPv6 sockets are IPv6-only).",
    },
    OptionSpec {
        name: "unix_socket",
        kind: Kind::Text,
        default: "",
        help: "Path of a Unix domain socket to listen on instead of TCP. Not with host, port, listen or sockets.",
    },
    OptionSpec {
        name: "unix_socket_perms",
        kind: Kind::Octal,
        default: "600",
        help: "Octal file permissions of the Unix socket.",
    },
    OptionSpec {
        name: "sockets",
        kind: Kind::List,
        default: "",
        help: "Already-bound listening sockets to serve. In Rust: TcpListener or UnixListener values; on the command line and in files: file descriptor numbers. Not with host, port, listen or unix_socket.",
    },
    OptionSpec {
        name: "threads",
        kind: Kind::Number,
        default: "4",
        help: "Worker threads that run the application.",
    },
    OptionSpec {
        name: "trusted_proxy",
        kind: Kind::Text,
        default: "",
        help: "Address of the peer allowed to override the environ with proxy headers; \"*\" trusts every peer, \"localhost\" a Unix socket peer.",
    },
    OptionSpec {
        name: "trusted_proxy_count",
        kind: Kind::Number,
        default: "1",
        help: "How many proxies in a chain are trusted (the last N hops). Needs trusted_proxy.",
    },
    OptionSpec {
        name: "trusted_proxy_headers",
        kind: Kind::List,
        default: "",
        help: "Proxy headers to trust: \"forwarded\", or any of x-forwarded-for, x-forwarded-host, x-forwarded-proto, x-forwarded-port, x-forwarded-by. Needs trusted_proxy (which alone implies x-forwarded-proto, deprecated).",
    },
    OptionSpec {
        name: "log_untrusted_proxy_headers",
        kind: Kind::Boolean,
        default: "false",
        help: "Log a warning when untrusted proxy headers are removed.",
    },
    OptionSpec {
        name: "clear_untrusted_proxy_headers",
        kind: Kind::Boolean,
        default: "true",
        help: "Remove proxy headers (Forwarded, X-Forwarded-*) that are not trusted, so the application never sees spoofed ones.",
    },
    OptionSpec {
        name: "url_scheme",
        kind: Kind::Text,
        default: "http",
        help: "wsgi.url_scheme when no trusted proxy says otherwise: http or https.",
    },
    OptionSpec {
        name: "url_prefix",
        kind: Kind::Text,
        default: "",
        help: "SCRIPT_NAME of every request; removed from the front of PATH_INFO. Slashes are fixed: \"app/\" becomes \"/app\".",
    },
    OptionSpec {
        name: "ident",
        kind: Kind::Text,
        default: "waitress",
        help: "The Server header, SERVER_SOFTWARE and the signature of error pages; empty for none.",
    },
    OptionSpec {
        name: "backlog",
        kind: Kind::Number,
        default: "1024",
        help: "Length of the kernel's queue of connections waiting to be accepted (listen(2)).",
    },
    OptionSpec {
        name: "recv_bytes",
        kind: Kind::Number,
        default: "8192",
        help: "Bytes read from a socket at a time.",
    },
    OptionSpec {
        name: "send_bytes",
        kind: Kind::Number,
        default: "1",
        help: "Deprecated and without effect, as in Waitress: output is sent as soon as there is any.",
    },
    OptionSpec {
        name: "outbuf_overflow",
        kind: Kind::Number,
        default: "1048576",
        help: "Response bytes kept in memory per buffer before it spills to a temporary file.",
    },
    OptionSpec {
        name: "outbuf_high_watermark",
        kind: Kind::Number,
        default: "16777216",
        help: "Pending response bytes above which the application's thread waits for the client to read (backpressure).",
    },
    OptionSpec {
        name: "inbuf_overflow",
        kind: Kind::Number,
        default: "524288",
        help: "Request body bytes kept in memory before the body spills to a temporary file.",
    },
    OptionSpec {
        name: "connection_limit",
        kind: Kind::Number,
        default: "100",
        help: "Open connections at which the server stops accepting; more clients wait in the backlog.",
    },
    OptionSpec {
        name: "cleanup_interval",
        kind: Kind::Number,
        default: "30",
        help: "Seconds between sweeps for idle connections.",
    },
    OptionSpec {
        name: "channel_timeout",
        kind: Kind::Number,
        default: "120",
        help: "Seconds of inactivity after which a connection with no request in service is closed; also closes a connection whose pending response the client has not read from for this long.",
    },
    OptionSpec {
        name: "request_header_timeout",
        kind: Kind::Number,
        default: "30",
        help: "Seconds a client may take to send a whole request head, from its first byte; then 408 and close.",
    },
    OptionSpec {
        name: "shutdown_timeout",
        kind: Kind::Number,
        default: "30",
        help: "Seconds a graceful shutdown waits for requests in flight before it closes their connections (0: none). A second SIGINT or SIGTERM stops waiting at once.",
    },
    OptionSpec {
        name: "log_socket_errors",
        kind: Kind::Boolean,
        default: "true",
        help: "Log errors on client sockets (resets, broken pipes).",
    },
    OptionSpec {
        name: "max_request_header_size",
        kind: Kind::Number,
        default: "262144",
        help: "Largest request line plus header section, in bytes (431 at or above it).",
    },
    OptionSpec {
        name: "max_request_body_size",
        kind: Kind::Number,
        default: "1073741824",
        help: "Largest request body, in bytes (413 at or above it).",
    },
    OptionSpec {
        name: "expose_tracebacks",
        kind: Kind::Boolean,
        default: "false",
        help: "Put the application's error text in the body of 500 responses (for development only).",
    },
    OptionSpec {
        name: "asyncore_loop_timeout",
        kind: Kind::Number,
        default: "1",
        help: "Accepted for compatibility and ignored: the I/O thread sleeps until a socket is ready, it is woken, or the next idle sweep is due, so it never polls on a timer.",
    },
    OptionSpec {
        name: "asyncore_use_poll",
        kind: Kind::Boolean,
        default: "false",
        help: "Accepted for compatibility and ignored: this server always uses poll(2), so there is no select() limit of 1024 descriptors.",
    },
    OptionSpec {
        name: "channel_request_lookahead",
        kind: Kind::Number,
        default: "0",
        help: "Requests a connection may read ahead while one is in service; above 0 it also lets waitress.client_disconnected notice a client that left.",
    },
    OptionSpec {
        name: "server_name",
        kind: Kind::Text,
        default: "waitress.invalid",
        help: "SERVER_NAME of every request (the Host header is HTTP_HOST).",
    },
];
// ANCHOR_END: options

/// The proxy headers `trusted_proxy_headers` may name.
pub const KNOWN_PROXY_HEADERS: [&str; 6] = [
    "forwarded",
    "x-forwarded-by",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-port",
    "x-forwarded-proto",
];

/// Looks a setting up by its `snake_case` name.
///
/// ```
/// use waitress::config::{option, Kind};
/// assert_eq!(option("threads").unwrap().default, "4");
/// assert_eq!(option("ipv6").unwrap().kind, Kind::Boolean);
/// assert!(option("nope").is_none());
/// ```
pub fn option(name: &str) -> Option<&'static OptionSpec> {
    OPTIONS.iter().find(|spec| spec.name == name)
}

/// A bad setting: which key, which value, and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// The key is not a setting.
    UnknownKey {
        /// The key as given.
        key: String,
    },
    /// The value cannot be used for this key.
    InvalidValue {
        /// The setting.
        key: String,
        /// The value as given.
        value: String,
        /// What would have been accepted.
        expected: String,
    },
    /// Two settings that cannot be used together, or one that needs another.
    Conflict {
        /// What conflicts with what.
        message: String,
    },
    /// A line of a configuration file that is not `key = value`.
    Syntax {
        /// The line number, from 1.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
}

impl ConfigError {
    fn invalid(key: &str, value: &str, expected: impl Into<String>) -> ConfigError {
        ConfigError::InvalidValue {
            key: key.to_string(),
            value: value.to_string(),
            expected: expected.into(),
        }
    }

    fn conflict(message: impl Into<String>) -> ConfigError {
        ConfigError::Conflict {
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::UnknownKey { key } => write!(f, "unknown adjustment {key:?}"),
            ConfigError::InvalidValue {
                key,
                value,
                expected,
            } => write!(f, "invalid value for {key}: {value:?} ({expected})"),
            ConfigError::Conflict { message } => f.write_str(message),
            ConfigError::Syntax { line, message } => write!(f, "line {line}: {message}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// A listening socket that was bound before the server started (the
/// `sockets` adjustment).
#[derive(Debug)]
pub enum PreboundSocket {
    /// A bound TCP listener.
    Tcp(TcpListener),
    /// A bound Unix domain socket listener.
    Unix(UnixListener),
    /// An inherited file descriptor (from the command line or a file); the
    /// server checks its kind when it adopts it.
    Fd(i32),
}

// ANCHOR: adjustments
/// Every setting, parsed and checked. Build it with [`Adjustments::builder`],
/// or take [`Adjustments::default`].
///
/// The fields are public for reading; change settings through the builder,
/// which checks them.
#[derive(Debug)]
#[non_exhaustive]
pub struct Adjustments {
    /// The host the default listen address is made from.
    pub host: String,
    /// The port the default listen address, and listen entries without a port, use.
    pub port: u16,
    /// The TCP addresses to listen on, resolved. Empty when `unix_socket` or
    /// `sockets` is used instead.
    pub listen: Vec<SocketAddr>,
    /// Whether IPv4 addresses are used.
    pub ipv4: bool,
    /// Whether IPv6 addresses are used.
    pub ipv6: bool,
    /// A Unix domain socket to listen on.
    pub unix_socket: Option<PathBuf>,
    /// The Unix socket's permissions, e.g. `0o600`.
    pub unix_socket_perms: u32,
    /// Already-bound listening sockets.
    pub sockets: Vec<PreboundSocket>,
    /// Worker threads.
    pub threads: usize,
    /// The peer allowed to send proxy headers.
    pub trusted_proxy: Option<String>,
    /// How many proxies in a chain are trusted.
    pub trusted_proxy_count: usize,
    /// Which proxy headers are trusted (lower case).
    pub trusted_proxy_headers: BTreeSet<String>,
    /// Log when untrusted proxy headers are removed.
    pub log_untrusted_proxy_headers: bool,
    /// Remove untrusted proxy headers from the environ.
    pub clear_untrusted_proxy_headers: bool,
    /// The default `wsgi.url_scheme`.
    pub url_scheme: String,
    /// `SCRIPT_NAME`: `""` or `/prefix` without a trailing slash.
    pub url_prefix: String,
    /// The server's name in `Server`, `SERVER_SOFTWARE` and error pages.
    pub ident: Option<String>,
    /// The `listen(2)` backlog.
    pub backlog: u32,
    /// Bytes read from a socket at a time.
    pub recv_bytes: usize,
    /// Deprecated; kept so that configurations that set it still load.
    pub send_bytes: usize,
    /// Bytes per output buffer before it spills to a file.
    pub outbuf_overflow: usize,
    /// Pending output above which the application waits.
    pub outbuf_high_watermark: usize,
    /// Request body bytes kept in memory.
    pub inbuf_overflow: usize,
    /// Open connections at which accepting stops.
    pub connection_limit: usize,
    /// Seconds between idle sweeps.
    pub cleanup_interval: u64,
    /// Idle seconds before a connection is closed; also the longest a
    /// pending response may wait for the client to read.
    pub channel_timeout: u64,
    /// Seconds from the first byte of a request head to its end: a client
    /// that takes longer gets `408` and the connection closes (slowloris).
    pub request_header_timeout: u64,
    /// Seconds a graceful shutdown waits for requests in flight (the
    /// loop's drain and the worker threads together) before it gives up.
    ///
    /// ```
    /// use waitress::config::Adjustments;
    /// assert_eq!(Adjustments::default().shutdown_timeout, 30);
    /// let adj = Adjustments::builder().shutdown_timeout(5).build().unwrap();
    /// assert_eq!(adj.shutdown_timeout, 5);
    /// ```
    pub shutdown_timeout: u64,
    /// Log errors on client sockets.
    pub log_socket_errors: bool,
    /// Largest request line plus headers.
    pub max_request_header_size: usize,
    /// Largest request body.
    pub max_request_body_size: u64,
    /// Show application errors in 500 responses.
    pub expose_tracebacks: bool,
    /// Accepted and ignored: the I/O thread never wakes on a timer.
    pub asyncore_loop_timeout: u64,
    /// Accepted and ignored: `poll(2)` is always used.
    pub asyncore_use_poll: bool,
    /// Requests a connection may read ahead.
    pub channel_request_lookahead: usize,
    /// `SERVER_NAME`.
    pub server_name: String,
    /// Warnings about the configuration (deprecated settings), for the
    /// server to log when it starts.
    pub warnings: Vec<String>,
}
// ANCHOR_END: adjustments

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
    settings: BTreeMap<&'static str, String>,
    sockets: Vec<PreboundSocket>,
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

    /// Applies command-line flags (`--port=9000`, `--threads 8`, `--no-ipv6`,
    /// …) over what is already set, as `waitress-serve` spells them. When the
    /// flags give an address (`--listen`, `--host`, `--port`, `--unix-socket`,
    /// `--sockets`), the address set in code is dropped, so the two cannot
    /// conflict. `--help` returns the help text as the error.
    ///
    /// ```
    /// use waitress::config::Adjustments;
    /// let args = ["--port=9000", "--threads", "2"].map(String::from);
    /// let adj = Adjustments::builder().host("127.0.0.1").port(8080).args(args).unwrap().build().unwrap();
    /// assert_eq!(adj.listen[0].to_string(), "127.0.0.1:9000");
    /// assert_eq!(adj.threads, 2);
    /// ```
    pub fn args<I>(mut self, args: I) -> Result<AdjustmentsBuilder, String>
    where
        I: IntoIterator<Item = String>,
    {
        use crate::cli::{Command, help_text, parse_args};
        let settings = match parse_args(args).map_err(|e| e.to_string())? {
            Command::Serve(cmdline) => cmdline.settings,
            Command::Help => return Err(help_text()),
            Command::Version => return Err(format!("waitress {}", env!("CARGO_PKG_VERSION"))),
        };
        const ADDRESS_KEYS: [&str; 5] = ["host", "port", "listen", "unix_socket", "sockets"];
        let flags_give_address = settings
            .iter()
            .any(|(key, _)| ADDRESS_KEYS.contains(&key.as_str()));
        if flags_give_address {
            for key in ADDRESS_KEYS {
                // A host set in code still applies to a --port given alone.
                let keep_host = key == "host"
                    && !settings
                        .iter()
                        .any(|(k, _)| k != "port" && ADDRESS_KEYS.contains(&k.as_str()));
                if !keep_host {
                    self = self.unset(key);
                }
            }
        }
        for (key, value) in &settings {
            self = self.set(key, value).map_err(|e| e.to_string())?;
        }
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
        /// Listen on a Unix domain socket at this path.
        unix_socket: &str;
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
        /// Ignored (always `poll(2)`).
        asyncore_use_poll: bool;
        /// Requests read ahead per connection.
        channel_request_lookahead: usize;
        /// `SERVER_NAME`.
        server_name: &str;
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

    // ANCHOR: build
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
        let backlog = u32::try_from(number("backlog", 0)?)
            .ok()
            .filter(|b| i32::try_from(*b).is_ok())
            .ok_or_else(|| {
                ConfigError::invalid("backlog", &text("backlog"), "expected a number below 2^31")
            })?;
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
    // ANCHOR_END: build
}

fn split_list(text: &str) -> impl Iterator<Item = &str> {
    text.split_whitespace()
}

/// `host:port`, with brackets around an IPv6 address.
fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// A whole number, at least `min`; only ASCII digits (surrounding spaces are
/// trimmed, as a file's values may carry them).
fn parse_number(key: &str, value: &str, min: u64) -> Result<u64, ConfigError> {
    let expected = || {
        if min == 0 {
            "expected a whole number".to_string()
        } else {
            format!("expected a whole number of at least {min}")
        }
    };
    crate::http::grammar::parse_decimal(value.trim())
        .filter(|n| *n >= min)
        .ok_or_else(|| ConfigError::invalid(key, value, expected()))
}

/// Waitress's `asbool`, stricter: text that is neither true nor false is an
/// error rather than silently false.
fn parse_bool(key: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "t" | "true" | "y" | "yes" | "on" | "1" => Ok(true),
        "f" | "false" | "n" | "no" | "off" | "0" => Ok(false),
        _ => Err(ConfigError::invalid(
            key,
            value,
            "expected true/false, yes/no, on/off or 1/0",
        )),
    }
}

fn parse_octal(key: &str, value: &str) -> Result<u32, ConfigError> {
    let digits = value.trim();
    let digits = digits.strip_prefix("0o").unwrap_or(digits);
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b))
    {
        return Err(ConfigError::invalid(
            key,
            value,
            "expected octal permissions such as 600",
        ));
    }
    u32::from_str_radix(digits, 8)
        .ok()
        .filter(|perms| *perms <= 0o7777)
        .ok_or_else(|| ConfigError::invalid(key, value, "expected octal permissions such as 600"))
}

/// One leading slash, no trailing slash: `"app/"` → `"/app"`, `""` stays `""`.
fn slash_fixed(prefix: &str) -> String {
    let trimmed = prefix.trim().trim_matches('/');
    if prefix.trim().is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    }
}

// ANCHOR: resolve_listen
/// Resolves `listen` entries to socket addresses: `HOST:PORT`, `[V6]:PORT`,
/// `*:PORT` (every enabled family) or `HOST` (with `default_port`), keeping
/// only enabled families and dropping duplicates.
fn resolve_listen(
    entries: &str,
    default_port: u16,
    ipv4: bool,
    ipv6: bool,
) -> Result<Vec<SocketAddr>, ConfigError> {
    let mut addresses: Vec<SocketAddr> = Vec::new();
    for entry in split_list(entries) {
        let invalid = |expected: &str| ConfigError::invalid("listen", entry, expected);
        // `[::1]` and `::1` alone have colons but no port: the colon found
        // last belongs to the address.
        let port_follows = |host: &str, port: &str| {
            let bare_ipv6 = host.contains(':') && !host.starts_with('[');
            !port.contains(']') && !bare_ipv6
        };
        let (host, port) = match entry.rsplit_once(':') {
            Some((host, port)) if port_follows(host, port) => {
                let port = crate::http::grammar::parse_decimal(port)
                    .and_then(|p| u16::try_from(p).ok())
                    .ok_or_else(|| {
                        invalid("expected HOST:PORT with a port number from 0 to 65535")
                    })?;
                (host, port)
            }
            _ => (entry, default_port),
        };
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if host.is_empty() {
            return Err(invalid("expected HOST:PORT; use *:PORT for every address"));
        }
        let candidates: Vec<SocketAddr> = if host == "*" {
            vec![
                SocketAddr::from(([0, 0, 0, 0], port)),
                SocketAddr::from(([0u16; 8], port)),
            ]
        } else {
            (host, port)
                .to_socket_addrs()
                .map_err(|e| invalid(&format!("cannot resolve the host: {e}")))?
                .collect()
        };
        let before = addresses.len();
        for address in candidates {
            let enabled = if address.is_ipv4() { ipv4 } else { ipv6 };
            if enabled && !addresses.contains(&address) {
                addresses.push(address);
            }
        }
        if addresses.len() == before && !candidates_were_duplicates(&addresses, host, port) {
            return Err(invalid(
                "no address of an enabled family (see ipv4 and ipv6)",
            ));
        }
    }
    Ok(addresses)
}
// ANCHOR_END: resolve_listen

/// Whether an entry added nothing only because its addresses were already
/// listed (`--listen=127.0.0.1:80 --listen=127.0.0.1:80`), which is fine.
fn candidates_were_duplicates(addresses: &[SocketAddr], host: &str, port: u16) -> bool {
    if host == "*" {
        return addresses
            .iter()
            .any(|a| a.port() == port && a.ip().is_unspecified());
    }
    (host, port)
        .to_socket_addrs()
        .map(|mut found| found.any(|a| addresses.contains(&a)))
        .unwrap_or(false)
}

// ANCHOR: parse_ini
/// Reads the settings of the `[server:main]` section of an ini file, in
/// PasteDeploy's shape: `key = value` (or `key: value`) lines, `#` and `;`
/// comments, indented continuation lines (a multi-line `listen`). The `use`
/// key (`egg:waitress#main`) and other sections are ignored.
///
/// ```
/// use waitress::config::parse_ini;
/// let file = "[app:main]\nuse = egg:myapp\n\n[server:main]\nuse = egg:waitress#main\nthreads = 8\nlisten =\n    127.0.0.1:8080\n    [::1]:8080\n";
/// let settings = parse_ini(file).unwrap();
/// assert_eq!(settings, vec![
///     ("threads".to_string(), "8".to_string()),
///     ("listen".to_string(), "127.0.0.1:8080\n[::1]:8080".to_string()),
/// ]);
/// ```
pub fn parse_ini(text: &str) -> Result<Vec<(String, String)>, ConfigError> {
    let mut settings: Vec<(String, String)> = Vec::new();
    let mut in_server_section = false;
    let mut last_key_line: Option<usize> = None;
    for (index, raw_line) in text.lines().enumerate() {
        let line_number = index + 1;
        let line = raw_line.trim_end();
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let syntax = |message: &str| ConfigError::Syntax {
            line: line_number,
            message: message.to_string(),
        };
        if line.starts_with([' ', '\t']) && in_server_section {
            // A continuation of the previous value (it may start with `[`).
            let index =
                last_key_line.ok_or_else(|| syntax("an indented line continues nothing"))?;
            let value = &mut settings[index].1;
            if !value.is_empty() {
                value.push('\n');
            }
            value.push_str(trimmed);
            continue;
        }
        if trimmed.starts_with('[') {
            let name = trimmed
                .strip_prefix('[')
                .and_then(|t| t.strip_suffix(']'))
                .ok_or_else(|| syntax("a section header must look like [server:main]"))?;
            in_server_section = name.trim() == "server:main";
            last_key_line = None;
            continue;
        }
        if !in_server_section {
            continue;
        }
        let separator = trimmed
            .find(['=', ':'])
            .ok_or_else(|| syntax("expected `key = value`"))?;
        let key = trimmed[..separator].trim();
        let value = trimmed[separator + 1..].trim();
        if key.is_empty() {
            return Err(syntax("expected `key = value`"));
        }
        if key == "use" {
            last_key_line = None;
            continue;
        }
        if option(key).is_none() {
            return Err(ConfigError::UnknownKey {
                key: key.to_string(),
            });
        }
        settings.push((key.to_string(), value.to_string()));
        last_key_line = Some(settings.len() - 1);
    }
    Ok(settings)
}
// ANCHOR_END: parse_ini

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn build(pairs: &[(&str, &str)]) -> Result<Adjustments, ConfigError> {
        let mut builder = Adjustments::builder();
        for (key, value) in pairs {
            builder = builder.set(key, value)?;
        }
        builder.build()
    }

    fn conflict(pairs: &[(&str, &str)]) -> String {
        match build(pairs) {
            Err(ConfigError::Conflict { message }) => message,
            other => panic!("expected a conflict, got {other:?}"),
        }
    }

    fn invalid(pairs: &[(&str, &str)]) -> (String, String) {
        match build(pairs) {
            Err(ConfigError::InvalidValue { key, value, .. }) => (key, value),
            other => panic!("expected an invalid value, got {other:?}"),
        }
    }

    #[test]
    fn defaults_match_waitress() {
        let adj = Adjustments::default();
        assert_eq!(adj.host, "0.0.0.0");
        assert_eq!(adj.port, 8080);
        assert_eq!(adj.listen, vec![SocketAddr::from(([0, 0, 0, 0], 8080))]);
        assert!(adj.ipv4 && adj.ipv6);
        assert_eq!(adj.unix_socket, None);
        assert_eq!(adj.unix_socket_perms, 0o600);
        assert!(adj.sockets.is_empty());
        assert_eq!(adj.threads, 4);
        assert_eq!(adj.trusted_proxy, None);
        assert_eq!(adj.trusted_proxy_count, 1);
        assert!(adj.trusted_proxy_headers.is_empty());
        assert!(!adj.log_untrusted_proxy_headers);
        assert!(adj.clear_untrusted_proxy_headers);
        assert_eq!(adj.url_scheme, "http");
        assert_eq!(adj.url_prefix, "");
        assert_eq!(adj.ident.as_deref(), Some("waitress"));
        assert_eq!(adj.backlog, 1024);
        assert_eq!(adj.recv_bytes, 8192);
        assert_eq!(adj.send_bytes, 1);
        assert_eq!(adj.outbuf_overflow, 1_048_576);
        assert_eq!(adj.outbuf_high_watermark, 16_777_216);
        assert_eq!(adj.inbuf_overflow, 524_288);
        assert_eq!(adj.connection_limit, 100);
        assert_eq!(adj.cleanup_interval, 30);
        assert_eq!(adj.channel_timeout, 120);
        assert_eq!(adj.shutdown_timeout, 30);
        assert!(adj.log_socket_errors);
        assert_eq!(adj.max_request_header_size, 262_144);
        assert_eq!(adj.max_request_body_size, 1_073_741_824);
        assert!(!adj.expose_tracebacks);
        assert_eq!(adj.asyncore_loop_timeout, 1);
        assert!(!adj.asyncore_use_poll);
        assert_eq!(adj.channel_request_lookahead, 0);
        assert_eq!(adj.server_name, "waitress.invalid");
        assert!(adj.warnings.is_empty());
    }

    #[test]
    fn every_option_default_parses() {
        for spec in OPTIONS {
            // trusted_proxy_count needs a trusted proxy; the rest stand alone.
            let result = build(&[(spec.name, spec.default), ("trusted_proxy", "*")]);
            assert!(result.is_ok(), "{}: {:?}", spec.name, result.err());
        }
    }

    #[test]
    fn unknown_keys_are_errors() {
        let error = Adjustments::builder().set("thread", "4").unwrap_err();
        assert_eq!(
            error,
            ConfigError::UnknownKey {
                key: "thread".to_string()
            }
        );
        assert_eq!(error.to_string(), "unknown adjustment \"thread\"");
    }

    #[test]
    fn host_and_port_make_the_listen_address() {
        let adj = build(&[("host", "127.0.0.1"), ("port", "9000")]).unwrap();
        assert_eq!(adj.listen, vec![SocketAddr::from(([127, 0, 0, 1], 9000))]);
        let adj = build(&[("port", "9001")]).unwrap();
        assert_eq!(adj.listen, vec![SocketAddr::from(([0, 0, 0, 0], 9001))]);
        let adj = build(&[("host", "::1")]).unwrap();
        assert_eq!(
            adj.listen,
            vec![SocketAddr::from((Ipv6Addr::LOCALHOST, 8080))]
        );
    }

    #[test]
    fn listen_takes_several_entries_and_accumulates() {
        let adj = Adjustments::builder()
            .listen("127.0.0.1:8001")
            .listen("[::1]:8002 127.0.0.1:8003")
            .build()
            .unwrap();
        assert_eq!(
            adj.listen,
            vec![
                SocketAddr::from(([127, 0, 0, 1], 8001)),
                SocketAddr::from((Ipv6Addr::LOCALHOST, 8002)),
                SocketAddr::from(([127, 0, 0, 1], 8003)),
            ]
        );
    }

    #[test]
    fn listen_wildcard_binds_every_enabled_family() {
        let adj = build(&[("listen", "*:8080")]).unwrap();
        assert_eq!(
            adj.listen,
            vec![
                SocketAddr::from((Ipv4Addr::UNSPECIFIED, 8080)),
                SocketAddr::from((Ipv6Addr::UNSPECIFIED, 8080)),
            ]
        );
        let adj = build(&[("listen", "*:8080"), ("ipv6", "false")]).unwrap();
        assert_eq!(
            adj.listen,
            vec![SocketAddr::from((Ipv4Addr::UNSPECIFIED, 8080))]
        );
        let adj = build(&[("listen", "*:8080"), ("ipv4", "off")]).unwrap();
        assert_eq!(
            adj.listen,
            vec![SocketAddr::from((Ipv6Addr::UNSPECIFIED, 8080))]
        );
    }

    #[test]
    fn listen_entry_without_port_uses_the_port_setting() {
        let adj = build(&[("listen", "127.0.0.1 [::1]")]).unwrap();
        assert_eq!(
            adj.listen,
            vec![
                SocketAddr::from(([127, 0, 0, 1], 8080)),
                SocketAddr::from((Ipv6Addr::LOCALHOST, 8080)),
            ]
        );
    }

    #[test]
    fn listen_resolves_host_names_and_drops_duplicates() {
        let adj = build(&[("listen", "localhost:8080 127.0.0.1:8080"), ("ipv6", "no")]).unwrap();
        assert_eq!(adj.listen, vec![SocketAddr::from(([127, 0, 0, 1], 8080))]);
    }

    #[test]
    fn bad_listen_entries_name_the_entry() {
        for bad in [
            "127.0.0.1:http",
            "127.0.0.1:70000",
            ":8080",
            "127.0.0.1:-1",
            "no-such-host.invalid:80",
        ] {
            assert_eq!(
                invalid(&[("listen", bad)]),
                ("listen".to_string(), bad.to_string()),
                "{bad}"
            );
        }
    }

    #[test]
    fn listen_in_a_disabled_family_is_an_error() {
        assert_eq!(
            invalid(&[("listen", "[::1]:80"), ("ipv6", "0")]).0,
            "listen"
        );
        assert_eq!(
            invalid(&[("listen", "127.0.0.1:80"), ("ipv4", "0")]).0,
            "listen"
        );
    }

    #[test]
    fn both_families_disabled_is_an_error() {
        assert!(conflict(&[("ipv4", "no"), ("ipv6", "no")]).contains("both disabled"));
    }

    #[test]
    fn address_settings_conflict_as_in_waitress() {
        assert_eq!(
            conflict(&[("listen", "127.0.0.1:1"), ("host", "x")]),
            "host or port may not be set if listen is set"
        );
        assert_eq!(
            conflict(&[("listen", "127.0.0.1:1"), ("port", "1")]),
            "host or port may not be set if listen is set"
        );
        assert_eq!(
            conflict(&[("listen", "127.0.0.1:1"), ("sockets", "3")]),
            "sockets may not be set if listen is set"
        );
        assert_eq!(
            conflict(&[("sockets", "3"), ("port", "1")]),
            "host or port may not be set if sockets is set"
        );
        assert_eq!(
            conflict(&[("sockets", "3"), ("unix_socket", "/tmp/s")]),
            "unix_socket may not be set if sockets is set"
        );
        assert_eq!(
            conflict(&[("unix_socket", "/tmp/s"), ("host", "x")]),
            "unix_socket may not be set if host or port is set"
        );
        assert_eq!(
            conflict(&[("unix_socket", "/tmp/s"), ("listen", "127.0.0.1:1")]),
            "unix_socket may not be set if listen is set"
        );
    }

    #[test]
    fn unix_socket_replaces_tcp_listening() {
        let adj = build(&[("unix_socket", "/tmp/w.sock"), ("unix_socket_perms", "660")]).unwrap();
        assert_eq!(adj.unix_socket, Some(PathBuf::from("/tmp/w.sock")));
        assert_eq!(adj.unix_socket_perms, 0o660);
        assert!(adj.listen.is_empty());
    }

    #[test]
    fn unix_socket_perms_are_octal() {
        assert_eq!(
            build(&[("unix_socket_perms", "0777")])
                .unwrap()
                .unix_socket_perms,
            0o777
        );
        assert_eq!(
            Adjustments::builder()
                .unix_socket_perms(0o640)
                .build()
                .unwrap()
                .unix_socket_perms,
            0o640
        );
        for bad in ["8", "rw", "", "-600", "77777"] {
            assert_eq!(
                invalid(&[("unix_socket_perms", bad)]).0,
                "unix_socket_perms",
                "{bad}"
            );
        }
    }

    #[test]
    fn sockets_from_text_are_file_descriptors() {
        let adj = build(&[("sockets", "3 4")]).unwrap();
        assert!(matches!(
            adj.sockets.as_slice(),
            [PreboundSocket::Fd(3), PreboundSocket::Fd(4)]
        ));
        assert!(adj.listen.is_empty());
        assert_eq!(
            invalid(&[("sockets", "three")]),
            ("sockets".to_string(), "three".to_string())
        );
    }

    #[test]
    fn prebound_tcp_and_unix_sockets_may_not_be_mixed() {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let path = std::env::temp_dir().join(format!("waitress-adj-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let unix = UnixListener::bind(&path).unwrap();
        let error = Adjustments::builder()
            .tcp_socket(tcp)
            .unix_listener(unix)
            .build()
            .unwrap_err();
        let _ = std::fs::remove_file(&path);
        assert_eq!(
            error.to_string(),
            "Internet and UNIX sockets may not be mixed"
        );
    }

    #[test]
    fn booleans_accept_waitress_spellings_and_refuse_others() {
        for yes in ["t", "true", "Y", "yes", "ON", "1", " true "] {
            assert!(
                build(&[("expose_tracebacks", yes)])
                    .unwrap()
                    .expose_tracebacks,
                "{yes}"
            );
        }
        for no in ["f", "false", "n", "NO", "off", "0"] {
            assert!(
                !build(&[("log_socket_errors", no)])
                    .unwrap()
                    .log_socket_errors,
                "{no}"
            );
        }
        assert_eq!(
            invalid(&[("ipv4", "banana")]),
            ("ipv4".to_string(), "banana".to_string())
        );
    }

    #[test]
    fn numbers_are_digits_only_with_minimums() {
        for (key, bad) in [
            ("threads", "0"),
            ("threads", "-1"),
            ("threads", "+4"),
            ("threads", "4.0"),
            ("recv_bytes", "0"),
            ("connection_limit", "0"),
            ("channel_timeout", "0"),
            ("cleanup_interval", "0"),
            ("shutdown_timeout", "-1"),
            ("shutdown_timeout", "1.5"),
            ("asyncore_loop_timeout", "0"),
            ("backlog", "4294967296"),
            ("port", "65536"),
            ("max_request_body_size", ""),
        ] {
            assert_eq!(
                invalid(&[(key, bad)]),
                (key.to_string(), bad.to_string()),
                "{key}={bad}"
            );
        }
        assert_eq!(
            build(&[("channel_request_lookahead", "0")])
                .unwrap()
                .channel_request_lookahead,
            0
        );
        assert_eq!(build(&[("threads", " 16 ")]).unwrap().threads, 16);
    }

    #[test]
    fn invalid_values_read_well() {
        let error = build(&[("connection_limit", "lots")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid value for connection_limit: \"lots\" (expected a whole number of at least 1)"
        );
    }

    #[test]
    fn url_prefix_gets_one_leading_slash_and_no_trailing_slash() {
        for (given, fixed) in [
            ("", ""),
            ("app", "/app"),
            ("app/", "/app"),
            ("//app//", "/app"),
            ("/a/b/", "/a/b"),
            ("  /x ", "/x"),
        ] {
            assert_eq!(
                build(&[("url_prefix", given)]).unwrap().url_prefix,
                fixed,
                "{given:?}"
            );
        }
    }

    #[test]
    fn url_scheme_is_http_or_https() {
        assert_eq!(
            build(&[("url_scheme", "HTTPS")]).unwrap().url_scheme,
            "https"
        );
        assert_eq!(invalid(&[("url_scheme", "ftp")]).0, "url_scheme");
    }

    #[test]
    fn empty_ident_means_no_server_name() {
        assert_eq!(build(&[("ident", "")]).unwrap().ident, None);
        assert_eq!(
            build(&[("ident", "myapp/1.0")]).unwrap().ident.as_deref(),
            Some("myapp/1.0")
        );
        assert_eq!(invalid(&[("ident", "a\r\nX-Evil: 1")]).0, "ident");
    }

    #[test]
    fn trusted_proxy_count_and_headers_need_a_trusted_proxy() {
        assert!(
            conflict(&[("trusted_proxy_count", "2")])
                .starts_with("trusted_proxy_count has no meaning")
        );
        assert!(
            conflict(&[("trusted_proxy_headers", "x-forwarded-for")])
                .starts_with("trusted_proxy_headers has no meaning")
        );
    }

    #[test]
    fn trusted_proxy_headers_are_lower_cased_and_checked() {
        let adj = build(&[
            ("trusted_proxy", "127.0.0.1"),
            (
                "trusted_proxy_headers",
                "X-Forwarded-For x-forwarded-proto,x-forwarded-host",
            ),
            ("trusted_proxy_count", "2"),
        ])
        .unwrap();
        let expected: BTreeSet<String> =
            ["x-forwarded-for", "x-forwarded-host", "x-forwarded-proto"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        assert_eq!(adj.trusted_proxy_headers, expected);
        assert_eq!(adj.trusted_proxy_count, 2);
        assert_eq!(
            invalid(&[
                ("trusted_proxy", "*"),
                ("trusted_proxy_headers", "x-real-ip")
            ]),
            ("trusted_proxy_headers".to_string(), "x-real-ip".to_string())
        );
    }

    #[test]
    fn forwarded_and_x_forwarded_cannot_both_be_trusted() {
        assert!(
            conflict(&[
                ("trusted_proxy", "*"),
                ("trusted_proxy_headers", "forwarded x-forwarded-for")
            ])
            .contains("mutually exclusive")
        );
        assert!(
            build(&[
                ("trusted_proxy", "*"),
                ("trusted_proxy_headers", "forwarded")
            ])
            .is_ok()
        );
    }

    #[test]
    fn trusted_proxy_alone_implies_x_forwarded_proto_with_a_warning() {
        let adj = build(&[("trusted_proxy", "10.0.0.1")]).unwrap();
        assert_eq!(adj.trusted_proxy.as_deref(), Some("10.0.0.1"));
        assert!(adj.trusted_proxy_headers.contains("x-forwarded-proto"));
        assert_eq!(adj.trusted_proxy_headers.len(), 1);
        assert!(adj.warnings[0].contains("Implicitly trusting X-Forwarded-Proto"));
    }

    #[test]
    fn an_empty_trusted_proxy_means_none() {
        assert_eq!(build(&[("trusted_proxy", "")]).unwrap().trusted_proxy, None);
    }

    #[test]
    fn send_bytes_is_accepted_with_a_deprecation_warning() {
        let adj = build(&[("send_bytes", "18000")]).unwrap();
        assert_eq!(adj.send_bytes, 18000);
        assert!(
            adj.warnings
                .iter()
                .any(|w| w.contains("send_bytes is deprecated"))
        );
    }

    #[test]
    fn asyncore_use_poll_is_accepted() {
        assert!(
            build(&[("asyncore_use_poll", "true")])
                .unwrap()
                .asyncore_use_poll
        );
    }

    #[test]
    fn typed_setters_reach_every_field() {
        let adj = Adjustments::builder()
            .listen("127.0.0.1:0")
            .threads(2)
            .ident("")
            .backlog(16)
            .recv_bytes(4096)
            .outbuf_overflow(10)
            .outbuf_high_watermark(20)
            .inbuf_overflow(30)
            .connection_limit(5)
            .cleanup_interval(2)
            .channel_timeout(3)
            .shutdown_timeout(0)
            .log_socket_errors(false)
            .max_request_header_size(1000)
            .max_request_body_size(2000)
            .expose_tracebacks(true)
            .asyncore_loop_timeout(4)
            .channel_request_lookahead(5)
            .server_name("example.com")
            .url_scheme("https")
            .build()
            .unwrap();
        assert_eq!((adj.threads, adj.backlog, adj.recv_bytes), (2, 16, 4096));
        assert_eq!(
            (
                adj.outbuf_overflow,
                adj.outbuf_high_watermark,
                adj.inbuf_overflow
            ),
            (10, 20, 30)
        );
        assert_eq!(
            (
                adj.connection_limit,
                adj.cleanup_interval,
                adj.channel_timeout
            ),
            (5, 2, 3)
        );
        assert_eq!(adj.shutdown_timeout, 0, "0 is allowed: no drain");
        assert_eq!(
            (adj.max_request_header_size, adj.max_request_body_size),
            (1000, 2000)
        );
        assert_eq!(
            (adj.asyncore_loop_timeout, adj.channel_request_lookahead),
            (4, 5)
        );
        assert!(!adj.log_socket_errors && adj.expose_tracebacks);
        assert_eq!(
            (
                adj.server_name.as_str(),
                adj.url_scheme.as_str(),
                adj.ident.as_deref()
            ),
            ("example.com", "https", None)
        );
    }

    #[test]
    fn ini_reads_only_the_server_main_section() {
        let text = "# comment\n[app:main]\nthreads = 99\n\n[server:main]\nuse = egg:waitress#main\nhost = 127.0.0.1\n; another comment\nport: 6543\n[other]\nport = 1\n";
        let settings = parse_ini(text).unwrap();
        assert_eq!(
            settings,
            vec![
                ("host".to_string(), "127.0.0.1".to_string()),
                ("port".to_string(), "6543".to_string())
            ]
        );
    }

    #[test]
    fn ini_errors_name_the_line_or_the_key() {
        assert_eq!(
            parse_ini("[server:main]\nthreads 4\n").unwrap_err(),
            ConfigError::Syntax {
                line: 2,
                message: "expected `key = value`".to_string()
            }
        );
        assert_eq!(
            parse_ini("[server:main]\nthread = 4\n").unwrap_err(),
            ConfigError::UnknownKey {
                key: "thread".to_string()
            }
        );
        assert!(matches!(
            parse_ini("[server:main\n").unwrap_err(),
            ConfigError::Syntax { line: 1, .. }
        ));
        assert!(matches!(
            parse_ini("[server:main]\n  orphan\n").unwrap_err(),
            ConfigError::Syntax { line: 2, .. }
        ));
    }

    #[test]
    fn ini_multiline_listen_builds() {
        let settings =
            parse_ini("[server:main]\nlisten =\n  127.0.0.1:7001\n  127.0.0.1:7002\n").unwrap();
        let mut builder = Adjustments::builder();
        for (key, value) in &settings {
            builder = builder.set(key, value).unwrap();
        }
        assert_eq!(builder.build().unwrap().listen.len(), 2);
    }

    #[test]
    fn flags_are_kebab_case() {
        assert_eq!(
            option("max_request_body_size").unwrap().flag(),
            "--max-request-body-size"
        );
    }
}
