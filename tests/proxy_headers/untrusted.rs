//! What is cleared, and when it is logged (catalogue I07–I08): the headers
//! of an untrusted peer, and those a trusted proxy is not trusted for.

use crate::{adjustments, catalogue, from_proxy, send};
use waitress::apps::proxy_headers::ProxyHeader;
use waitress::gateway::testing::TestRequest;

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
