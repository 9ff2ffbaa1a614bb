//! The exercises of chapter 12: Utilities: dates, URIs, errors.
use std::fs;
use std::time::Duration;

use waitress::apps::StaticFiles;
use waitress::gateway::testing::TestRequest;
use waitress::http::date::parse_http_date;
use waitress::http::error::HttpError;
use waitress::http::parser::{Limits, RequestParser, Status};

use super::static_root;

// ---------------------------------------------------------------------------
// Chapter 12: Utilities: dates, URIs, errors
// ---------------------------------------------------------------------------

// ANCHOR: ch12_calendar
#[test]
#[ignore = "exercise: chapter 12"]
fn ch12_a_day_the_month_does_not_have_is_not_a_date() {
    for impossible in [
        "Tue, 31 Feb 2026 08:49:37 GMT",
        "Sun, 29 Feb 2026 08:49:37 GMT",
        "Mon, 29 Feb 2100 08:49:37 GMT", // divisible by 100: not a leap year
        "Fri, 31 Apr 2026 08:49:37 GMT",
        "Wed, 31 Jun 2026 08:49:37 GMT",
        "Thursday, 31-Sep-26 08:49:37 GMT",
        "Tue Nov 31 08:49:37 2026",
    ] {
        assert_eq!(parse_http_date(impossible), None, "{impossible}");
    }
    for real in [
        "Thu, 29 Feb 2024 08:49:37 GMT",
        "Tue, 29 Feb 2000 08:49:37 GMT", // divisible by 400: a leap year
        "Sat, 28 Feb 2026 08:49:37 GMT",
        "Thu, 30 Apr 2026 08:49:37 GMT",
        "Thu, 31 Dec 2026 23:59:59 GMT",
        "Wednesday, 30-Sep-26 08:49:37 GMT",
        "Mon Nov 30 08:49:37 2026",
    ] {
        assert!(parse_http_date(real).is_some(), "{real}");
    }
}
// ANCHOR_END: ch12_calendar

#[test]
#[ignore = "exercise: chapter 12"]
fn ch12_if_modified_since_with_an_impossible_date_is_ignored() {
    let root = static_root("impossible-date");
    let file = fs::File::options()
        .write(true)
        .open(root.join("hello.txt"))
        .unwrap();
    let year_2020 = std::time::UNIX_EPOCH + Duration::from_secs(1_577_836_800);
    file.set_modified(year_2020).unwrap();
    let app = StaticFiles::new(&root).unwrap();
    let since = |date: &str| {
        TestRequest::get("/hello.txt")
            .header("If-Modified-Since", date)
            .call(&app)
            .unwrap()
            .status_code()
    };
    assert_eq!(since("Sat, 28 Feb 2026 00:00:00 GMT"), 304, "a real date");
    // 31 February is not 3 March: a date the server cannot read is
    // ignored (RFC 9110 §13.1.3), not guessed at.
    assert_eq!(since("Tue, 31 Feb 2026 00:00:00 GMT"), 200, "not a date");
    let _ = fs::remove_dir_all(root);
}

/// The detail of the error the parser answers `wire` with; it must be a 400.
fn detail_of_400(wire: &[u8]) -> String {
    let mut parser = RequestParser::new(Limits::default());
    match parser.received(wire).status {
        Status::Error { error, .. } => {
            let error = HttpError::from(error);
            assert_eq!(error.status, 400, "{error}");
            error.detail
        }
        other => panic!("not refused: {other:?}"),
    }
}

// ANCHOR: ch12_field_name
#[test]
#[ignore = "exercise: chapter 12"]
fn ch12_an_invalid_field_value_is_400_naming_the_field() {
    let wire = b"GET / HTTP/1.1\r\nHost: h\r\nX-Trace: a\x01b\r\n\r\n";
    assert_eq!(detail_of_400(wire), "Invalid header value in X-Trace");
    // A trailer field is checked by the same code.
    let wire = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
                 0\r\nX-Checksum: \x7f\r\n\r\n";
    assert_eq!(detail_of_400(wire), "Invalid header value in X-Checksum");
    // A name can be as long as the head: only its first 64 bytes are copied.
    let name = "N".repeat(1000);
    let wire = format!("GET / HTTP/1.1\r\nHost: h\r\n{name}: \x00\r\n\r\n");
    let expected = format!("Invalid header value in {}...", &name[..64]);
    assert_eq!(detail_of_400(wire.as_bytes()), expected);
}
// ANCHOR_END: ch12_field_name
