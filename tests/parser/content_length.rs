//! Content-Length bodies, and the limits on the head and the body.

use crate::{
    Outcome, body_of, error, error_with, feed, feed_with, request, request_from, small_limits,
};
use waitress::http::parser::{Limits, ParseError, RequestParser, Status, Version};

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

#[test]
fn bodies_keep_embedded_crlf() {
    // C16
    let mut request =
        request(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 18\r\n\r\nEcho\r\nthis\r\nplease");
    assert_eq!(body_of(&mut request), b"Echo\r\nthis\r\nplease");
}
