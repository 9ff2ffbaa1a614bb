//! Pipelined requests (catalogue E) and Expect on the wire (catalogue F).

use crate::{body_of, error, error_with, small_limits};
use waitress::http::parser::{Limits, ParseError, Request, RequestParser, Status};

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
