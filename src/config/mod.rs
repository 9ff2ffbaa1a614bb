//! Adjustments: every setting of the server, with Waitress's names, defaults
//! and rules.
//!
//! Settings arrive three ways, and all three go through one path, so they
//! are checked the same way:
//!
//! * Rust code: [`Adjustments::builder`] with typed setters;
//! * the command line: `--kebab-case=value` flags
//!   ([`AdjustmentsBuilder::args`], or [`Flags`] for a program with flags of
//!   its own);
//! * an ini file with a `[server:main]` section (or `[server:NAME]`),
//!   PasteDeploy's shape ([`parse_ini`]).
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
//!
//! The files: `options.rs` holds the table of settings; `builder.rs`
//! collects them; `check.rs` is `build()`, helped by `values.rs` (text to
//! values) and `listen.rs` (listen addresses); `ini.rs` reads ini files;
//! `error.rs` holds [`ConfigError`]; `flags.rs` reads command-line flags
//! ([`AdjustmentsBuilder::args`], [`Flags`]) and writes their [`help_text`].
//! The rest of `waitress-serve`'s command line (its APP argument,
//! `--config`, the logging flags) is the binary's own, in
//! `src/bin/waitress-serve/`.
#![forbid(unsafe_code)]

mod builder;
mod check;
mod error;
mod flags;
mod ini;
mod listen;
mod options;
mod values;

#[cfg(test)]
mod tests;

pub use builder::AdjustmentsBuilder;
pub use check::check_setting;
pub use error::ConfigError;
pub use flags::{Arg, Flags, help_text};
pub use ini::{IniSetting, parse_ini};
pub use options::{ADDRESS_KEYS, KNOWN_PROXY_HEADERS, Kind, OPTIONS, OptionSpec, option};

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;

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

// ANCHOR: adjustments_head
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
    // ANCHOR_END: adjustments_head
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
    /// Set `SO_REUSEPORT` on the TCP listeners the server binds, so that
    /// several processes can listen on one port.
    ///
    /// ```
    /// use waitress::config::Adjustments;
    /// assert!(!Adjustments::default().reuse_port);
    /// let adj = Adjustments::builder().reuse_port(true).build().unwrap();
    /// assert!(adj.reuse_port);
    /// ```
    pub reuse_port: bool,
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
    /// Accepted and ignored: `select()` is never used (`epoll(7)` on
    /// Linux, `poll(2)` elsewhere).
    pub asyncore_use_poll: bool,
    /// Requests a connection may read ahead.
    pub channel_request_lookahead: usize,
    /// `SERVER_NAME`.
    pub server_name: String,
    /// Warnings about the configuration (deprecated settings), for the
    /// server to log when it starts.
    pub warnings: Vec<String>,
}
