//! The exercises of chapter 12, "Utilities: dates, URIs, errors": the
//! RFC 850 two-digit year, and a Host header checked as an authority.

use std::time::SystemTime;

use waitress::http::date::{format_http_date, parse_http_date};
use waitress::http::error::HttpError;
use waitress::http::parser::{Limits, RequestParser, Status};

// ---------------------------------------------------------------------------
// Exercise 12.1: an RFC 850 year is within 50 years of now
// ---------------------------------------------------------------------------

/// The current year, read from today's `Date` header.
fn this_year() -> i64 {
    let today = format_http_date(SystemTime::now());
    today.split(' ').nth(3).unwrap().parse().unwrap()
}

// ANCHOR: ch12_rfc850
#[test]
#[ignore = "exercise: chapter 12"]
fn ch12_rfc850_years_are_read_within_50_years_of_now() {
    let now = this_year();
    for year in now - 49..=now + 49 {
        let two_digits = year.rem_euclid(100);
        let rfc850 = format!("Sunday, 06-Nov-{two_digits:02} 08:49:37 GMT");
        let fixdate = format!("Sun, 06 Nov {year} 08:49:37 GMT");
        assert!(parse_http_date(&fixdate).is_some(), "{fixdate}");
        assert_eq!(
            parse_http_date(&rfc850),
            parse_http_date(&fixdate),
            "{rfc850} should be in {year}"
        );
    }
}
// ANCHOR_END: ch12_rfc850

// ---------------------------------------------------------------------------
// Exercise 12.2: the Host header is an authority
// ---------------------------------------------------------------------------

/// The detail of the error the parser answers `Host: {host}` with, or
/// `None` when it accepts the request.
fn host_error(host: &str) -> Option<HttpError> {
    let wire = format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n");
    let mut parser = RequestParser::new(Limits::default());
    match parser.received(wire.as_bytes()).status {
        Status::Complete(_) => None,
        Status::Error { error, .. } => Some(HttpError::from(error)),
        other => panic!("{host:?}: {other:?}"),
    }
}

// ANCHOR: ch12_host
#[test]
#[ignore = "exercise: chapter 12"]
fn ch12_an_invalid_host_header_is_400_naming_the_fault() {
    for (host, reason) in [
        ("a.example:99999", "the port is greater than 65535"),
        ("a.example:8o", "the port is not a number"),
        ("[::g]:80", "invalid IPv6 address literal"),
        ("a%zz.example", "invalid percent-encoding in the host"),
        (":80", "the host is empty"),
        ("a b", "invalid character ' ' in the host"),
    ] {
        let error = host_error(host).unwrap_or_else(|| panic!("{host:?} was accepted"));
        assert_eq!(error.status, 400, "{host:?}");
        assert_eq!(error.detail, format!("Host header is invalid: {reason}"));
    }
}
// ANCHOR_END: ch12_host

#[test]
#[ignore = "exercise: chapter 12"]
fn ch12_valid_host_headers_are_still_accepted() {
    for host in ["", "a.example", "a.example:", "A.Example:08080", "[::1]:80"] {
        assert_eq!(host_error(host), None, "{host:?}");
    }
}
