//! The request line: method, target and version, and the bytes around them.

use crate::{Outcome, detail, error, error_with, feed, request, status};
use waitress::http::parser::{Limits, ParseError, Version};

#[test]
fn minimal_http11_get_is_complete_and_kept_alive() {
    // A01
    let request = request(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(request.method(), "GET");
    assert_eq!(request.target(), "/");
    assert_eq!(request.version, Version::Http11);
    assert_eq!(request.headers().collect::<Vec<_>>(), [("HOST", "x")]);
    assert!(!request.close_after);
    assert!(request.body.is_empty());
}

#[test]
fn http10_closes_unless_it_asks_for_keep_alive() {
    // A02
    assert!(request(b"GET / HTTP/1.0\r\n\r\n").close_after);
    assert!(!request(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").close_after);
    assert!(request(b"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n").close_after);
}

#[test]
fn missing_version_is_400_unlike_waitress_http09() {
    // A03: Waitress serves `GET /` as HTTP/1.0.
    assert_eq!(error(b"GET /\r\n\r\n"), ParseError::InvalidRequestLine);
    assert_eq!(error(b"GET / \r\n\r\n"), ParseError::InvalidVersion);
}

#[test]
fn http_1_x_above_1_is_served_as_http11_unlike_waitress() {
    // A04: Waitress answers any d.d as HTTP/1.0.
    let first = request(b"GET / HTTP/1.2\r\nHost: x\r\n\r\n");
    assert_eq!(first.version, Version::Http11);
    assert_eq!(
        request(b"GET / HTTP/1.9\r\nHost: x\r\n\r\n").version,
        Version::Http11
    );
}

#[test]
fn other_major_versions_are_505_unlike_waitress() {
    // A04: Waitress serves HTTP/2.0 and HTTP/8.4 as 1.0.
    for wire in [
        &b"GET / HTTP/2.0\r\n\r\n"[..],
        b"GET / HTTP/8.4\r\n\r\n",
        b"GET / HTTP/0.9\r\n\r\n",
    ] {
        let (error, version) = error_with(Limits::default(), wire);
        assert_eq!(error, ParseError::UnsupportedVersion);
        assert_eq!(error.status(), 505);
        assert_eq!(version, Version::Http10);
    }
}

#[test]
fn malformed_versions_are_400() {
    // A05, A06, A12
    for wire in [
        &b"GET / HTTP/1.10\r\n\r\n"[..],
        b"GET / http/1.1\r\n\r\n",
        b"GET / HTTP/1\r\n\r\n",
        b"GET / HTTP/.1.\r\n\r\n",
        b"GET / bleh\r\n\r\n",
        b"GET /info?txtAirPlay&txtRAOP RTSP/1.0\r\n\r\n",
        b"GET / HTTP/1.a\r\n\r\n",
    ] {
        assert_eq!(error(wire), ParseError::InvalidVersion, "{wire:?}");
    }
}

#[test]
fn lowercase_method_is_a_valid_token_unlike_waitress() {
    // A07: Waitress refuses `get`. RFC 9110 §9.1: methods are case-sensitive
    // tokens, so `get` is simply a method the application does not know.
    assert_eq!(
        request(b"get / HTTP/1.1\r\nHost: x\r\n\r\n").method(),
        "get"
    );
}

#[test]
fn any_token_method_is_accepted() {
    // A08
    assert_eq!(
        request(b"FOO-BAR / HTTP/1.1\r\nHost: x\r\n\r\n").method(),
        "FOO-BAR"
    );
}

#[test]
fn method_with_a_non_token_byte_is_400() {
    // A09
    assert_eq!(
        error(b"GE(T / HTTP/1.1\r\n\r\n"),
        ParseError::InvalidRequestLine
    );
    assert_eq!(
        error(b"GE\x00 /foobar HTTP/8.4\r\n\r\n"),
        ParseError::InvalidRequestLine
    );
}

#[test]
fn request_line_parts_are_separated_by_exactly_one_space() {
    // A10
    assert_eq!(
        error(b"GET  / HTTP/1.1\r\n\r\n"),
        ParseError::InvalidRequestLine
    );
    assert_eq!(
        error(b"GET\t/ HTTP/1.1\r\n\r\n"),
        ParseError::InvalidRequestLine
    );
    assert_eq!(
        error(b" / HTTP/1.1\r\n\r\n"),
        ParseError::InvalidRequestLine
    );
    assert_eq!(
        error(b"GET /  HTTP/1.1\r\n\r\n"),
        ParseError::InvalidVersion
    );
}

#[test]
fn trailing_space_after_version_is_400_unlike_waitress() {
    // A11: Waitress strips it.
    assert_eq!(
        error(b"GET / HTTP/1.1 \r\n\r\n"),
        ParseError::InvalidVersion
    );
}

#[test]
fn space_inside_target_is_400() {
    // A12
    assert_eq!(
        error(b"GET /a b HTTP/1.1\r\n\r\n"),
        ParseError::InvalidVersion
    );
    assert_eq!(error(b"GET /a b\r\n\r\n"), ParseError::InvalidVersion);
}

#[test]
fn leading_empty_lines_are_ignored() {
    // A13 (CRLF lines; RFC 9112 §2.2)
    let request = request(b"\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(request.method(), "GET");
}

#[test]
fn leading_whitespace_other_than_crlf_is_400_unlike_waitress() {
    // A13: Waitress strips any ASCII whitespace before the request line.
    assert_eq!(
        error(b"   GET / HTTP/1.1\r\n\r\n"),
        ParseError::InvalidRequestLine
    );
    assert_eq!(
        error(b"\x0b\x0c\tGET / HTTP/1.1\r\n\r\n"),
        ParseError::InvalidRequestLine
    );
    assert_eq!(
        error(b"\n\nGET / HTTP/1.1\r\n\r\n"),
        ParseError::BareLineFeed
    );
}

#[test]
fn only_empty_lines_need_more() {
    // A14
    let (consumed, outcome) = feed(b"\r\n\r\n");
    assert_eq!(consumed, 4);
    assert!(matches!(outcome, Outcome::NeedMore));
}

#[test]
fn bare_lf_terminated_request_is_400_at_once_unlike_waitress() {
    // A15: Waitress waits for CRLFCRLF until a limit or a timeout.
    assert_eq!(
        error(b"GET / HTTP/1.1\nHost: x\n\n"),
        ParseError::BareLineFeed
    );
}

#[test]
fn bare_lf_in_header_is_400() {
    // A16, CVE-2019-16785
    assert_eq!(
        error(b"GET / HTTP/1.1\r\nX: y\nHost: x\r\n\r\n"),
        ParseError::BareLineFeed
    );
    assert_eq!(
        error(b"GET / HTTP/1.1\nX: y\r\n\r\n"),
        ParseError::BareLineFeed
    );
    assert_eq!(status(b"GET / HTTP/1.1\r\nfoo: \nbar\r\n\r\n"), 400);
}

#[test]
fn bare_cr_in_request_line_is_400() {
    // A16
    assert_eq!(
        error(b"GET /\r HTTP/1.1\r\n\r\n"),
        ParseError::BareCarriageReturn
    );
    assert_eq!(
        error(b"GET / HTTP/1.1\r\r\n\r\n"),
        ParseError::BareCarriageReturn
    );
}

#[test]
fn garbage_start_lines_are_400() {
    // A17
    assert_eq!(status(b"HELLO\r\n\r\n"), 400);
    assert_eq!(status(b"HTTP/1.0 GET /foobar\r\n\r\n"), 400);
}

#[test]
fn target_with_bytes_above_0x7e_is_400() {
    // A18
    assert_eq!(
        error(b"GET /\xd0\xb0 HTTP/1.1\r\n\r\n"),
        ParseError::InvalidTarget
    );
    assert_eq!(
        error(b"GET /\x7f HTTP/1.1\r\n\r\n"),
        ParseError::InvalidTarget
    );
    assert_eq!(
        error(b"GET /\x01 HTTP/1.1\r\n\r\n"),
        ParseError::InvalidTarget
    );
}

#[test]
fn asterisk_form_only_for_options() {
    // A19
    let request = request(b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(request.path_info(), "*");
    assert_eq!(
        error(b"GET * HTTP/1.1\r\nHost: x\r\n\r\n"),
        ParseError::AsteriskFormNotAllowed
    );
}

#[test]
fn absolute_form_gives_its_path_and_keeps_the_request_uri() {
    // A20, A21
    let request = request(b"GET http://other.example:8080/p/q?z=2 HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(request.path_info(), "/p/q");
    assert_eq!(request.query_string(), "z=2");
    assert_eq!(request.target(), "http://other.example:8080/p/q?z=2");
    assert_eq!(request.header("HOST"), Some("other.example:8080"));
    let bare = feed(b"GET http://example.com HTTP/1.1\r\nHost: h\r\n\r\n");
    let (_, Outcome::Complete(bare)) = bare else {
        panic!()
    };
    assert_eq!(bare.path_info(), "");
}

#[test]
fn absolute_form_authority_replaces_the_host_header() {
    // RFC 9112 §3.2.2: an origin server MUST ignore Host and use the
    // target's authority, so every later stage sees that one Host.
    let cases: [(&[u8], &str); 6] = [
        (
            b"GET http://a.example/x HTTP/1.1\r\nHost: b.example\r\n\r\n",
            "a.example",
        ),
        (
            b"GET http://a.example:8080/x HTTP/1.1\r\nHost: b.example\r\n\r\n",
            "a.example:8080",
        ),
        (
            b"GET https://A.Example?q=1 HTTP/1.1\r\nHost: b\r\n\r\n",
            "A.Example",
        ),
        (
            b"GET http://[2001:db8::1]:80/ HTTP/1.1\r\nHost: b\r\n\r\n",
            "[2001:db8::1]:80",
        ),
        (
            b"GET http://10.0.0.1#f HTTP/1.1\r\nHost: b\r\n\r\n",
            "10.0.0.1",
        ),
        // An empty port means the scheme's default (RFC 3986 §6.2.3).
        (
            b"GET http://a.example:/x HTTP/1.1\r\nHost: b\r\n\r\n",
            "a.example",
        ),
    ];
    for (wire, host) in cases {
        let request = request(wire);
        assert_eq!(request.header("HOST"), Some(host), "{wire:?}");
        let hosts = request.headers().filter(|&(name, _)| name == "HOST");
        assert_eq!(hosts.count(), 1, "{wire:?}");
    }
    // HTTP/1.0 needs no Host: the authority becomes one, first.
    let request = request(b"GET http://a.example/ HTTP/1.0\r\nX-A: 1\r\n\r\n");
    let fields: Vec<_> = request.headers().collect();
    assert_eq!(fields, [("HOST", "a.example"), ("X_A", "1")]);
}

#[test]
fn absolute_form_still_needs_a_valid_host_header_in_http11() {
    // RFC 9112 §3.2: the Host rules hold whatever the target's form.
    assert_eq!(
        error(b"GET http://a.example/ HTTP/1.1\r\n\r\n"),
        ParseError::MissingHost
    );
    assert_eq!(
        detail(b"GET http://a.example/ HTTP/1.1\r\nHost: a b\r\n\r\n"),
        "Host header is invalid: invalid character ' ' in the host"
    );
}

#[test]
fn absolute_form_with_an_invalid_authority_is_400_naming_the_fault() {
    let prefix = "Request target authority is invalid: ";
    for (target, reason) in [
        ("s://]ufd/:", "invalid character ']' in the host"),
        ("http:///x", "the host is empty"),
        ("http://", "the host is empty"),
        ("http://:80/", "the host is empty"),
        ("http://a:99999/", "the port is greater than 65535"),
        ("http://a:x/", "the port is not a number"),
        ("http://a:1:2/", "the port is not a number"),
        ("http://u@a/", "userinfo is not allowed"),
        ("http://u:p@a/", "userinfo is not allowed"),
        ("http://a%zz/", "invalid percent-encoding in the host"),
        ("http://a%4/", "invalid percent-encoding in the host"),
        ("http://[::1/", "invalid IPv6 address literal"),
        ("http://[v1.x]/", "invalid IPv6 address literal"),
        ("http://[fe80::1%25eth0]/", "invalid IPv6 address literal"),
        ("http://[::1]x/", "invalid character 'x' in the host"),
        ("http://a[b]/", "invalid character '[' in the host"),
    ] {
        let wire = format!("GET {target} HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(status(wire.as_bytes()), 400, "{target}");
        assert_eq!(
            detail(wire.as_bytes()),
            format!("{prefix}{reason}"),
            "{target}"
        );
    }
    // The edges of what is valid.
    for target in [
        "http://a:0/",
        "http://a:65535/",
        "http://a:00080/",
        "http://a%41-b_c~d!$&'()*+,;=/",
        "http://[::ffff:1.2.3.4]/",
        "http://999.1.1.1/",
    ] {
        let wire = format!("GET {target} HTTP/1.1\r\nHost: h\r\n\r\n");
        request(wire.as_bytes());
    }
}

#[test]
fn query_only_target_is_400_unlike_waitress() {
    // A21: Waitress serves `GET ?a=1` with an empty PATH_INFO.
    assert_eq!(
        error(b"GET ?a=1 HTTP/1.1\r\nHost: h\r\n\r\n"),
        ParseError::InvalidTarget
    );
    assert_eq!(
        error(b"GET example.com:80 HTTP/1.1\r\nHost: h\r\n\r\n"),
        ParseError::InvalidTarget
    );
}

#[test]
fn connect_is_501_unlike_waitress() {
    // A22: Waitress passes CONNECT to the application with PATH_INFO `443`.
    // This server cannot tunnel, so the method is not implemented (RFC 9110
    // §15.6.2); 405 would need an Allow header for a method nobody supports.
    let (error, _) = error_with(
        Limits::default(),
        b"CONNECT example.com:443 HTTP/1.1\r\n\r\n",
    );
    assert_eq!(error, ParseError::ConnectNotSupported);
    assert_eq!(error.status(), 501);
    assert_eq!(
        self::error(b"CONNECT /path HTTP/1.1\r\n\r\n"),
        ParseError::AuthorityFormRequired
    );
    assert_eq!(
        self::error(b"CONNECT [::1]:8080 HTTP/1.1\r\n\r\n"),
        ParseError::ConnectNotSupported
    );
}

#[test]
fn path_info_is_percent_decoded_as_latin1_and_query_stays_raw() {
    // A23–A27
    let decoded = |target: &str| {
        let wire = format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n");
        let request = request(wire.as_bytes());
        assert_eq!(request.target(), target);
        (request.path_info(), request.query_string().to_string())
    };
    assert_eq!(decoded("//a//b"), ("/a//b".into(), "".into()));
    assert_eq!(decoded("///abc"), ("/abc".into(), "".into()));
    assert_eq!(decoded("/p#frag"), ("/p".into(), "".into()));
    assert_eq!(decoded("/a%20b?x=1"), ("/a b".into(), "x=1".into()));
    assert_eq!(decoded("/%C3%A4%2F"), ("/\u{c3}\u{a4}/".into(), "".into()));
    assert_eq!(decoded("/a%00b"), ("/a\0b".into(), "".into()));
    assert_eq!(decoded("/a%zzb%4"), ("/a%zzb%4".into(), "".into()));
    assert_eq!(decoded("/a+b?c+d=%20"), ("/a+b".into(), "c+d=%20".into()));
}

#[test]
fn incomplete_request_line_needs_more() {
    // A28
    let (consumed, outcome) = feed(b"GET /foobar HTTP/8.4\r\n");
    assert!(matches!(
        outcome,
        Outcome::Error(ParseError::UnsupportedVersion, _)
    ));
    assert_eq!(consumed, 22);
    let (consumed, outcome) = feed(b"GET /foobar HTTP/1.1\r\nHost: x\r\n");
    assert!(matches!(outcome, Outcome::NeedMore));
    assert_eq!(consumed, 31);
}

#[test]
fn errors_before_the_request_line_is_understood_answer_in_http10() {
    assert_eq!(
        error_with(Limits::default(), b"get  /\r\n\r\n").1,
        Version::Http10
    );
}

#[test]
fn header_errors_answer_in_the_request_version_unlike_waitress() {
    // Q14: Waitress answers header errors in HTTP/1.0.
    let (error, version) = error_with(Limits::default(), b"GET / HTTP/1.1\r\nHost : x\r\n\r\n");
    assert_eq!(error, ParseError::WhitespaceBeforeColon);
    assert_eq!(version, Version::Http11);
}
