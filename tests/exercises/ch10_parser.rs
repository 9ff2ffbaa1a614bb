//! The exercises of chapter 10: Parsing HTTP by hand.

use crate::support::TestServer;
use waitress::http::parser::{Limits, RequestParser, Status};

use super::{hello, request_with_fields};

// ---------------------------------------------------------------------------
// Chapter 10: Parsing HTTP by hand
// ---------------------------------------------------------------------------

// ANCHOR: ch10_obs_fold
#[test]
#[ignore = "exercise: chapter 10"]
fn ch10_obs_fold_becomes_a_space() {
    let mut parser = RequestParser::new(Limits::default());
    let wire = b"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\nY: c\r\n\t\td\r\n\r\n";
    let received = parser.received(wire);
    let Status::Complete(request) = received.status else {
        panic!("refused: {:?}", received.status)
    };
    assert_eq!(request.header("X"), Some("a b"));
    assert_eq!(request.header("Y"), Some("c d"));
}
// ANCHOR_END: ch10_obs_fold

#[test]
#[ignore = "exercise: chapter 10"]
fn ch10_too_many_header_fields_are_a_431() {
    let server = TestServer::start(hello, |b| {
        b.set("max_request_header_count", "3")
            .expect("chapter 17's setting")
    });
    let three = server.exchange(&request_with_fields(3));
    assert!(three.starts_with("HTTP/1.1 200 "), "{three}");
    let four = server.exchange(&request_with_fields(4));
    assert!(four.starts_with("HTTP/1.1 431 "), "{four}");
}

#[test]
#[ignore = "exercise: chapter 10"]
fn ch10_the_default_field_count_limit_is_100() {
    let mut parser = RequestParser::new(Limits::default());
    let received = parser.received(&request_with_fields(100));
    assert!(
        matches!(received.status, Status::Complete(_)),
        "{:?}",
        received.status
    );
    let server = TestServer::start(hello, |b| b);
    let many = server.exchange(&request_with_fields(101));
    assert!(many.starts_with("HTTP/1.1 431 "), "{many}");
}
