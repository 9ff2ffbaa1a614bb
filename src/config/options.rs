//! The table of every setting: [`OPTIONS`], with each one's name, [`Kind`],
//! default and help text, and [`option`] to look one up. The builder, the
//! ini reader and `waitress-serve --help` all read it, so a setting is
//! added in one row.
#![forbid(unsafe_code)]

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

// ANCHOR: options_start
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
    // ANCHOR_END: options_start
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
        name: "reuse_port",
        kind: Kind::Boolean,
        default: "false",
        help: "Set SO_REUSEPORT on the TCP listeners, so that several processes (of one user) can listen on the same port and share its connections. TCP addresses only; an error where the platform lacks SO_REUSEPORT.",
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
        help: "Accepted for compatibility and ignored: this server never uses select(), so there is no limit of 1024 descriptors to avoid (it waits with epoll(7) on Linux, poll(2) elsewhere).",
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

/// The settings that together say where to listen. When a command line
/// gives any of them, the address set before (in code, or in a `--config`
/// file) is dropped rather than combined with it.
pub const ADDRESS_KEYS: [&str; 5] = ["host", "port", "listen", "unix_socket", "sockets"];
