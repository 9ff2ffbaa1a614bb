//! Values: booleans, numbers, the URL settings, `ident`, the trusted proxy
//! settings and the deprecated or ignored ones.
#![forbid(unsafe_code)]

use std::collections::BTreeSet;

use super::{build, conflict, invalid};

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
        conflict(&[("trusted_proxy_count", "2")]).starts_with("trusted_proxy_count has no meaning")
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
    let expected: BTreeSet<String> = ["x-forwarded-for", "x-forwarded-host", "x-forwarded-proto"]
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
