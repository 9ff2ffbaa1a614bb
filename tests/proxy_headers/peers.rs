//! Which peers are trusted (catalogue I12: Unix sockets; `*`, IPv6 proxies),
//! what the middleware leaves alone, and how the adjustments configure it.

use crate::{adjustments, catalogue, from_proxy, send, send_with};
use waitress::apps::proxy_headers::{self, ProxyConfig, ProxyHeader};
use waitress::gateway::testing::TestRequest;

// I12
#[test]
fn a_unix_socket_peer_is_trusted_as_localhost() {
    let adj = adjustments(&[
        ("trusted_proxy", "localhost"),
        ("trusted_proxy_headers", "x-forwarded-for x-forwarded-proto"),
    ]);
    let outcome = send(
        &adj,
        TestRequest::get("/")
            .remote("localhost", "")
            .header("X-Forwarded-For", "203.0.113.9")
            .header("X-Forwarded-Proto", "https"),
    );
    assert_eq!(outcome.var("REMOTE_ADDR"), Some("203.0.113.9"));
    assert_eq!(outcome.var("REMOTE_HOST"), Some("203.0.113.9"));
    assert_eq!(outcome.var("wsgi.url_scheme"), Some("https"));
}

// I12
#[test]
fn a_unix_socket_peer_stays_localhost_when_not_trusted() {
    let outcome = send(
        &catalogue(&[]),
        TestRequest::get("/")
            .remote("localhost", "")
            .header("X-Forwarded-For", "203.0.113.9"),
    );
    assert_eq!(outcome.var("REMOTE_ADDR"), Some("localhost"));
    assert_eq!(outcome.var("REMOTE_HOST"), Some("localhost"));
    assert_eq!(outcome.var("REMOTE_PORT"), Some(""));
    assert_eq!(outcome.var("HTTP_X_FORWARDED_FOR"), None);
}

#[test]
fn a_star_trusts_every_peer() {
    let adj = adjustments(&[
        ("trusted_proxy", "*"),
        ("trusted_proxy_headers", "x-forwarded-for"),
    ]);
    let outcome = send(
        &adj,
        TestRequest::get("/")
            .remote("192.0.2.77", "5000")
            .header("X-Forwarded-For", "203.0.113.9"),
    );
    assert_eq!(outcome.var("REMOTE_ADDR"), Some("203.0.113.9"));
}

#[test]
fn an_ipv6_proxy_is_named_without_brackets() {
    let adj = adjustments(&[
        ("trusted_proxy", "::1"),
        ("trusted_proxy_headers", "x-forwarded-for"),
    ]);
    let outcome = send(
        &adj,
        TestRequest::get("/")
            .remote("::1", "5000")
            .header("X-Forwarded-For", "203.0.113.9"),
    );
    assert_eq!(outcome.var("REMOTE_ADDR"), Some("203.0.113.9"));
}

#[test]
fn the_url_scheme_adjustment_holds_until_a_trusted_proxy_says_otherwise() {
    let adj = catalogue(&[]);
    let untrusted = send(
        &adj,
        TestRequest::get("/")
            .url_scheme("https")
            .remote("192.0.2.77", "5000")
            .header("X-Forwarded-Proto", "http"),
    );
    assert_eq!(untrusted.var("wsgi.url_scheme"), Some("https"));
    let trusted = send(
        &adj,
        from_proxy(&[("X-Forwarded-Proto", "http")]).url_scheme("https"),
    );
    assert_eq!(trusted.var("wsgi.url_scheme"), Some("http"));
}

#[test]
fn the_url_prefix_split_is_untouched_by_proxy_headers() {
    let outcome = send(
        &catalogue(&[]),
        TestRequest::get("/app/page")
            .url_prefix("/app")
            .remote("127.0.0.1", "40000")
            .header("X-Forwarded-Host", "example.com")
            .header("X-Forwarded-Proto", "https"),
    );
    assert_eq!(outcome.var("SCRIPT_NAME"), Some("/app"));
    assert_eq!(outcome.var("PATH_INFO"), Some("/page"));
    assert_eq!(outcome.var("HTTP_HOST"), Some("example.com"));
}

#[test]
fn the_middleware_is_needed_unless_nothing_is_trusted_or_cleared() {
    assert!(proxy_headers::is_needed(&adjustments(&[])));
    assert!(!proxy_headers::is_needed(&adjustments(&[(
        "clear_untrusted_proxy_headers",
        "false"
    )])));
    assert!(proxy_headers::is_needed(&adjustments(&[
        ("clear_untrusted_proxy_headers", "false"),
        ("trusted_proxy", "127.0.0.1"),
    ])));
}

#[test]
fn trusted_proxy_alone_trusts_x_forwarded_proto_for_compatibility() {
    let config = ProxyConfig::from_adjustments(&adjustments(&[("trusted_proxy", "127.0.0.1")]));
    assert_eq!(
        config.trusted_proxy_headers.into_iter().collect::<Vec<_>>(),
        vec![ProxyHeader::XForwardedProto]
    );
}

#[test]
fn a_hand_made_config_trusting_zero_hops_trusts_one() {
    let config = ProxyConfig {
        trusted_proxy: Some("127.0.0.1".to_string()),
        trusted_proxy_count: 0,
        trusted_proxy_headers: [ProxyHeader::XForwardedFor].into(),
        ..ProxyConfig::default()
    };
    let outcome = send_with(
        config,
        from_proxy(&[("X-Forwarded-For", "192.0.2.1, 203.0.113.9")]),
    );
    assert_eq!(outcome.var("REMOTE_ADDR"), Some("203.0.113.9"));
}
