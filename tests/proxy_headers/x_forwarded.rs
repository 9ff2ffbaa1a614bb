//! The `X-Forwarded-*` headers (catalogue I01–I06): the client address and
//! hops, the host, the port and the scheme, and the malformed values.

use crate::{assert_malformed, catalogue, from_proxy, send};

// I01
#[test]
fn x_forwarded_for_and_proto_give_the_client_address_and_https() {
    let outcome = send(
        &catalogue(&[]),
        from_proxy(&[
            ("X-Forwarded-For", "203.0.113.9"),
            ("X-Forwarded-Proto", "https"),
        ]),
    );
    assert_eq!(outcome.var("REMOTE_ADDR"), Some("203.0.113.9"));
    assert_eq!(outcome.var("REMOTE_HOST"), Some("203.0.113.9"));
    assert_eq!(outcome.var("wsgi.url_scheme"), Some("https"));
    assert_eq!(outcome.var("SERVER_PORT"), Some("443"));
}

// I02
#[test]
fn only_the_last_hop_is_kept_with_one_trusted_proxy() {
    let outcome = send(
        &catalogue(&[]),
        from_proxy(&[("X-Forwarded-For", "10.0.0.1, 203.0.113.9")]),
    );
    assert_eq!(outcome.var("REMOTE_ADDR"), Some("203.0.113.9"));
    assert_eq!(outcome.var("HTTP_X_FORWARDED_FOR"), Some("203.0.113.9"));
}

// I02
#[test]
fn the_last_two_hops_are_kept_with_two_trusted_proxies() {
    let outcome = send(
        &catalogue(&[("trusted_proxy_count", "2")]),
        from_proxy(&[("X-Forwarded-For", "192.0.2.1, 198.51.100.2, 203.0.113.1")]),
    );
    assert_eq!(outcome.var("REMOTE_ADDR"), Some("198.51.100.2"));
    assert_eq!(
        outcome.var("HTTP_X_FORWARDED_FOR"),
        Some("198.51.100.2, 203.0.113.1")
    );
}

#[test]
fn a_trusted_proxy_count_above_the_hops_keeps_them_all() {
    let outcome = send(
        &catalogue(&[("trusted_proxy_count", "5")]),
        from_proxy(&[("X-Forwarded-For", "192.0.2.1, 198.51.100.2")]),
    );
    assert_eq!(outcome.var("REMOTE_ADDR"), Some("192.0.2.1"));
    assert_eq!(
        outcome.var("HTTP_X_FORWARDED_FOR"),
        Some("192.0.2.1, 198.51.100.2")
    );
}

// I03
#[test]
fn a_port_in_x_forwarded_for_becomes_remote_port() {
    let outcome = send(
        &catalogue(&[]),
        from_proxy(&[("X-Forwarded-For", "203.0.113.9:4444")]),
    );
    assert_eq!(outcome.var("REMOTE_ADDR"), Some("203.0.113.9"));
    assert_eq!(outcome.var("REMOTE_PORT"), Some("4444"));
}

// I03
#[test]
fn a_bare_ipv6_client_in_x_forwarded_for_has_no_port_and_no_brackets() {
    let outcome = send(
        &catalogue(&[]),
        from_proxy(&[("X-Forwarded-For", "2001:db8::1")]),
    );
    assert_eq!(outcome.var("REMOTE_ADDR"), Some("2001:db8::1"));
    assert_eq!(outcome.var("REMOTE_HOST"), Some("2001:db8::1"));
    // Not mistaken for address 2001:db8: and port 1: the proxy's port stays.
    assert_eq!(outcome.var("REMOTE_PORT"), Some("40000"));
}

#[test]
fn a_bracketed_ipv6_client_with_port_is_split_where_waitress_keeps_it_whole() {
    let outcome = send(
        &catalogue(&[]),
        from_proxy(&[("X-Forwarded-For", "[2001:db8::1]:4444")]),
    );
    assert_eq!(outcome.var("REMOTE_ADDR"), Some("2001:db8::1"));
    assert_eq!(outcome.var("REMOTE_PORT"), Some("4444"));
}

#[test]
fn an_ipv4_mapped_ipv6_client_is_not_split_unlike_waitress() {
    let outcome = send(
        &catalogue(&[]),
        from_proxy(&[("X-Forwarded-For", "::ffff:192.0.2.1")]),
    );
    assert_eq!(outcome.var("REMOTE_ADDR"), Some("::ffff:192.0.2.1"));
    assert_eq!(outcome.var("REMOTE_PORT"), Some("40000"));
}

#[test]
fn a_client_without_port_keeps_the_proxys_remote_port_as_waitress_does() {
    let outcome = send(
        &catalogue(&[]),
        from_proxy(&[("X-Forwarded-For", "203.0.113.9")]),
    );
    assert_eq!(outcome.var("REMOTE_PORT"), Some("40000"));
}

#[test]
fn a_quoted_hop_is_unquoted() {
    let outcome = send(
        &catalogue(&[]),
        from_proxy(&[("X-Forwarded-For", "\"203.0.113.9\"")]),
    );
    assert_eq!(outcome.var("REMOTE_ADDR"), Some("203.0.113.9"));
}

#[test]
fn a_badly_quoted_hop_is_a_400_even_before_the_trusted_ones() {
    let outcome = send(
        &catalogue(&[]),
        from_proxy(&[("X-Forwarded-For", "\"192.0.2.1, 203.0.113.9")]),
    );
    assert_malformed(&outcome, "X-Forwarded-For");
    assert!(outcome.log.contains("Invalid quoting in value"));
}

// I04
#[test]
fn x_forwarded_host_with_port_sets_server_name_port_and_host() {
    let outcome = send(
        &catalogue(&[]),
        from_proxy(&[
            ("X-Forwarded-Host", "example.com:8443"),
            ("X-Forwarded-Proto", "https"),
        ]),
    );
    assert_eq!(outcome.var("SERVER_NAME"), Some("example.com"));
    assert_eq!(outcome.var("SERVER_PORT"), Some("8443"));
    assert_eq!(outcome.var("HTTP_HOST"), Some("example.com:8443"));
}

#[test]
fn a_bracketed_ipv6_host_keeps_its_brackets_in_server_name() {
    let outcome = send(
        &catalogue(&[]),
        from_proxy(&[("X-Forwarded-Host", "[2001:db8::1]:8443")]),
    );
    assert_eq!(outcome.var("SERVER_NAME"), Some("[2001:db8::1]"));
    assert_eq!(outcome.var("SERVER_PORT"), Some("8443"));
    assert_eq!(outcome.var("HTTP_HOST"), Some("[2001:db8::1]:8443"));
}

#[test]
fn a_bare_ipv6_host_is_not_split_unlike_waitress() {
    let outcome = send(
        &catalogue(&[]),
        from_proxy(&[("X-Forwarded-Host", "2001:db8::1")]),
    );
    assert_eq!(outcome.var("SERVER_NAME"), Some("2001:db8::1"));
    assert_eq!(outcome.var("SERVER_PORT"), Some("8080"));
}

#[test]
fn the_port_in_x_forwarded_host_beats_x_forwarded_port() {
    let outcome = send(
        &catalogue(&[]),
        from_proxy(&[
            ("X-Forwarded-Host", "example.com:8443"),
            ("X-Forwarded-Port", "9000"),
        ]),
    );
    assert_eq!(outcome.var("SERVER_PORT"), Some("8443"));
    assert_eq!(outcome.var("HTTP_HOST"), Some("example.com:8443"));
}

#[test]
fn x_forwarded_host_keeps_the_oldest_trusted_hop() {
    let outcome = send(
        &catalogue(&[("trusted_proxy_count", "2")]),
        from_proxy(&[(
            "X-Forwarded-Host",
            "evil.example, example.com, internal.example",
        )]),
    );
    assert_eq!(outcome.var("SERVER_NAME"), Some("example.com"));
    assert_eq!(
        outcome.var("HTTP_X_FORWARDED_HOST"),
        Some("example.com, internal.example")
    );
}

// I05
#[test]
fn x_forwarded_port_is_added_to_a_host_without_port() {
    let outcome = send(
        &catalogue(&[]),
        from_proxy(&[
            ("X-Forwarded-Host", "example.com"),
            ("X-Forwarded-Port", "8080"),
            ("X-Forwarded-Proto", "http"),
        ]),
    );
    assert_eq!(outcome.var("SERVER_NAME"), Some("example.com"));
    assert_eq!(outcome.var("HTTP_HOST"), Some("example.com:8080"));
    assert_eq!(outcome.var("SERVER_PORT"), Some("8080"));
}

// I05
#[test]
fn a_host_without_port_gets_the_schemes_default_port() {
    let outcome = send(
        &catalogue(&[]),
        from_proxy(&[
            ("X-Forwarded-Host", "example.com"),
            ("X-Forwarded-Proto", "http"),
        ]),
    );
    assert_eq!(outcome.var("HTTP_HOST"), Some("example.com"));
    assert_eq!(outcome.var("SERVER_PORT"), Some("80"));
}

#[test]
fn a_default_port_of_the_other_scheme_stays_in_http_host() {
    let outcome = send(
        &catalogue(&[]),
        from_proxy(&[
            ("X-Forwarded-Host", "example.com"),
            ("X-Forwarded-Port", "443"),
            ("X-Forwarded-Proto", "http"),
        ]),
    );
    assert_eq!(outcome.var("HTTP_HOST"), Some("example.com:443"));
    assert_eq!(outcome.var("SERVER_PORT"), Some("443"));
}

// I06
#[test]
fn an_unsupported_or_repeated_proto_is_a_400_with_content_length_where_waitress_chunks() {
    for proto in ["ftp", "https, http", "http://p02n3e.com?url=http"] {
        let outcome = send(&catalogue(&[]), from_proxy(&[("X-Forwarded-Proto", proto)]));
        assert_malformed(&outcome, "X-Forwarded-Proto");
        // Waitress streams this body (chunked, then closes); here it is one
        // buffer with a length, so the server can keep the proxy's
        // connection open.
        let length = outcome.response.header("Content-Length").unwrap();
        assert_eq!(length, outcome.response.body.len().to_string());
        assert_eq!(
            outcome.response.header("Content-Type"),
            Some("text/plain; charset=utf-8")
        );
        assert!(
            outcome
                .response
                .text()
                .starts_with("Bad Request\r\n\r\nHeader \"X-Forwarded-Proto\" malformed.")
        );
        assert!(outcome.response.text().ends_with("(generated by waitress)"));
    }
}

#[test]
fn a_repeated_x_forwarded_port_is_a_400() {
    let outcome = send(
        &catalogue(&[]),
        from_proxy(&[("X-Forwarded-Port", "80, 8080")]),
    );
    assert_malformed(&outcome, "X-Forwarded-Port");
    assert!(outcome.log.contains("multiple values"));
}

#[test]
fn the_proto_is_compared_without_case_and_unquoted() {
    let outcome = send(
        &catalogue(&[]),
        from_proxy(&[("X-Forwarded-Proto", "\"HTTPS\"")]),
    );
    assert_eq!(outcome.var("wsgi.url_scheme"), Some("https"));
}
