//! The request parser, rule by rule, with the exact bytes.
//!
//! Rows of Waitress's black-box catalogue (reference waitress.md §5.2) are
//! named in comments as `A01`, `B02`, … Where this parser deliberately
//! differs from Waitress, the test name or comment says so ("unlike
//! Waitress"). Every helper feeds the bytes both whole and one byte at a
//! time, and checks that both give the same answer.
//!
//! This file holds the helpers; the tests are in one module per part of a
//! request, in the order the parser meets them: `request_line` (method,
//! target, version), `header_fields` (names, values, repeats, Host),
//! `content_length` (bodies by length, and the size limits), `chunked`
//! (Transfer-Encoding, chunk sizes, extensions, trailers), `expect`
//! (`Expect: 100-continue`, `Connection`), `errors` (each `ParseError`'s
//! status, reason and detail) and `pipelining` (several requests on one
//! connection, catalogue E, and Expect on the wire, F).

mod chunked;
mod content_length;
mod errors;
mod expect;
mod header_fields;
mod pipelining;
mod request_line;

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

/// The `detail` of the error a request gets: the text its 400 carries.
#[track_caller]
fn detail(wire: &[u8]) -> String {
    HttpError::from(error(wire)).detail
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
