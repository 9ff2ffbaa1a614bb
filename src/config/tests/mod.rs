//! Unit tests of the configuration: every rule of `build`, one test each,
//! through the public builder (`cargo test config::tests`). The defaults,
//! the table and the typed setters are here; the listen addresses, the
//! other values, the flags and the ini reader have a file each.
#![forbid(unsafe_code)]

use std::net::SocketAddr;

use super::{Adjustments, ConfigError, OPTIONS, option};

mod addresses;
mod flags;
mod ini;
mod values;

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
fn flags_are_kebab_case() {
    assert_eq!(
        option("max_request_body_size").unwrap().flag(),
        "--max-request-body-size"
    );
}
