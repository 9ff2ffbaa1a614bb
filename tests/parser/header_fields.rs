//! Header fields: names, values, repeats, Host, and the cost of many fields.

use crate::{body_of, detail, error, request, small_limits, status};
use waitress::http::parser::{Limits, ParseError, RequestParser, Status};

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
        detail(b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n"),
        "Host header is invalid: invalid character ' ' in the host"
    );
    assert_eq!(
        detail(b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"),
        "Host header is invalid: invalid character '/' in the host"
    );
    assert_eq!(
        detail(b"GET / HTTP/1.1\r\nHost: u@h\r\n\r\n"),
        "Host header is invalid: userinfo is not allowed"
    );
    // RFC 9112 §3.2: a Host that is not a valid authority is a 400.
    for (host, reason) in [
        ("a.example:99999", "the port is greater than 65535"),
        ("a.example:8o", "the port is not a number"),
        ("[::g]:80", "invalid IPv6 address literal"),
        ("a%zz.example", "invalid percent-encoding in the host"),
        (":80", "the host is empty"),
    ] {
        let wire = format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n");
        assert_eq!(
            detail(wire.as_bytes()),
            format!("Host header is invalid: {reason}")
        );
    }
    for host in ["a.example", "a.example:", "A.Example:08080"] {
        let wire = format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n");
        assert_eq!(request(wire.as_bytes()).header("HOST"), Some(host));
    }
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
