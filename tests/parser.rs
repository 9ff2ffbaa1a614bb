//! The request parser, rule by rule, with the exact bytes.
//!
//! Rows of Waitress's black-box catalogue (reference waitress.md §5.2) are
//! named in comments as `A01`, `B02`, … Where this parser deliberately
//! differs from Waitress, the test name or comment says so ("unlike
//! Waitress"). Every helper feeds the bytes both whole and one byte at a
//! time, and checks that both give the same answer.

use std::io::Read;

use waitress::http::error::HttpError;
use waitress::http::parser::{Limits, ParseError, Request, RequestParser, Status, Version};

#[derive(Debug)]
enum Outcome {
    NeedMore,
    Complete(Request),
    Error(ParseError, Version),
}

/// Feeds `wire` in pieces of `step` bytes (0: whole), continuing after
/// `ExpectContinue`; returns the bytes consumed and the outcome.
fn feed_in_steps(limits: Limits, wire: &[u8], step: usize) -> (usize, Outcome) {
    let mut parser = RequestParser::new(limits);
    let mut consumed = 0;
    let mut end = if step == 0 {
        wire.len()
    } else {
        step.min(wire.len())
    };
    loop {
        let received = parser.received(&wire[consumed..end]);
        consumed += received.consumed;
        match received.status {
            Status::ExpectContinue => {}
            Status::NeedMore if end < wire.len() => end = (end + step.max(1)).min(wire.len()),
            Status::NeedMore => return (consumed, Outcome::NeedMore),
            Status::Complete(request) => return (consumed, Outcome::Complete(request)),
            Status::Error { error, version } => return (consumed, Outcome::Error(error, version)),
        }
    }
}

fn summary(outcome: &mut Outcome) -> String {
    match outcome {
        Outcome::Complete(request) => {
            let mut body = Vec::new();
            request.body.read_to_end(&mut body).unwrap();
            request.body = waitress::gateway::Input::from_bytes(body.clone());
            format!(
                "{} {} {:?} {:?} close={} continue={} body={:?}",
                request.method(),
                request.target(),
                request.version,
                request.headers().collect::<Vec<_>>(),
                request.close_after,
                request.expect_continue,
                body
            )
        }
        other => format!("{other:?}"),
    }
}

/// Feeds `wire` whole and byte by byte; both must agree, except that an
/// error on bytes that arrive whole may be found at a later `consumed`.
fn feed_with(limits: Limits, wire: &[u8]) -> (usize, Outcome) {
    let (consumed, mut whole) = feed_in_steps(limits, wire, 0);
    let (bytewise_consumed, mut bytewise) = feed_in_steps(limits, wire, 1);
    assert_eq!(
        summary(&mut whole),
        summary(&mut bytewise),
        "whole vs bytewise"
    );
    if !matches!(whole, Outcome::Error(..)) {
        assert_eq!(consumed, bytewise_consumed);
    }
    (consumed, whole)
}

fn feed(wire: &[u8]) -> (usize, Outcome) {
    feed_with(Limits::default(), wire)
}

#[track_caller]
fn request(wire: &[u8]) -> Request {
    match feed(wire) {
        (_, Outcome::Complete(request)) => request,
        (_, other) => panic!("expected a request, got {other:?}"),
    }
}

#[track_caller]
fn error_with(limits: Limits, wire: &[u8]) -> (ParseError, Version) {
    match feed_with(limits, wire) {
        (_, Outcome::Error(error, version)) => (error, version),
        (_, other) => panic!("expected an error, got {other:?}"),
    }
}

#[track_caller]
fn error(wire: &[u8]) -> ParseError {
    error_with(Limits::default(), wire).0
}

#[track_caller]
fn status(wire: &[u8]) -> u16 {
    error(wire).status()
}

fn body_of(request: &mut Request) -> Vec<u8> {
    let mut body = Vec::new();
    request.body.read_to_end(&mut body).unwrap();
    body
}

fn small_limits(header: usize, body: u64) -> Limits {
    Limits {
        max_header_size: header,
        max_body_size: body,
        inbuf_overflow: 1024,
    }
}

// ---------------------------------------------------------------- request line

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

/// The `detail` of the error a request gets: the text its 400 carries.
#[track_caller]
fn detail(wire: &[u8]) -> String {
    HttpError::from(error(wire)).detail
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
        error(b"GET http://a.example/ HTTP/1.1\r\nHost: a b\r\n\r\n"),
        ParseError::InvalidHost
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

// ---------------------------------------------------------------- header fields

#[test]
fn obs_fold_is_400() {
    // B01, and B06 unlike Waitress (which unfolds continuation lines)
    assert_eq!(
        error(b"GET / HTTP/1.0\r\n Host: 0\r\n\r\n"),
        ParseError::ObsoleteLineFolding
    );
    assert_eq!(
        error(b"GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\n\r\n"),
        ParseError::ObsoleteLineFolding
    );
    assert_eq!(
        error(b"GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n\ttwo\r\n\r\n"),
        ParseError::ObsoleteLineFolding
    );
}

#[test]
fn whitespace_before_colon_is_400() {
    // B02, RUSTSEC-2020-0031 (tiny_http)
    assert_eq!(
        error(b"GET / HTTP/1.1\r\nHost : x\r\n\r\n"),
        ParseError::WhitespaceBeforeColon
    );
    assert_eq!(
        error(b"GET / HTTP/1.1\r\nHost\t: x\r\n\r\n"),
        ParseError::WhitespaceBeforeColon
    );
}

#[test]
fn header_names_must_be_tokens_followed_by_a_colon() {
    // B03
    for line in [&b"foo"[..], b": v", b"X Y: v", b"X(Y): v", b"\xe9: v"] {
        let mut wire = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
        wire.extend_from_slice(line);
        wire.extend_from_slice(b"\r\n\r\n");
        assert_eq!(status(&wire), 400, "{line:?}");
    }
}

#[test]
fn control_characters_in_values_are_400() {
    // B04
    for value in [
        &b"a\x01b"[..],
        b"a\x00b",
        b"a\x7fb",
        b"\x0bbar",
        b" \x0bbaz",
        b"a\x1bb",
    ] {
        let mut wire = b"GET / HTTP/1.1\r\nHost: x\r\nfoo:".to_vec();
        wire.extend_from_slice(value);
        wire.extend_from_slice(b"\r\n\r\n");
        assert_eq!(error(&wire), ParseError::InvalidHeaderValue, "{value:?}");
    }
}

#[test]
fn bare_cr_in_header_value_is_400() {
    // B05
    assert_eq!(
        error(b"GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n"),
        ParseError::BareCarriageReturn
    );
}

#[test]
fn obs_text_is_kept_and_only_sp_htab_are_trimmed() {
    // B09, CVE-2019-16789: \xa0 and \x85 are not whitespace here.
    let request = request(b"GET / HTTP/1.1\r\nHost: x\r\nX: \xa0caf\xe9\x85\r\n\r\n");
    assert_eq!(request.header("X"), Some("\u{a0}caf\u{e9}\u{85}"));
}

#[test]
fn empty_values_and_optional_whitespace() {
    // B10
    let request =
        request(b"GET / HTTP/1.1\r\nHost: x\r\nX-Empty:\r\nA:v\r\nB:\tv\r\nC: v \t\r\n\r\n");
    assert_eq!(request.header("X_EMPTY"), Some(""));
    assert_eq!(request.header("A"), Some("v"));
    assert_eq!(request.header("B"), Some("v"));
    assert_eq!(request.header("C"), Some("v"));
}

#[test]
fn repeated_fields_are_joined_with_comma_space() {
    // B11
    let request = request(b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nx-a: 2\r\nX-A: 3\r\n\r\n");
    assert_eq!(request.header("X_A"), Some("1, 2, 3"));
    assert_eq!(request.headers().len(), 2);
}

#[test]
fn names_with_underscores_are_dropped() {
    // B12
    let request = request(
        b"GET / HTTP/1.1\r\nHost: x\r\nX_Auth: bob\r\nX-Auth: alice\r\nx-auth_user: eve\r\n\r\n",
    );
    assert_eq!(request.header("X_AUTH"), Some("alice"));
    assert_eq!(request.headers().len(), 2);
}

#[test]
fn all_tchar_specials_are_allowed_in_names() {
    // B13
    let request = request(b"GET / HTTP/1.1\r\nHost: x\r\nX!#$%&'*+.^`|~: v\r\n\r\n");
    assert_eq!(request.header("X!#$%&'*+.^`|~"), Some("v"));
}

#[test]
fn values_keep_inner_spaces() {
    // B14
    let request =
        request(b"GET / HTTP/1.1\r\nHost: x\r\nfoo: abrowser/0.001 (C O M M E N T)\r\n\r\n");
    assert_eq!(
        request.header("FOO"),
        Some("abrowser/0.001 (C O M M E N T)")
    );
}

#[test]
fn long_invalid_value_is_rejected_in_linear_time() {
    // B15 (CVE-2020-5236 was a ReDoS on exactly this input)
    let mut wire = b"GET / HTTP/1.1\r\nHost: x\r\nfoo: ".to_vec();
    wire.extend(std::iter::repeat_n(b'x', 200_000));
    wire.extend_from_slice(b"\x10\r\n\r\n");
    let mut parser = RequestParser::new(Limits::default());
    let started = std::time::Instant::now();
    let received = parser.received(&wire);
    assert!(matches!(
        received.status,
        Status::Error {
            error: ParseError::InvalidHeaderValue,
            ..
        }
    ));
    assert!(started.elapsed().as_secs() < 1);
}

#[test]
fn duplicate_host_is_400() {
    // B16
    assert_eq!(
        error(b"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"),
        ParseError::DuplicateHeader("Host")
    );
    assert_eq!(
        error(b"GET / HTTP/1.0\r\nHOST: a\r\nHost: a\r\n\r\n"),
        ParseError::DuplicateHeader("Host")
    );
}

#[test]
fn duplicate_content_type_is_400() {
    // B17
    assert_eq!(
        error(b"GET / HTTP/1.1\r\nHost: a\r\nContent-Type: a\r\nContent-Type: a\r\n\r\n"),
        ParseError::DuplicateHeader("Content-Type")
    );
}

#[test]
fn differing_content_lengths_are_400() {
    // B18, CVE-2019-16792
    assert_eq!(
        error(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\nContent-Length: 20\r\n\r\n"),
        ParseError::DuplicateHeader("Content-Length")
    );
}

#[test]
fn identical_content_lengths_collapse_to_one() {
    // B18, unlike Waitress HEAD (400): RFC 9110 §8.6 lets a recipient accept
    // repeats of the same value, as hyper does.
    let mut request =
        request(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi");
    assert_eq!(request.header("CONTENT_LENGTH"), Some("2"));
    assert_eq!(body_of(&mut request), b"hi");
}

#[test]
fn http11_without_host_is_400_unlike_waitress() {
    // B19, RFC 9112 §3.2
    assert_eq!(error(b"GET / HTTP/1.1\r\n\r\n"), ParseError::MissingHost);
    assert!(request(b"GET / HTTP/1.0\r\n\r\n").header("HOST").is_none());
}

#[test]
fn invalid_host_values_are_400() {
    assert_eq!(
        error(b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n"),
        ParseError::InvalidHost
    );
    assert_eq!(
        error(b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"),
        ParseError::InvalidHost
    );
    assert_eq!(
        error(b"GET / HTTP/1.1\r\nHost: u@h\r\n\r\n"),
        ParseError::InvalidHost
    );
    assert_eq!(
        request(b"GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n").header("HOST"),
        Some("[::1]:80")
    );
    assert_eq!(
        request(b"GET / HTTP/1.1\r\nHost:\r\n\r\n").header("HOST"),
        Some("")
    );
}

#[test]
fn headers_in_several_reads_under_the_limit_are_fine() {
    // B20
    let wire = b"GET / HTTP/1.1\r\nHost: x\r\nX: 0123456789\r\n\r\n";
    let limits = small_limits(wire.len() + 1, 100);
    let mut parser = RequestParser::new(limits);
    assert!(matches!(
        parser.received(&wire[..20]).status,
        Status::NeedMore
    ));
    assert!(matches!(
        parser.received(&wire[20..]).status,
        Status::Complete(_)
    ));
}

#[test]
fn many_distinct_fields_parse_in_linear_time() {
    let mut wire = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..20_000 {
        wire.extend_from_slice(format!("h{i}: v\r\n").as_bytes());
    }
    wire.extend_from_slice(b"h7: again\r\n\r\n");
    let mut parser = RequestParser::new(Limits::default());
    let Status::Complete(request) = parser.received(&wire).status else {
        panic!()
    };
    assert_eq!(request.headers().len(), 20_001);
    assert_eq!(request.header("H7"), Some("v, again"));
}

#[test]
fn interleaved_repeats_are_joined_at_the_place_of_their_first_line() {
    let request = request(
        b"GET / HTTP/1.1\r\nA: 1\r\nAccept: x\r\nb: 2\r\nHost: h\r\na: 3\r\nC: 4\r\nB: 5\r\naccept: y\r\nA: 6\r\n\r\n",
    );
    let headers: Vec<(&str, &str)> = request.headers().collect();
    assert_eq!(
        headers,
        [
            ("A", "1, 3, 6"),
            ("ACCEPT", "x, y"),
            ("B", "2, 5"),
            ("HOST", "h"),
            ("C", "4"),
        ]
    );
}

#[test]
fn many_repeats_of_one_name_are_joined_in_arrival_order() {
    // Each value is copied once more when its field is joined at the end of
    // the head: 5,000 repeats cost 5,000 copies, not 5,000² bytes.
    let mut wire = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..5_000 {
        wire.extend_from_slice(format!("X-Many: {i}\r\nAccept: a{i}\r\n").as_bytes());
    }
    wire.extend_from_slice(b"\r\n");
    let request = request(&wire);
    let joined = |prefix: &str| {
        (0..5_000)
            .map(|i| format!("{prefix}{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    assert_eq!(request.header("X_MANY"), Some(joined("").as_str()));
    assert_eq!(request.header("ACCEPT"), Some(joined("a").as_str()));
    assert_eq!(request.headers().len(), 3);
}

#[test]
fn many_distinct_uncommon_names_keep_their_values_and_order() {
    // Past 16 uncommon names, repeats are found through a hash index.
    let mut wire = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..3_000 {
        wire.extend_from_slice(format!("X-Name-{i}: v{i}\r\n").as_bytes());
    }
    for i in (0..3_000).step_by(1_000) {
        wire.extend_from_slice(format!("x-name-{i}: again ").as_bytes());
        wire.extend_from_slice(b"\xe9\r\n"); // obs-text: latin-1 é
    }
    wire.extend_from_slice(b"X_Name_1: dropped\r\n\r\n");
    let request = request(&wire);
    let mut expected = vec![("HOST".to_string(), "x".to_string())];
    for i in 0..3_000 {
        let again = if i % 1_000 == 0 { ", again \u{e9}" } else { "" };
        expected.push((format!("X_NAME_{i}"), format!("v{i}{again}")));
    }
    let headers: Vec<(String, String)> = request
        .headers()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    assert_eq!(headers, expected);
    assert_eq!(request.to_cgi_headers().len(), 3_001);
}

// ---------------------------------------------------------------- content-length and limits

#[test]
fn content_length_body_is_read() {
    // C01
    let mut request = request(
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
    );
    assert_eq!(request.header("CONTENT_LENGTH"), Some("5"));
    assert_eq!(request.header("CONTENT_TYPE"), Some("text/plain"));
    assert_eq!(body_of(&mut request), b"hello");
}

#[test]
fn content_length_zero_is_an_empty_body() {
    // C02
    let request = request(b"GET / HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(request.header("CONTENT_LENGTH"), Some("0"));
    assert!(request.body.is_empty());
}

#[test]
fn content_length_must_be_plain_digits() {
    // C03, CVE-2019-16792, CVE-2022-24761, tiny_http `+3`
    for value in [
        "+5", "-1", "0x5", "1 2", "5, 5", "", "abc", "+10", "5,", "\u{661}",
    ] {
        let wire = format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {value}\r\n\r\n");
        assert_eq!(
            error(wire.as_bytes()),
            ParseError::InvalidContentLength,
            "{value:?}"
        );
    }
    assert_eq!(
        error(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
        ParseError::InvalidContentLength
    );
}

#[test]
fn content_length_with_leading_zeros_and_spaces() {
    // C04
    let mut zeros = request(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0005\r\n\r\nhello");
    assert_eq!(zeros.header("CONTENT_LENGTH"), Some("0005"));
    assert_eq!(body_of(&mut zeros), b"hello");
    assert_eq!(
        request(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length:  3 \r\n\r\nabc")
            .body
            .len(),
        3
    );
}

#[test]
fn content_length_at_or_above_the_limit_is_413_before_the_body() {
    // C05, C06
    let limits = small_limits(1000, 10);
    let ok = feed_with(
        limits,
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n123456789",
    );
    assert!(matches!(ok.1, Outcome::Complete(_)));
    let head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n";
    let (consumed, outcome) = feed_with(limits, head);
    assert!(matches!(
        outcome,
        Outcome::Error(ParseError::BodyTooLarge { limit: 10 }, Version::Http11)
    ));
    assert_eq!(consumed, head.len());
    let error =
        error(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551615\r\n\r\n");
    assert_eq!(error.status(), 413);
}

#[test]
fn header_section_at_the_limit_is_431() {
    // C07: the limit counts the request line, the fields and the final CRLF.
    let wire = b"GET / HTTP/1.0\r\nX: 0123456789\r\n\r\n"; // 33 bytes
    assert!(matches!(
        feed_with(small_limits(34, 10), wire).1,
        Outcome::Complete(_)
    ));
    let (error, version) = error_with(small_limits(33, 10), wire);
    assert_eq!(error, ParseError::HeaderSectionTooLarge { limit: 33 });
    assert_eq!(error.status(), 431);
    assert_eq!(version, Version::Http10);
    let unterminated = [b"GET / HTTP/1.0\r\n".as_slice(), &[b'a'; 219]].concat();
    assert_eq!(
        error_with(small_limits(100, 10), &unterminated).0.status(),
        431
    );
}

#[test]
fn leading_empty_lines_count_toward_the_header_limit() {
    let wire = b"\r\n\r\n\r\nGET / HTTP/1.0\r\n\r\n"; // 24 bytes
    assert!(matches!(
        feed_with(small_limits(25, 10), wire).1,
        Outcome::Complete(_)
    ));
    // The final CRLF reaches the limit, so it is the header section's fault.
    assert_eq!(error_with(small_limits(24, 10), wire).0.status(), 431);
    assert_eq!(error_with(small_limits(4, 10), wire).0.status(), 414);
}

#[test]
fn request_line_alone_at_the_limit_is_414() {
    let long_target = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(200));
    let (error, version) = error_with(small_limits(100, 10), long_target.as_bytes());
    assert_eq!(error, ParseError::RequestLineTooLong { limit: 100 });
    assert_eq!(error.status(), 414);
    assert_eq!(version, Version::Http10);
}

#[test]
fn parser_memory_stays_below_the_header_limit() {
    let mut parser = RequestParser::new(small_limits(100, 10));
    let mut outcome = None;
    for _ in 0..1000 {
        let received = parser.received(b"aaaaaaaaaa");
        if let Status::Error { error, .. } = received.status {
            outcome = Some(error);
            break;
        }
    }
    assert_eq!(outcome, Some(ParseError::RequestLineTooLong { limit: 100 }));
    assert_eq!(parser.received(b"more").consumed, 0);
}

#[test]
fn bytes_after_the_body_are_left_for_the_next_request() {
    // C09, C12, C14
    let wire =
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /noread HTTP/1.1\r\n\r\n";
    let (consumed, outcome) = feed(wire);
    let Outcome::Complete(mut request) = outcome else {
        panic!()
    };
    assert_eq!(body_of(&mut request), b"abc");
    assert_eq!(&wire[consumed..], b"GET /noread HTTP/1.1\r\n\r\n");
}

#[test]
fn a_finished_parser_consumes_nothing() {
    let mut parser = RequestParser::new(Limits::default());
    assert!(matches!(
        parser.received(b"GET / HTTP/1.0\r\n\r\n").status,
        Status::Complete(_)
    ));
    assert!(parser.is_finished());
    let again = parser.received(b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(again.consumed, 0);
    assert!(matches!(again.status, Status::NeedMore));
}

#[test]
fn a_large_body_is_spooled_to_a_file() {
    // C15
    let mut wire = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 600000\r\n\r\n".to_vec();
    wire.extend((0..600_000u32).map(|i| (i % 251) as u8));
    let mut parser = RequestParser::new(Limits::default());
    let Status::Complete(mut request) = parser.received(&wire).status else {
        panic!()
    };
    assert!(request.body.is_file());
    let body = body_of(&mut request);
    assert_eq!(body.len(), 600_000);
    assert!(body.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
    let small = request_from(
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9000\r\n\r\n",
        9000,
    );
    assert!(!small.body.is_file());
}

fn request_from(head: &[u8], body_len: usize) -> Request {
    let mut wire = head.to_vec();
    wire.resize(head.len() + body_len, b'x');
    let mut parser = RequestParser::new(Limits::default());
    let Status::Complete(request) = parser.received(&wire).status else {
        panic!()
    };
    request
}

#[test]
fn bodies_keep_embedded_crlf() {
    // C16
    let mut request =
        request(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 18\r\n\r\nEcho\r\nthis\r\nplease");
    assert_eq!(body_of(&mut request), b"Echo\r\nthis\r\nplease");
}

// ---------------------------------------------------------------- transfer-encoding and chunked

fn chunked(body: &[u8]) -> Vec<u8> {
    [
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".as_slice(),
        body,
    ]
    .concat()
}

#[test]
fn chunked_body_is_decoded_and_framing_headers_rewritten() {
    // D01
    let mut request = request(&chunked(
        b"5\r\nhello\r\n6;ext=1;e2=\"q\"\r\n world\r\n0\r\n\r\n",
    ));
    assert_eq!(body_of(&mut request), b"hello world");
    assert_eq!(request.header("CONTENT_LENGTH"), Some("11"));
    assert_eq!(request.header("TRANSFER_ENCODING"), None);
}

#[test]
fn empty_chunked_body() {
    // D02
    let request = request(&chunked(b"0\r\n\r\n"));
    assert_eq!(request.header("CONTENT_LENGTH"), Some("0"));
    assert!(request.body.is_empty());
}

#[test]
fn many_chunks_arriving_separately() {
    // D03
    let mut parser = RequestParser::new(Limits::default());
    let head = chunked(b"");
    assert!(matches!(parser.received(&head).status, Status::NeedMore));
    for _ in 0..12 {
        let chunk = [b"20\r\n".as_slice(), &[b'z'; 32], b"\r\n"].concat();
        assert!(matches!(parser.received(&chunk).status, Status::NeedMore));
    }
    let Status::Complete(request) = parser.received(b"0\r\n\r\n").status else {
        panic!()
    };
    assert_eq!(request.header("CONTENT_LENGTH"), Some("384"));
}

#[test]
fn chunk_sizes_and_te_values_are_case_insensitive() {
    // D04
    let mut sizes = request(&chunked(b"A\r\n0123456789\r\n0005\r\nabcde\r\n0\r\n\r\n"));
    assert_eq!(body_of(&mut sizes), b"0123456789abcde");
    for te in ["CHUNKED", "ChUnKed", "chunked ", ",chunked", "chunked,"] {
        // D16: empty list elements are ignored
        let wire =
            format!("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: {te}\r\n\r\n0\r\n\r\n");
        assert!(request(wire.as_bytes()).body.is_empty(), "{te:?}");
    }
}

#[test]
fn trailer_fields_are_validated_and_discarded() {
    // D05
    let request = request(&chunked(b"1\r\na\r\n0\r\nX-T: 1\r\nExpires: never\r\n\r\n"));
    assert_eq!(request.header("X_T"), None);
    assert_eq!(
        error(&chunked(b"0\r\nX-T : 1\r\n\r\n")),
        ParseError::WhitespaceBeforeColon
    );
    assert_eq!(
        error(&chunked(b"0\r\nX-T: a\x00\r\n\r\n")),
        ParseError::InvalidHeaderValue
    );
    assert_eq!(
        error(&chunked(b"0\r\nX-T: 1\n\r\n")),
        ParseError::BareLineFeed
    );
    assert_eq!(
        error(&chunked(b"0\r\nX-T: 1\r\n folded\r\n\r\n")),
        ParseError::ObsoleteLineFolding
    );
}

#[test]
fn trailer_section_at_the_header_limit_is_431() {
    let limits = small_limits(100, 1000);
    let trailer = format!("0\r\nX: {}\r\n\r\n", "t".repeat(120));
    let (error, _) = error_with(limits, &chunked(trailer.as_bytes()));
    assert_eq!(error, ParseError::TrailerSectionTooLarge { limit: 100 });
    assert_eq!(error.status(), 431);
}

#[test]
fn invalid_chunk_sizes_are_400() {
    // D06
    for size in [
        "0x5", "0x20", "+0x04", "x04", "+04", " 04", " 0x04", "5 ", "5\t", "5 x", "5 =a", "-1",
        "g", "",
    ] {
        let wire = chunked(format!("{size}\r\nhello\r\n0\r\n\r\n").as_bytes());
        assert_eq!(error(&wire), ParseError::InvalidChunkSize, "{size:?}");
        assert_eq!(detail(&wire), "Invalid chunk size", "{size:?}");
    }
}

#[test]
fn chunk_size_of_more_than_16_hex_digits_is_400_and_says_too_large() {
    for wire in [
        chunked(b"00000000000000005\r\nhello\r\n0\r\n\r\n"),
        chunked(b"10000000000000000\r\n"),
    ] {
        assert_eq!(status(&wire), 400);
        assert_eq!(detail(&wire), "Chunk size is too large");
    }
}

#[test]
fn invalid_chunk_extensions_are_400() {
    // D07
    for extension in [
        ";",
        ";invalid=",
        ";a=\"open",
        ";a=b c",
        ";=b",
        ";a=\"\x01\"",
        // BWS belongs before `;` and around `=`, never before the CRLF.
        "; ",
        ";a ",
        ";a=b ",
        ";a=\"x\"\t",
        ";a= ",
        "; =b",
        ";a = ",
        ";a b",
        ";a=\"x\" y",
        " ; ;b",
        // Only SP and HTAB are whitespace.
        ";a\x0b=b",
        "\x0c;a",
    ] {
        let wire = chunked(format!("4{extension}\r\nWiki\r\n0\r\n\r\n").as_bytes());
        let expected = if extension.starts_with('\x0c') {
            "Invalid chunk size" // not whitespace: the size goes on
        } else {
            "Invalid chunk extension"
        };
        assert_eq!(status(&wire), 400, "{extension:?}");
        assert_eq!(detail(&wire), expected, "{extension:?}");
    }
    assert_eq!(error(&chunked(b"4 ;a =\nb")), ParseError::BareLineFeed);
    assert_eq!(
        error(&chunked(b"4 ;a\r b\r\n")),
        ParseError::BareCarriageReturn
    );
    assert_eq!(error(&chunked(b"4;\n")), ParseError::BareLineFeed);
    assert_eq!(
        error(&chunked(b"4;a\r\r\n")),
        ParseError::BareCarriageReturn
    );
}

#[test]
fn valid_chunk_extensions_are_ignored() {
    // D08
    for extension in [
        ";test",
        ";valid=true",
        ";valid=true;other=true",
        ";e2=\"q\"",
        ";q=\"a\\\"b\"",
        // RFC 9112 §7.1.1 has BWS around `;` and `=`, and RFC 9110 §5.6.3
        // says a recipient MUST parse it.
        " ; name = value",
        ";name=\"quoted value\"",
        " ;a;b=c",
        "\t;\ta\t=\t\"x y\"\t ;b ;c",
        ";a ;b = c ; d",
    ] {
        let wire = chunked(format!("4{extension}\r\nWiki\r\n0{extension}\r\n\r\n").as_bytes());
        assert_eq!(request(&wire).body.len(), 4, "{extension:?}");
    }
}

#[test]
fn chunk_extensions_are_bounded() {
    let long = format!("1;a={}\r\nx\r\n0\r\n\r\n", "v".repeat(20_000));
    assert_eq!(
        error(&chunked(long.as_bytes())),
        ParseError::ChunkExtensionsTooLarge
    );
    // Whitespace counts too: endless BWS is refused like an endless name.
    for spaces in [
        format!("1{};a\r\nx\r\n0\r\n\r\n", " ".repeat(20_000)),
        format!("1;a{}=b\r\nx\r\n0\r\n\r\n", "\t".repeat(20_000)),
    ] {
        assert_eq!(
            error(&chunked(spaces.as_bytes())),
            ParseError::ChunkExtensionsTooLarge
        );
    }
}

#[test]
fn chunk_data_must_be_followed_by_exactly_crlf() {
    // D09
    assert_eq!(
        error(&chunked(b"5\r\nhelloXX0\r\n\r\n")),
        ParseError::ChunkNotTerminated
    );
    assert_eq!(
        error(&chunked(b"5\r\nhello\n0\r\n\r\n")),
        ParseError::BareLineFeed
    );
    assert_eq!(
        error(&chunked(b"5\r\nhello\rX0\r\n\r\n")),
        ParseError::ChunkNotTerminated
    );
    assert_eq!(
        error(&chunked(b"4\r\nWikibadchunk\r\n")),
        ParseError::ChunkNotTerminated
    );
}

#[test]
fn garbage_instead_of_a_size_line_is_400() {
    // D10
    assert_eq!(
        error(&chunked(b"5\r\nhello\r\ngarbage\r\n")),
        ParseError::InvalidChunkSize
    );
}

#[test]
fn chunks_split_at_cr_and_lf() {
    // D11
    let wire = chunked(b"4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n");
    let mut request = request(&wire); // `request` also feeds it byte by byte
    assert_eq!(body_of(&mut request), b"Wikipedia in\r\n\r\nchunks.");
}

#[test]
fn bare_lf_after_chunk_size_is_400_unlike_waitress() {
    // D12: Python's `$` lets Waitress accept `5\n` and `5;a\n`.
    assert_eq!(
        error(&chunked(b"5\n\r\nhello\r\n0\r\n\r\n")),
        ParseError::BareLineFeed
    );
    assert_eq!(
        error(&chunked(b"5;a\n\r\nhello\r\n0\r\n\r\n")),
        ParseError::BareLineFeed
    );
}

#[test]
fn blank_line_between_chunks_is_400_unlike_waitress() {
    // D13
    assert_eq!(
        error(&chunked(b"5\r\nhello\r\n\r\n0\r\n\r\n")),
        ParseError::InvalidChunkSize
    );
}

#[test]
fn transfer_codings_other_than_chunked_are_501() {
    // D14, CVE-2019-16786 and CVE-2019-16789 (\x85 is not whitespace)
    for te in [
        &b"gzip, chunked"[..],
        b"identity",
        b"foo",
        b"gzip",
        b"\x85chunked",
        b"chun\xe2\x84\xaaed",
    ] {
        let mut wire = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ".to_vec();
        wire.extend_from_slice(te);
        wire.extend_from_slice(b"\r\n\r\n0\r\n\r\n");
        let error = error(&wire);
        assert_eq!(error, ParseError::UnsupportedTransferCoding, "{te:?}");
        assert_eq!(error.status(), 501);
    }
    assert_eq!(
        error(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"),
        ParseError::UnsupportedTransferCoding
    );
}

#[test]
fn chunked_not_last_is_400() {
    // D14, unlike Waitress (501): RFC 9112 §6.3 calls this a 400.
    assert_eq!(
        error(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
        ParseError::InvalidTransferEncoding
    );
}

#[test]
fn chunked_twice_is_400() {
    // D15: Waitress HEAD answers 501, 3.0.2 accepts; a doubled chunked is a
    // framing error (RFC 9112 §6.1: MUST NOT apply chunked more than once).
    assert_eq!(
        error(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked,chunked\r\n\r\n"),
        ParseError::InvalidTransferEncoding
    );
    assert_eq!(
        error(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
        ParseError::InvalidTransferEncoding
    );
    assert_eq!(
        error(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \r\n\r\n"),
        ParseError::InvalidTransferEncoding
    );
}

#[test]
fn te_and_cl_chunked_wins_and_the_connection_closes_unlike_waitress() {
    // D17: Waitress sets the close flag but never reads it (Q1).
    let wire = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /second HTTP/1.1\r\n";
    let (consumed, outcome) = feed(wire);
    let Outcome::Complete(mut request) = outcome else {
        panic!()
    };
    assert!(request.close_after);
    assert_eq!(body_of(&mut request), b"abc");
    assert_eq!(request.header("CONTENT_LENGTH"), Some("3"));
    assert_eq!(
        request
            .headers()
            .filter(|&(name, _)| name == "CONTENT_LENGTH")
            .count(),
        1
    );
    assert_eq!(&wire[consumed..], b"GET /second HTTP/1.1\r\n");
}

#[test]
fn te_on_http10_is_400_unlike_waitress() {
    // D18: Waitress ignores it and frames by Content-Length.
    assert_eq!(
        error(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
        ParseError::TransferEncodingInHttp10
    );
}

#[test]
fn chunked_limit_counts_decoded_bytes_unlike_waitress() {
    // D19: Waitress counts wire bytes (framing included); the limit here means
    // the same for both framings: the body the application sees.
    let limits = small_limits(1000, 10);
    let ok = feed_with(limits, &chunked(b"3\r\nabc\r\n0\r\n\r\n"));
    assert!(matches!(ok.1, Outcome::Complete(_)));
    let nine = feed_with(limits, &chunked(b"5\r\nhello\r\n4\r\nabcd\r\n0\r\n\r\n"));
    assert!(matches!(nine.1, Outcome::Complete(_)));
}

#[test]
fn chunk_reaching_the_body_limit_is_413_before_its_data() {
    // D21, D20 (Waitress: 413 after reading; here: as soon as the size is
    // read). Waitress's D21 bytes `1d;` end in an empty extension, which is a
    // 400 here: Waitress's size check runs before its framing checks.
    let limits = small_limits(1000, 10);
    assert_eq!(
        error_with(limits, &chunked(b"1d;\r\n")).0,
        ParseError::InvalidChunkExtension
    );
    let (_, outcome) = feed_with(limits, &chunked(b"1d\r\n"));
    assert!(matches!(
        outcome,
        Outcome::Error(ParseError::BodyTooLarge { limit: 10 }, _)
    ));
    let two = chunked(b"5\r\nhello\r\n5\r\nworld\r\n");
    assert_eq!(
        error_with(limits, &two).0,
        ParseError::BodyTooLarge { limit: 10 }
    );
    let missing_crlf = chunked(&[b"20\r\n".as_slice(), &[b'x'; 32]].concat().repeat(3));
    assert_eq!(
        error_with(small_limits(1000, 1000), &missing_crlf).0,
        ParseError::ChunkNotTerminated
    );
}

// ---------------------------------------------------------------- expect and connection

#[test]
fn expect_continue_with_a_body_is_reported_once_before_the_body() {
    let wire = b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\nhi";
    let mut parser = RequestParser::new(Limits::default());
    let first = parser.received(wire);
    assert!(matches!(first.status, Status::ExpectContinue));
    assert_eq!(first.consumed, wire.len() - 2);
    let second = parser.received(&wire[first.consumed..]);
    let Status::Complete(request) = second.status else {
        panic!()
    };
    assert!(request.expect_continue);
    assert_eq!(request.body.len(), 2);
}

#[test]
fn expect_continue_without_a_body_is_complete_unlike_waitress() {
    // Q5: Waitress never dispatches this request.
    let wire = b"GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n";
    let request = request(wire);
    assert!(!request.expect_continue);
    let zero = request_from(
        b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n",
        0,
    );
    assert!(!zero.expect_continue);
}

#[test]
fn expect_continue_on_http10_is_ignored() {
    let wire = b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi";
    let mut parser = RequestParser::new(Limits::default());
    let Status::Complete(request) = parser.received(wire).status else {
        panic!()
    };
    assert!(!request.expect_continue);
}

#[test]
fn other_expectations_are_417() {
    let error = error(b"GET / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n");
    assert_eq!(error, ParseError::UnsupportedExpectation);
    assert_eq!(error.status(), 417);
}

#[test]
fn connection_is_a_list_of_case_insensitive_tokens_unlike_waitress() {
    // Q3, E03: Waitress only matches the exact value `close`.
    assert!(request(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close, te\r\n\r\n").close_after);
    assert!(request(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: CLOSE\r\n\r\n").close_after);
    assert!(
        request(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: te\r\nConnection: Close\r\n\r\n")
            .close_after
    );
    assert!(!request(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n").close_after);
    assert!(!request(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: closed\r\n\r\n").close_after);
}

// ---------------------------------------------------------------- errors

#[test]
fn every_error_maps_to_its_status_and_reason() {
    use ParseError::*;
    let cases = [
        (BareLineFeed, 400),
        (InvalidRequestLine, 400),
        (RequestLineTooLong { limit: 1 }, 414),
        (HeaderSectionTooLarge { limit: 1 }, 431),
        (TrailerSectionTooLarge { limit: 1 }, 431),
        (BodyTooLarge { limit: 1 }, 413),
        (UnsupportedExpectation, 417),
        (UnsupportedTransferCoding, 501),
        (ConnectNotSupported, 501),
        (UnsupportedVersion, 505),
        (BodyStorage("disk full".into()), 500),
    ];
    for (error, status) in cases {
        let http = HttpError::from(error.clone());
        assert_eq!(http.status, status, "{error:?}");
        assert!(!http.reason().is_empty());
        assert_eq!(http.detail, error.to_string());
    }
    assert_eq!(
        HttpError::from(HeaderSectionTooLarge { limit: 100 }).detail,
        "exceeds max_header of 100"
    );
}

// ---------------------------------------------------------------- pipelining (E) and expect (F)

/// Parses every request in `wire` the way a channel does: a fresh parser
/// per request, fed the bytes the previous one left.
fn parse_pipeline(wire: &[u8]) -> Vec<Result<Request, ParseError>> {
    let mut results = Vec::new();
    let mut rest = wire;
    while !rest.is_empty() {
        let mut parser = RequestParser::new(Limits::default());
        loop {
            let received = parser.received(rest);
            rest = &rest[received.consumed..];
            match received.status {
                Status::ExpectContinue => continue,
                Status::NeedMore => return results,
                Status::Complete(request) => {
                    let close = request.close_after;
                    results.push(Ok(request));
                    if close {
                        return results;
                    }
                    break;
                }
                Status::Error { error, .. } => {
                    results.push(Err(error));
                    return results; // the connection closes: nothing more is read
                }
            }
        }
    }
    results
}

#[test]
fn three_pipelined_requests_parse_in_order_and_the_last_closes() {
    // E07 (with the Host that HTTP/1.1 requires here)
    let wire = b"GET /p1 HTTP/1.1\r\nHost: x\r\n\r\nGET /p2 HTTP/1.1\r\nHost: x\r\n\r\nGET /p3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /p4 HTTP/1.1\r\n\r\n";
    let results = parse_pipeline(wire);
    let targets: Vec<_> = results
        .iter()
        .map(|r| r.as_ref().unwrap().target().to_string())
        .collect();
    assert_eq!(targets, ["/p1", "/p2", "/p3"]);
    assert!(results[2].as_ref().unwrap().close_after);
}

#[test]
fn twenty_five_pipelined_http10_requests_with_bodies() {
    // E08
    let mut wire = Vec::new();
    for n in 0..25 {
        let body = format!("Response #{n}\r\n");
        let connection = if n == 24 { "close" } else { "keep-alive" };
        wire.extend_from_slice(
            format!(
                "GET / HTTP/1.0\r\nConnection: {connection}\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
    }
    let results = parse_pipeline(&wire);
    assert_eq!(results.len(), 25);
    for (n, result) in results.into_iter().enumerate() {
        let mut request = result.unwrap();
        assert_eq!(
            body_of(&mut request),
            format!("Response #{n}\r\n").as_bytes()
        );
    }
}

#[test]
fn an_invalid_request_stops_the_pipeline() {
    // E09
    let wire = b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n";
    let results = parse_pipeline(wire);
    assert_eq!(results.len(), 1);
    assert_eq!(
        results[0].as_ref().unwrap_err(),
        &ParseError::InvalidContentLength
    );
}

#[test]
fn expect_continue_any_case_is_reported_for_a_body() {
    // F01, F02
    for value in ["100-continue", "100-Continue", "100-CONTINUE"] {
        let wire =
            format!("POST / HTTP/1.1\r\nHost: x\r\nExpect: {value}\r\nContent-Length: 2\r\n\r\nhi");
        let mut parser = RequestParser::new(Limits::default());
        assert!(matches!(
            parser.received(wire.as_bytes()).status,
            Status::ExpectContinue
        ));
    }
}

#[test]
fn unknown_expectation_is_417_unlike_waitress() {
    // F02: Waitress ignores `Expect: foo`; RFC 9110 §10.1.1 allows a 417.
    assert_eq!(
        error(b"POST / HTTP/1.1\r\nHost: x\r\nExpect: foo\r\nContent-Length: 2\r\n\r\nhi"),
        ParseError::UnsupportedExpectation
    );
}

#[test]
fn http10_expect_continue_waits_for_the_body_without_a_continue() {
    // F03
    let mut parser = RequestParser::new(Limits::default());
    let received =
        parser.received(b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    assert!(matches!(received.status, Status::NeedMore));
}

#[test]
fn bodiless_expect_continue_does_not_leak_into_the_next_request() {
    // F05: Waitress merges the next request's headers into this one.
    let wire = b"GET /first HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n";
    let results = parse_pipeline(wire);
    assert_eq!(results.len(), 2);
    let second = results[1].as_ref().unwrap();
    assert_eq!(second.target(), "/second");
    assert_eq!(second.header("EXPECT"), None);
}

#[test]
fn empty_input_always_needs_more() {
    let mut parser = RequestParser::new(small_limits(0, 0));
    let received = parser.received(b"");
    assert_eq!(received.consumed, 0);
    assert!(matches!(received.status, Status::NeedMore));
    assert_eq!(
        error_with(small_limits(0, 0), b"G").0,
        ParseError::RequestLineTooLong { limit: 0 }
    );
}

#[test]
fn the_head_buffer_is_freed_when_the_body_starts() {
    let mut parser = RequestParser::new(Limits::default());
    for &byte in b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n" {
        assert!(matches!(parser.received(&[byte]).status, Status::NeedMore));
    }
    // Only the body's reservation (5 bytes) is left.
    assert!(
        parser.buffered_capacity() <= 8,
        "{}",
        parser.buffered_capacity()
    );
}
