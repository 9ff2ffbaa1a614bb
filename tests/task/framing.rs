//! Response framing: `Content-Length` or chunked or close-delimited, by
//! version and by what the application gives; `HEAD` and bodiless statuses;
//! the `Date`, `Server` and application headers; file bodies.

use std::io::Cursor;

use waitress::gateway::{AppResult, Body, Environ, StartResponse, headers};
use waitress::http::parser::Version as HttpVersion;
use waitress::logging::{Level, Logger};
use waitress::task::{TaskContext, TaskRequest, WsgiTask};

use super::{app_with, context, read_response, request, run, run_with};

#[test]
fn a_single_buffer_gets_content_length_and_keeps_the_connection() {
    let (response, outcome) = run(&app_with("200 OK", &[], || Body::from("abc")));
    assert_eq!(
        (response.framing, response.body.as_slice()),
        ("length", &b"abc"[..])
    );
    assert_eq!(response.header("Content-Length"), Some("3"));
    assert_eq!(response.header("Connection"), None);
    assert!(!outcome.close);
}

#[test]
fn a_single_chunk_iterator_gets_content_length() {
    let (response, _) = run(&app_with("200 OK", &[], || {
        Body::from_chunks(vec![b"abc".to_vec()])
    }));
    assert_eq!(response.header("Content-Length"), Some("3"));
}

#[test]
fn an_empty_single_chunk_gets_content_length_zero() {
    let (response, outcome) = run(&app_with("200 OK", &[], || {
        Body::from_chunks(vec![Vec::new()])
    }));
    assert_eq!(response.header("Content-Length"), Some("0"));
    assert!(!outcome.close);
}

#[test]
fn unknown_length_on_http11_is_chunked_and_keeps_the_connection() {
    // Waitress closes after every chunked response; we keep it open.
    let (response, outcome) = run(&app_with("200 OK", &[], || {
        Body::from_chunks(vec![b"hello ".to_vec(), b"world".to_vec()])
    }));
    assert_eq!(response.framing, "chunked");
    assert_eq!(response.body, b"hello world");
    assert!(response.complete);
    assert_eq!(response.header("Connection"), None);
    assert!(!outcome.close);
}

#[test]
fn an_empty_iterator_is_a_chunked_empty_body() {
    let (response, outcome) = run(&app_with("200 OK", &[], || {
        Body::from_chunks(Vec::<Vec<u8>>::new())
    }));
    assert_eq!((response.framing, response.body.len()), ("chunked", 0));
    assert!(!outcome.close);
}

#[test]
fn chunk_sizes_are_upper_case_hex() {
    let (context, _) = context();
    let mut output = Vec::new();
    let app = app_with("200 OK", &[], || {
        Body::from_chunks(vec![vec![b'x'; 10], vec![b'y'; 255]])
    });
    WsgiTask::new(&app, TaskRequest::get("/"), &context).service(&mut output);
    let text = String::from_utf8(output).unwrap();
    assert!(text.contains("\r\nA\r\nxxxxxxxxxx\r\nFF\r\n"), "{text}");
}

#[test]
fn unknown_length_on_http10_is_delimited_by_close() {
    let (response, outcome, _) = run_with(
        &app_with("200 OK", &[], || {
            Body::from_chunks(vec![b"a".to_vec(), b"b".to_vec()])
        }),
        request("GET", HttpVersion::Http10, false),
    );
    assert_eq!(
        (response.framing, response.body.as_slice()),
        ("close", &b"ab"[..])
    );
    assert_eq!(response.version, "HTTP/1.0");
    assert_eq!(response.header("Connection"), Some("close"));
    assert!(outcome.close);
}

#[test]
fn http10_keep_alive_needs_a_known_length() {
    let (response, outcome, _) = run_with(
        &app_with("200 OK", &[], || Body::from("abc")),
        request("GET", HttpVersion::Http10, false),
    );
    assert_eq!(response.header("Connection"), Some("keep-alive"));
    assert!(!outcome.close);
    let (response, outcome, _) = run_with(
        &app_with("200 OK", &[], || Body::from("abc")),
        request("GET", HttpVersion::Http10, true),
    );
    assert_eq!(response.header("Connection"), Some("close"));
    assert!(outcome.close);
}

#[test]
fn a_request_that_asks_to_close_gets_connection_close() {
    let (response, outcome, _) = run_with(
        &app_with("200 OK", &[], || Body::from("abc")),
        request("GET", HttpVersion::Http11, true),
    );
    assert_eq!(response.header("Connection"), Some("close"));
    assert!(outcome.close);
}

#[test]
fn too_many_bytes_are_truncated_to_the_content_length() {
    let (response, outcome, log) = run_with(
        &app_with("200 OK", &[("Content-Length", "2")], || {
            Body::from("abcdef")
        }),
        request("GET", HttpVersion::Http11, false),
    );
    assert_eq!(response.body, b"ab");
    assert!(!outcome.close);
    assert!(log.contains("exceeded the number of bytes specified by Content-Length header (2)"));
}

#[test]
fn too_few_bytes_close_the_connection() {
    let (context, log) = context();
    let mut output = Vec::new();
    let app = app_with("200 OK", &[("Content-Length", "10")], || Body::from("abc"));
    let outcome = WsgiTask::new(&app, TaskRequest::get("/"), &context).service(&mut output);
    assert!(output.ends_with(b"\r\n\r\nabc"));
    assert!(outcome.close);
    assert!(
        log.contents()
            .contains("application returned too few bytes (3) for specified Content-Length (10)")
    );
}

#[test]
fn the_write_callable_with_content_length_is_framed_by_length() {
    let app = |_: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
        start_response.start_response("200 OK", headers(&[("Content-Length", "9")]), None)?;
        start_response.write(b"abc")?;
        start_response.write(b"defghijk")?;
        Ok(Body::empty())
    };
    let (response, outcome) = run(&app);
    assert_eq!(response.body, b"abcdefghi");
    assert!(!outcome.close);
}

#[test]
fn write_and_returned_chunks_share_one_chunked_body() {
    let app = |_: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
        start_response.start_response("200 OK", vec![], None)?;
        start_response.write(b"abc")?;
        start_response.write(b"")?;
        start_response.write(b"defg")?;
        Ok(Body::from_chunks(vec![Vec::new(), b"hij".to_vec()]))
    };
    let (response, _) = run(&app);
    assert_eq!(
        (response.framing, response.body.as_slice()),
        ("chunked", &b"abcdefghij"[..])
    );
}

#[test]
fn head_gets_get_headers_and_no_body() {
    // Waitress sends the application's body on HEAD; we must not.
    let app = app_with("200 OK", &[("Content-Type", "application/json")], || {
        Body::from("{\"a\": 1}")
    });
    let (response, outcome, log) = run_with(&app, request("HEAD", HttpVersion::Http11, false));
    assert_eq!(response.header("Content-Length"), Some("8"));
    assert_eq!(response.header("Content-Type"), Some("application/json"));
    assert!(response.body.is_empty());
    assert!(!outcome.close);
    assert!(!log.contains("too few"));
}

#[test]
fn head_with_unknown_length_says_chunked_and_sends_nothing() {
    let app = app_with("200 OK", &[], || {
        Body::from_chunks(vec![b"a".to_vec(), b"b".to_vec()])
    });
    let (response, outcome, _) = run_with(&app, request("HEAD", HttpVersion::Http11, false));
    assert_eq!(response.header("Transfer-Encoding"), Some("chunked"));
    assert!(!outcome.close);
}

#[test]
fn no_body_statuses_drop_body_and_length() {
    for status in ["204 No Content", "304 Not Modified"] {
        let app = move |_: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
            start_response.start_response(status, headers(&[("Content-Length", "3")]), None)?;
            Ok(Body::from("abc"))
        };
        let (response, outcome, log) = run_with(&app, request("GET", HttpVersion::Http11, false));
        assert_eq!(response.header("Content-Length"), None, "{status}");
        assert_eq!(response.header("Transfer-Encoding"), None, "{status}");
        // Waitress closes after these; nothing requires it, so we keep it.
        assert!(!outcome.close, "{status}");
        assert!(log.contains("may not contain a message-body"));
    }
}

#[test]
fn an_informational_final_status_is_a_500() {
    let (response, outcome) = run(&app_with("100 Continue", &[], Body::empty));
    assert_eq!(response.status, 500);
    assert!(outcome.close);
}

#[test]
fn date_and_server_are_added() {
    let (response, _) = run(&app_with("200 OK", &[], Body::empty));
    assert_eq!(response.header("Server"), Some("waitress"));
    let date = response.header("Date").unwrap();
    assert!(
        waitress::http::date::parse_http_date(date).is_some(),
        "{date}"
    );
}

#[test]
fn an_application_server_header_gets_via() {
    let (response, _) = run(&app_with("200 OK", &[("Server", "myapp")], Body::empty));
    assert_eq!(response.header("Server"), Some("myapp"));
    assert_eq!(response.header("Via"), Some("waitress"));
    assert_eq!(response.count("Server"), 1);
}

#[test]
fn an_application_date_header_is_kept_alone() {
    let (response, _) = run(&app_with(
        "200 OK",
        &[("Date", "Sun, 06 Nov 1994 08:49:37 GMT")],
        Body::empty,
    ));
    assert_eq!(response.count("Date"), 1);
    assert_eq!(
        response.header("Date"),
        Some("Sun, 06 Nov 1994 08:49:37 GMT")
    );
}

#[test]
fn no_ident_means_no_server_header() {
    let (logger, _) = Logger::memory(Level::Debug);
    let context = TaskContext {
        ident: None,
        logger,
        expose_tracebacks: false,
    };
    let mut output = Vec::new();
    WsgiTask::new(
        &app_with("200 OK", &[], Body::empty),
        TaskRequest::get("/"),
        &context,
    )
    .service(&mut output);
    assert_eq!(read_response(&output, "GET").header("Server"), None);
}

#[test]
fn application_headers_keep_their_order_and_spelling() {
    // Waitress re-capitalises and sorts header names; we send them as given.
    let (response, _) = run(&app_with(
        "200 OK",
        &[("x-my-HEADER", "1"), ("C", "b"), ("A", "b"), ("A", "a")],
        Body::empty,
    ));
    let names: Vec<&str> = response
        .headers
        .iter()
        .map(|(n, _)| n.as_str())
        .take(4)
        .collect();
    assert_eq!(names, ["x-my-HEADER", "C", "A", "A"]);
    assert_eq!(response.headers[3].1, "a");
}

#[test]
fn the_status_reason_is_sent_as_given() {
    let (response, _) = run(&app_with("299 Whatever You Like", &[], Body::empty));
    assert_eq!(
        (response.status, response.reason.as_str()),
        (299, "Whatever You Like")
    );
}

#[test]
fn a_seekable_file_gets_its_size_as_content_length() {
    let app = |_: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
        start_response.start_response("200 OK", vec![], None)?;
        Ok(Body::file(Cursor::new(vec![b'f'; 100]), 16))
    };
    let (response, outcome) = run(&app);
    assert_eq!(response.header("Content-Length"), Some("100"));
    assert_eq!(response.body, vec![b'f'; 100]);
    assert!(!outcome.close);
}

#[test]
fn a_file_with_a_shorter_declared_length_sends_that_many_bytes() {
    let app = |_: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
        start_response.start_response("200 OK", headers(&[("Content-Length", "1")]), None)?;
        Ok(Body::file(Cursor::new(vec![b'f'; 100]), 16))
    };
    let (response, outcome) = run(&app);
    assert_eq!(
        (response.header("Content-Length"), response.body.len()),
        (Some("1"), 1)
    );
    assert!(!outcome.close);
}

#[test]
fn a_file_with_a_longer_declared_length_closes_when_short() {
    let app = |_: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
        start_response.start_response("200 OK", headers(&[("Content-Length", "110")]), None)?;
        Ok(Body::file(Cursor::new(vec![b'f'; 100]), 16))
    };
    let (context, _) = context();
    let mut output = Vec::new();
    let outcome = WsgiTask::new(&app, TaskRequest::get("/"), &context).service(&mut output);
    assert!(
        outcome.close,
        "the client was promised 110 bytes and got 100"
    );
}

#[test]
fn a_non_seekable_reader_is_chunked() {
    let app = |_: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
        start_response.start_response("200 OK", vec![], None)?;
        Ok(Body::reader(&b"streamed bytes"[..], 4))
    };
    let (response, outcome) = run(&app);
    assert_eq!(
        (response.framing, response.body.as_slice()),
        ("chunked", &b"streamed bytes"[..])
    );
    assert!(!outcome.close);
}
