//! Expect: 100-continue, and Connection as a list of tokens.

use crate::{error, request, request_from};
use waitress::http::parser::{Limits, ParseError, RequestParser, Status};

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
