//! RFC 7239 `Forwarded` (catalogue I09–I11): its elements and pairs, quoting,
//! IPv6, and the values that are a 400.

use crate::{adjustments, assert_malformed, catalogue, from_proxy, send};
use waitress::config::Adjustments;

// I09
#[test]
fn forwarded_keeps_the_last_two_elements_and_their_oldest_values() {
    let adj = adjustments(&[
        ("trusted_proxy", "*"),
        ("trusted_proxy_headers", "forwarded"),
        ("trusted_proxy_count", "2"),
    ]);
    let outcome = send(
        &adj,
        from_proxy(&[
            (
                "Forwarded",
                "for=192.0.2.1;host=fake, for=198.51.100.2;host=example.com:8080, for=203.0.113.1",
            ),
            ("X-Forwarded-For", "192.0.2.200"),
        ]),
    );
    assert_eq!(outcome.var("REMOTE_ADDR"), Some("198.51.100.2"));
    assert_eq!(outcome.var("SERVER_NAME"), Some("example.com"));
    assert_eq!(outcome.var("SERVER_PORT"), Some("8080"));
    assert_eq!(outcome.var("HTTP_HOST"), Some("example.com:8080"));
    assert_eq!(
        outcome.var("HTTP_FORWARDED"),
        Some("for=198.51.100.2;host=example.com:8080, for=203.0.113.1")
    );
    assert_eq!(outcome.var("HTTP_X_FORWARDED_FOR"), None);
}

fn trusting_forwarded() -> Adjustments {
    adjustments(&[
        ("trusted_proxy", "127.0.0.1"),
        ("trusted_proxy_headers", "forwarded"),
    ])
}

// I10
#[test]
fn forwarded_bracketed_ipv6_with_port_and_https() {
    let outcome = send(
        &trusting_forwarded(),
        from_proxy(&[("Forwarded", "for=\"[2001:db8::1]:3821\";proto=https")]),
    );
    assert_eq!(outcome.var("REMOTE_ADDR"), Some("2001:db8::1"));
    assert_eq!(outcome.var("REMOTE_PORT"), Some("3821"));
    assert_eq!(outcome.var("wsgi.url_scheme"), Some("https"));
    assert_eq!(outcome.var("SERVER_PORT"), Some("443"));
}

#[test]
fn an_unbracketed_ipv6_forwarded_for_is_taken_whole() {
    let outcome = send(
        &trusting_forwarded(),
        from_proxy(&[("Forwarded", "for=\"2001:db8::1\"")]),
    );
    assert_eq!(outcome.var("REMOTE_ADDR"), Some("2001:db8::1"));
    assert_eq!(outcome.var("REMOTE_PORT"), Some("40000"));
}

// I11
#[test]
fn a_forwarded_pair_without_equals_or_with_bad_quoting_is_a_400() {
    for value in ["for", "for=\"abc", "for=192.0.2.1;proto"] {
        let outcome = send(&trusting_forwarded(), from_proxy(&[("Forwarded", value)]));
        assert_malformed(&outcome, "Forwarded");
    }
}

#[test]
fn whitespace_around_a_forwarded_token_or_value_is_a_400() {
    for value in [
        "for =192.0.2.1",
        "for= 192.0.2.1",
        "for=192.0.2.1; proto=https",
    ] {
        let outcome = send(&trusting_forwarded(), from_proxy(&[("Forwarded", value)]));
        assert_malformed(&outcome, "Forwarded");
    }
}

#[test]
fn an_unsupported_forwarded_proto_is_a_400_naming_forwarded() {
    let outcome = send(
        &trusting_forwarded(),
        from_proxy(&[("Forwarded", "for=192.0.2.1;proto=gopher")]),
    );
    assert_malformed(&outcome, "Forwarded");
}

#[test]
fn forwarded_values_are_unquoted_and_lower_cased_like_waitress() {
    let outcome = send(
        &trusting_forwarded(),
        from_proxy(&[(
            "Forwarded",
            "For=\"192.0.2.60\";Proto=HTTPS;Host=\"Example.COM\";By=203.0.113.43",
        )]),
    );
    assert_eq!(outcome.var("REMOTE_ADDR"), Some("192.0.2.60"));
    assert_eq!(outcome.var("wsgi.url_scheme"), Some("https"));
    assert_eq!(outcome.var("SERVER_NAME"), Some("example.com"));
    assert_eq!(outcome.var("HTTP_HOST"), Some("example.com"));
    assert_eq!(outcome.var("SERVER_PORT"), Some("443"));
}

#[test]
fn an_unknown_forwarded_token_is_logged_and_ignored() {
    let outcome = send(
        &trusting_forwarded(),
        from_proxy(&[("Forwarded", "for=192.0.2.60;secret=x")]),
    );
    assert_eq!(outcome.var("REMOTE_ADDR"), Some("192.0.2.60"));
    assert!(
        outcome.log.contains("Unknown Forwarded token: \"secret\""),
        "{}",
        outcome.log
    );
}

#[test]
fn an_empty_client_address_is_a_400_where_waitress_fails_with_a_500() {
    let outcome = send(
        &trusting_forwarded(),
        from_proxy(&[("Forwarded", "for=\":80\"")]),
    );
    assert_malformed(&outcome, "Forwarded");
    let outcome = send(&catalogue(&[]), from_proxy(&[("X-Forwarded-For", "[]")]));
    assert_malformed(&outcome, "X-Forwarded-For");
}

#[test]
fn trusting_forwarded_removes_every_x_forwarded_header() {
    let outcome = send(
        &trusting_forwarded(),
        from_proxy(&[
            ("X-Forwarded-For", "192.0.2.1"),
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-By", "p"),
        ]),
    );
    assert_eq!(outcome.var("REMOTE_ADDR"), Some("127.0.0.1"));
    assert_eq!(outcome.var("wsgi.url_scheme"), Some("http"));
    for header in [
        "HTTP_X_FORWARDED_FOR",
        "HTTP_X_FORWARDED_PROTO",
        "HTTP_X_FORWARDED_BY",
    ] {
        assert_eq!(outcome.var(header), None, "{header}");
    }
}
