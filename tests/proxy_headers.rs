//! The proxy headers middleware, behaviour by behaviour: the catalogue rows
//! I01–I12 of the reference (named in each test's comment), the edge cases
//! around them, and a property that no header value can make it panic.
//!
//! Every test runs in-process through `TestRequest`: the wrapped application
//! echoes its environ, one `KEY=VALUE` per line, so a test sees exactly what
//! an application behind the middleware would see.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use proptest::prelude::*;
use waitress::apps::proxy_headers::{self, ProxyConfig, ProxyHeader, ProxyHeaders};
use waitress::config::Adjustments;
use waitress::gateway::testing::{TestRequest, TestResponse};
use waitress::gateway::{AppResult, Body, Environ, StartResponse, headers};
use waitress::logging::{Level, Logger};

/// The catalogue's default: one trusted proxy on localhost, four headers.
const CATALOGUE_HEADERS: &str =
    "x-forwarded-for x-forwarded-proto x-forwarded-host x-forwarded-port";

fn echo_environ(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    let mut text = String::new();
    for (key, value) in environ.iter() {
        writeln!(text, "{key}={value}").unwrap();
    }
    start_response.start_response("200 OK", headers(&[("Content-Type", "text/plain")]), None)?;
    Ok(Body::from(text))
}

fn adjustments(settings: &[(&str, &str)]) -> Adjustments {
    let mut builder = Adjustments::builder();
    for (key, value) in settings {
        builder = builder.set(key, value).unwrap();
    }
    builder.build().unwrap()
}

/// `trusted_proxy=127.0.0.1` with the catalogue's four headers, plus `extra`.
fn catalogue(extra: &[(&str, &str)]) -> Adjustments {
    let mut settings = vec![
        ("trusted_proxy", "127.0.0.1"),
        ("trusted_proxy_headers", CATALOGUE_HEADERS),
    ];
    settings.extend_from_slice(extra);
    adjustments(&settings)
}

/// What one request through the middleware produced.
struct Outcome {
    response: TestResponse,
    /// The environ the application saw (empty when it was not called).
    environ: BTreeMap<String, String>,
    /// Everything the middleware logged.
    log: String,
}

impl Outcome {
    fn var(&self, key: &str) -> Option<&str> {
        self.environ.get(key).map(String::as_str)
    }

    fn app_was_called(&self) -> bool {
        !self.environ.is_empty()
    }
}

fn send(adj: &Adjustments, request: TestRequest) -> Outcome {
    send_with(ProxyConfig::from_adjustments(adj), request)
}

fn send_with(config: ProxyConfig, request: TestRequest) -> Outcome {
    let (logger, log) = Logger::memory(Level::Debug);
    let app = ProxyHeaders::new(echo_environ, config, logger);
    let response = request.call(&app).unwrap();
    let environ = if response.status_code() == 200 {
        response
            .text()
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    } else {
        BTreeMap::new()
    };
    Outcome {
        response,
        environ,
        log: log.contents(),
    }
}

/// A request from the trusted proxy (127.0.0.1) with these headers.
fn from_proxy(headers: &[(&str, &str)]) -> TestRequest {
    let mut request = TestRequest::get("/").remote("127.0.0.1", "40000");
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request
}

fn assert_malformed(outcome: &Outcome, header: &str) {
    assert_eq!(outcome.response.status, "400 Bad Request");
    assert!(!outcome.app_was_called());
    let expected = format!("Header \"{header}\" malformed.");
    assert!(
        outcome.response.text().contains(&expected),
        "{:?} lacks {expected:?}",
        outcome.response.text()
    );
    assert!(
        outcome.log.contains(&format!(
            "Malformed proxy header \"{header}\" from \"127.0.0.1\""
        )),
        "{}",
        outcome.log
    );
}

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

// I07
#[test]
fn proxy_headers_from_an_untrusted_peer_are_ignored_and_removed() {
    let outcome = send(
        &catalogue(&[]),
        TestRequest::get("/")
            .remote("192.0.2.77", "5000")
            .header("X-Forwarded-Proto", "https")
            .header("X-Forwarded-For", "203.0.113.9"),
    );
    assert_eq!(outcome.var("wsgi.url_scheme"), Some("http"));
    assert_eq!(outcome.var("REMOTE_ADDR"), Some("192.0.2.77"));
    assert_eq!(outcome.var("HTTP_X_FORWARDED_PROTO"), None);
    assert_eq!(outcome.var("HTTP_X_FORWARDED_FOR"), None);
}

#[test]
fn without_a_trusted_proxy_every_proxy_header_is_removed_silently() {
    let mut request = TestRequest::get("/").header("X-Foo", "kept");
    for header in ProxyHeader::ALL {
        request = request.header(header.name(), "x");
    }
    let outcome = send(&adjustments(&[]), request);
    for header in ProxyHeader::ALL {
        assert_eq!(outcome.var(header.environ_key()), None, "{header:?}");
    }
    assert_eq!(outcome.var("HTTP_X_FOO"), Some("kept"));
    assert_eq!(outcome.log, "", "log_untrusted_proxy_headers is off");
}

#[test]
fn untrusted_headers_stay_when_clearing_is_off() {
    let adj = adjustments(&[
        ("trusted_proxy", "127.0.0.1"),
        ("clear_untrusted_proxy_headers", "false"),
    ]);
    let outcome = send(
        &adj,
        TestRequest::get("/")
            .remote("192.0.2.77", "5000")
            .header("X-Forwarded-For", "203.0.113.9"),
    );
    assert_eq!(outcome.var("HTTP_X_FORWARDED_FOR"), Some("203.0.113.9"));
    assert_eq!(outcome.var("REMOTE_ADDR"), Some("192.0.2.77"));
}

// I08
#[test]
fn untrusted_forwarded_and_x_forwarded_by_from_the_proxy_are_removed_with_a_warning() {
    let outcome = send(
        &catalogue(&[("log_untrusted_proxy_headers", "true")]),
        from_proxy(&[
            ("Forwarded", "for=192.0.2.1"),
            ("X-Forwarded-By", "198.51.100.1"),
            ("X-Forwarded-For", "203.0.113.9"),
        ]),
    );
    assert_eq!(outcome.var("HTTP_FORWARDED"), None);
    assert_eq!(outcome.var("HTTP_X_FORWARDED_BY"), None);
    assert_eq!(outcome.var("REMOTE_ADDR"), Some("203.0.113.9"));
    assert!(
        outcome.log.contains(
            "WARNING [waitress] Removed untrusted headers (Forwarded, X-Forwarded-By). \
             Waitress recommends these be removed upstream."
        ),
        "{}",
        outcome.log
    );
}

#[test]
fn headers_the_proxy_is_not_trusted_for_are_removed_and_not_used() {
    let adj = adjustments(&[
        ("trusted_proxy", "127.0.0.1"),
        ("trusted_proxy_headers", "x-forwarded-proto"),
    ]);
    let outcome = send(
        &adj,
        from_proxy(&[
            ("X-Forwarded-For", "203.0.113.9"),
            ("X-Forwarded-Proto", "https"),
        ]),
    );
    assert_eq!(outcome.var("REMOTE_ADDR"), Some("127.0.0.1"));
    assert_eq!(outcome.var("HTTP_X_FORWARDED_FOR"), None);
    assert_eq!(outcome.var("HTTP_X_FORWARDED_PROTO"), Some("https"));
    assert_eq!(outcome.var("wsgi.url_scheme"), Some("https"));
}

#[test]
fn a_trusted_x_forwarded_by_is_passed_on_and_not_used() {
    let adj = adjustments(&[
        ("trusted_proxy", "127.0.0.1"),
        ("trusted_proxy_headers", "x-forwarded-by"),
    ]);
    let outcome = send(&adj, from_proxy(&[("X-Forwarded-By", "Waitress")]));
    assert_eq!(outcome.var("HTTP_X_FORWARDED_BY"), Some("Waitress"));
    assert_eq!(outcome.var("REMOTE_ADDR"), Some("127.0.0.1"));
}

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

/// Header values as the request parser delivers them (HTAB, SP, VCHAR and
/// latin-1's upper half), mostly built from the pieces the middleware's
/// parsers care about, so that quotes, brackets, ports and lists come up
/// often.
fn header_value() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just(","),
        Just(";"),
        Just("="),
        Just(":"),
        Just("\""),
        Just("\\"),
        Just("["),
        Just("]"),
        Just(" "),
        Just("for"),
        Just("host"),
        Just("proto"),
        Just("by"),
        Just("http"),
        Just("HTTPS"),
        Just("2001:db8::1"),
        Just("192.0.2.1"),
        Just("8080"),
        Just("é"),
    ];
    prop_oneof![
        3 => prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat()),
        1 => "[\t -~\u{80}-\u{ff}]{0,30}",
    ]
}

fn trusting_everything(forwarded_mode: bool, count: usize) -> ProxyConfig {
    let headers: &[ProxyHeader] = if forwarded_mode {
        &[ProxyHeader::Forwarded]
    } else {
        &ProxyHeader::ALL[1..]
    };
    ProxyConfig {
        trusted_proxy: Some("127.0.0.1".to_string()),
        trusted_proxy_count: count,
        trusted_proxy_headers: headers.iter().copied().collect(),
        ..ProxyConfig::default()
    }
}

fn with_proxy_headers(peer: &str, values: &[String]) -> TestRequest {
    let mut request = TestRequest::get("/").remote(peer, "40000");
    for (header, value) in ProxyHeader::ALL.iter().zip(values) {
        request = request.header(header.name(), value);
    }
    request
}

proptest! {
    #[test]
    fn any_header_value_yields_the_application_or_a_400(
        forwarded_mode in any::<bool>(),
        count in 1usize..4,
        values in prop::collection::vec(any::<String>(), 6),
    ) {
        let outcome = send_with(
            trusting_everything(forwarded_mode, count),
            with_proxy_headers("127.0.0.1", &values),
        );
        prop_assert!(matches!(outcome.response.status_code(), 200 | 400));
    }

    #[test]
    fn a_parsed_header_value_yields_a_sound_environ_or_a_400(
        forwarded_mode in any::<bool>(),
        trusted_peer in any::<bool>(),
        count in 1usize..4,
        values in prop::collection::vec(header_value(), 6),
    ) {
        let peer = if trusted_peer { "127.0.0.1" } else { "192.0.2.77" };
        let outcome = send_with(
            trusting_everything(forwarded_mode, count),
            with_proxy_headers(peer, &values),
        );
        if outcome.app_was_called() {
            prop_assert_eq!(outcome.response.status_code(), 200);
            prop_assert!(!outcome.var("REMOTE_ADDR").unwrap_or_default().is_empty());
            let scheme = outcome.var("wsgi.url_scheme").unwrap_or_default();
            prop_assert!(scheme == "http" || scheme == "https");
            if !trusted_peer {
                for header in ProxyHeader::ALL {
                    prop_assert_eq!(outcome.var(header.environ_key()), None);
                }
            }
        } else {
            prop_assert!(trusted_peer, "only a trusted peer's headers are parsed");
            prop_assert_eq!(outcome.response.status.as_str(), "400 Bad Request");
            prop_assert!(outcome.response.text().starts_with("Bad Request\r\n\r\nHeader \""));
        }
    }
}
