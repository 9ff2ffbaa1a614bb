//! Tasks and response framing, without sockets: the bytes a task writes are
//! read back by a small independent response reader.

use std::io::Cursor;

use proptest::prelude::*;
use waitress::gateway::{AppResult, Application, Body, Environ, StartResponse, headers};
use waitress::http::error::HttpError;
use waitress::http::parser::Version as HttpVersion;
use waitress::logging::{Level, Logger, MemoryLog};
use waitress::task::{ErrorTask, TaskContext, TaskOutcome, TaskRequest, WsgiTask};

// --- an independent response reader ---

#[derive(Debug, PartialEq)]
struct Response {
    version: String,
    status: u16,
    reason: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// How the body was delimited: "length", "chunked", "close" or "none".
    framing: &'static str,
    /// Whether a chunked body ended with its terminator.
    complete: bool,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn count(&self, name: &str) -> usize {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .count()
    }
}

/// Reads one response for a request with `method`, as RFC 9112 §6.3 says a
/// client must: HEAD, 1xx, 204, 304 have no body; then chunked; then
/// Content-Length; else the body runs to the end of the connection.
fn read_response(bytes: &[u8], method: &str) -> Response {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header section");
    let head = std::str::from_utf8(&bytes[..end]).expect("ASCII head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap().to_string();
    let status: u16 = parts.next().unwrap().parse().unwrap();
    let reason = parts.next().unwrap_or("").to_string();
    let headers: Vec<(String, String)> = lines
        .map(|line| {
            let (name, value) = line.split_once(':').expect("name: value");
            assert!(!name.contains(' '), "no space before the colon");
            (name.to_string(), value.trim().to_string())
        })
        .collect();
    let mut response = Response {
        version,
        status,
        reason,
        headers,
        body: Vec::new(),
        framing: "none",
        complete: true,
    };
    let rest = &bytes[end + 4..];
    if method == "HEAD" || (100..200).contains(&status) || status == 204 || status == 304 {
        assert!(rest.is_empty(), "no body bytes for {method} {status}");
        return response;
    }
    if response.header("Transfer-Encoding").is_some() {
        assert_eq!(response.header("Transfer-Encoding"), Some("chunked"));
        assert_eq!(response.header("Content-Length"), None, "never both");
        response.framing = "chunked";
        let mut at = 0;
        response.complete = false;
        while let Some(line_end) = rest[at..].windows(2).position(|w| w == b"\r\n") {
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[at..at + line_end]).unwrap(), 16)
                    .unwrap();
            at += line_end + 2;
            if size == 0 {
                assert_eq!(&rest[at..], b"\r\n", "terminator, no trailers");
                response.complete = true;
                break;
            }
            response.body.extend_from_slice(&rest[at..at + size]);
            assert_eq!(&rest[at + size..at + size + 2], b"\r\n");
            at += size + 2;
        }
    } else if let Some(length) = response.header("Content-Length") {
        let length: usize = length.parse().unwrap();
        response.framing = "length";
        assert!(rest.len() <= length, "nothing after the body");
        // A short body is cut: the connection closes before it is complete.
        response.complete = rest.len() == length;
        response.body = rest.to_vec();
    } else {
        response.framing = "close";
        response.body = rest.to_vec();
    }
    response
}

// --- helpers ---

fn context() -> (TaskContext, MemoryLog) {
    let (logger, log) = Logger::memory(Level::Debug);
    (
        TaskContext {
            logger,
            ..TaskContext::default()
        },
        log,
    )
}

fn request(method: &str, version: HttpVersion, close_after: bool) -> TaskRequest {
    let mut request = TaskRequest::get("/path");
    request.info.method = method.to_string();
    request.info.version = version;
    request.close_after = close_after;
    request
}

fn run_with(app: &dyn Application, request: TaskRequest) -> (Response, TaskOutcome, String) {
    let (context, log) = context();
    let method = request.info.method.clone();
    let mut output = Vec::new();
    let outcome = WsgiTask::new(app, request, &context).service(&mut output);
    (read_response(&output, &method), outcome, log.contents())
}

fn run(app: &dyn Application) -> (Response, TaskOutcome) {
    let (response, outcome, _) = run_with(app, request("GET", HttpVersion::Http11, false));
    (response, outcome)
}

fn app_with(
    status: &'static str,
    hs: &'static [(&'static str, &'static str)],
    body: fn() -> Body,
) -> impl Application {
    move |_: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
        start_response.start_response(status, headers(hs), None)?;
        Ok(body())
    }
}

// --- framing ---

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

// --- application errors ---

fn error_500(response: &Response) {
    assert_eq!(response.status, 500);
    assert_eq!(response.header("Connection"), Some("close"));
    assert_eq!(
        response.header("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    assert!(response.body.starts_with(b"Internal Server Error\r\n\r\n"));
}

#[test]
fn an_error_before_start_response_is_a_500_that_closes() {
    let app = |_: &mut Environ, _: &mut dyn StartResponse| -> AppResult {
        Err("database is down".into())
    };
    let (response, outcome, log) = run_with(&app, request("GET", HttpVersion::Http11, false));
    error_500(&response);
    assert_eq!(
        String::from_utf8_lossy(&response.body),
        "Internal Server Error\r\n\r\nThe server encountered an unexpected internal server error\r\n\r\n(generated by waitress)"
    );
    assert!(outcome.close);
    assert!(log.contains("Exception while serving /path: database is down"));
}

#[test]
fn a_500_answers_in_the_request_version() {
    let app = |_: &mut Environ, _: &mut dyn StartResponse| -> AppResult { Err("boom".into()) };
    let (response, _, _) = run_with(&app, request("GET", HttpVersion::Http10, false));
    assert_eq!(response.version, "HTTP/1.0");
}

#[test]
fn a_panic_is_a_500_and_the_worker_goes_on() {
    let app =
        |_: &mut Environ, _: &mut dyn StartResponse| -> AppResult { panic!("index out of range") };
    let (response, outcome, log) = run_with(&app, request("GET", HttpVersion::Http11, false));
    error_500(&response);
    assert!(outcome.close);
    assert!(log.contains("the application panicked: index out of range"));
}

#[test]
fn expose_tracebacks_puts_the_error_in_the_body() {
    let (logger, _) = Logger::memory(Level::Debug);
    let context = TaskContext {
        expose_tracebacks: true,
        logger,
        ident: Some("waitress".into()),
    };
    let app = |_: &mut Environ, _: &mut dyn StartResponse| -> AppResult {
        Err("price € unknown".into())
    };
    let mut output = Vec::new();
    WsgiTask::new(&app, TaskRequest::get("/"), &context).service(&mut output);
    let response = read_response(&output, "GET");
    assert!(
        String::from_utf8(response.body.clone())
            .unwrap()
            .contains("price € unknown")
    );
    assert_eq!(
        response
            .header("Content-Length")
            .unwrap()
            .parse::<usize>()
            .unwrap(),
        response.body.len()
    );
}

#[test]
fn an_error_after_start_response_but_before_any_byte_discards_its_headers() {
    let app = |_: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
        start_response.start_response("200 OK", headers(&[("X-App", "1")]), None)?;
        Err("late".into())
    };
    let (response, _) = run(&app);
    error_500(&response);
    assert_eq!(response.header("X-App"), None);
}

#[test]
fn an_error_in_the_middle_of_a_chunked_body_leaves_it_unterminated() {
    let app = |_: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
        start_response.start_response("200 OK", vec![], None)?;
        Ok(Body::from_fallible_chunks(vec![
            Ok(b"abc".to_vec()),
            Err("generator failed".into()),
        ]))
    };
    let (response, outcome) = run(&app);
    assert_eq!(response.status, 200);
    assert!(
        !response.complete,
        "no 0\\r\\n\\r\\n: the client sees the cut"
    );
    assert!(outcome.close);
}

#[test]
fn a_panic_in_the_middle_of_a_body_closes_the_connection() {
    let app = |_: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
        start_response.start_response("200 OK", headers(&[("Content-Length", "10")]), None)?;
        let mut yielded = false;
        Ok(Body::from_chunks(std::iter::from_fn(move || {
            if yielded {
                panic!("iterator broke");
            }
            yielded = true;
            Some(b"abc".to_vec())
        })))
    };
    let (context, _) = context();
    let mut output = Vec::new();
    let outcome = WsgiTask::new(&app, TaskRequest::get("/"), &context).service(&mut output);
    assert!(output.ends_with(b"\r\n\r\nabc"));
    assert!(outcome.close);
}

#[test]
fn returning_without_start_response_is_a_500() {
    let app =
        |_: &mut Environ, _: &mut dyn StartResponse| -> AppResult { Ok(Body::from("orphan")) };
    error_500(&run(&app).0);
}

#[test]
fn hop_by_hop_headers_are_a_500() {
    for name in [
        "Connection",
        "Keep-Alive",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "TE",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
    ] {
        let app = move |_: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
            start_response.start_response("200 OK", headers(&[(name, "x")]), None)?;
            Ok(Body::empty())
        };
        error_500(&run(&app).0);
    }
}

#[test]
fn control_characters_in_status_or_headers_are_a_500() {
    error_500(&run(&app_with("200 OK\r", &[], Body::empty)).0);
    error_500(&run(&app_with("200 OK", &[("X", "\n")], Body::empty)).0);
    error_500(&run(&app_with("200 OK", &[("a\r", "x")], Body::empty)).0);
    error_500(
        &run(&app_with(
            "200 OK",
            &[("Content-Length", "abc")],
            Body::empty,
        ))
        .0,
    );
}

#[test]
fn exc_info_before_body_bytes_replaces_the_response() {
    let app = |_: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
        start_response.start_response("200 OK", headers(&[("X-Old", "1")]), None)?;
        start_response.start_response(
            "503 Service Unavailable",
            headers(&[("Content-Length", "3")]),
            Some("backend".into()),
        )?;
        Ok(Body::from("try"))
    };
    let (response, outcome) = run(&app);
    assert_eq!(
        (response.status, response.body.as_slice()),
        (503, &b"try"[..])
    );
    assert_eq!(response.header("X-Old"), None);
    assert!(!outcome.close);
}

#[test]
fn exc_info_after_body_bytes_closes_the_connection() {
    let app = |_: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
        start_response.start_response("200 OK", headers(&[("Content-Length", "10")]), None)?;
        start_response.write(b"abc")?;
        start_response.start_response("500 Oops", vec![], Some("real error".into()))?;
        Ok(Body::empty())
    };
    let (context, log) = context();
    let mut output = Vec::new();
    let outcome = WsgiTask::new(&app, TaskRequest::get("/"), &context).service(&mut output);
    assert!(outcome.close);
    assert!(String::from_utf8_lossy(&output).starts_with("HTTP/1.1 200 OK"));
    assert!(log.contents().contains("real error"));
}

#[test]
fn a_disconnected_client_is_logged_at_info_and_closes() {
    struct Gone;
    impl waitress::task::ResponseOutput for Gone {
        fn write(&mut self, _: &[u8]) -> std::io::Result<()> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
    }
    let (context, log) = context();
    let outcome = WsgiTask::new(
        &app_with("200 OK", &[], || Body::from("abc")),
        TaskRequest::get("/x"),
        &context,
    )
    .service(&mut Gone);
    assert!(outcome.close);
    assert!(
        log.contents()
            .contains("INFO [waitress] Client disconnected while serving /x")
    );
}

#[test]
fn the_body_is_dropped_when_the_task_ends() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    static CLOSED: AtomicBool = AtomicBool::new(false);
    struct Closes;
    impl Iterator for Closes {
        type Item = Vec<u8>;
        fn next(&mut self) -> Option<Vec<u8>> {
            None
        }
    }
    impl Drop for Closes {
        fn drop(&mut self) {
            CLOSED.store(true, Ordering::SeqCst);
        }
    }
    let _unused = Arc::new(());
    let app = |_: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
        start_response.start_response("200 OK", vec![], None)?;
        Ok(Body::from_chunks(Closes))
    };
    run(&app);
    assert!(CLOSED.load(Ordering::SeqCst));
}

// --- the error task ---

#[test]
fn error_task_writes_a_complete_closing_response() {
    let (context, _) = context();
    let mut output = Vec::new();
    let outcome = ErrorTask::new(
        HttpError::new(400, "Content-Length is invalid"),
        HttpVersion::Http11,
    )
    .service(&mut output, &context);
    let response = read_response(&output, "GET");
    assert_eq!(
        (response.status, response.reason.as_str()),
        (400, "Bad Request")
    );
    let names: Vec<&str> = response.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "Connection",
            "Content-Length",
            "Content-Type",
            "Date",
            "Server"
        ]
    );
    assert_eq!(response.header("Connection"), Some("close"));
    assert_eq!(
        String::from_utf8(response.body).unwrap(),
        "Bad Request\r\n\r\nContent-Length is invalid\r\n\r\n(generated by waitress)"
    );
    assert_eq!(
        outcome,
        TaskOutcome {
            close: true,
            status: 400,
            body_bytes: 67
        }
    );
}

#[test]
fn error_task_answers_in_http10_when_asked() {
    let (context, _) = context();
    let mut output = Vec::new();
    ErrorTask::new(
        HttpError::new(431, "exceeds max_header of 100"),
        HttpVersion::Http10,
    )
    .service(&mut output, &context);
    assert!(output.starts_with(b"HTTP/1.0 431 Request Header Fields Too Large\r\n"));
}

// --- any response the application can make is framed correctly ---

#[derive(Clone, Debug)]
struct Generated {
    status: u16,
    app_length: Option<u64>,
    chunks: Vec<Vec<u8>>,
    single_buffer: bool,
    head: bool,
    http11: bool,
    close_after: bool,
}

fn generated() -> impl Strategy<Value = Generated> {
    (
        prop_oneof![
            Just(200u16),
            Just(201),
            Just(204),
            Just(304),
            Just(404),
            Just(500)
        ],
        proptest::option::of(0u64..40),
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 0..5),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(status, app_length, chunks, single_buffer, head, http11, close_after)| Generated {
                status,
                app_length,
                chunks,
                single_buffer,
                head,
                http11,
                close_after,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_response_reads_back_with_correct_framing(case in generated()) {
        let g = case.clone();
        let app = move |_: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
            let mut hs = vec![("X-Case".to_string(), "1".to_string())];
            if let Some(length) = g.app_length {
                hs.push(("Content-Length".to_string(), length.to_string()));
            }
            start_response.start_response(&format!("{} Status", g.status), hs, None)?;
            if g.single_buffer {
                Ok(Body::from(g.chunks.concat()))
            } else {
                Ok(Body::from_chunks(g.chunks.clone()))
            }
        };
        let version = if case.http11 { HttpVersion::Http11 } else { HttpVersion::Http10 };
        let method = if case.head { "HEAD" } else { "GET" };
        let (context, _) = context();
        let mut output = Vec::new();
        let outcome = WsgiTask::new(&app, request(method, version, case.close_after), &context).service(&mut output);
        let response = read_response(&output, method);

        prop_assert_eq!(response.status, case.status);
        prop_assert_eq!(response.version.as_str(), version.as_str());
        prop_assert_eq!(response.header("X-Case"), Some("1"));
        let all: Vec<u8> = case.chunks.concat();
        let no_body = case.status == 204 || case.status == 304;
        if no_body {
            prop_assert_eq!(response.header("Content-Length"), None);
            prop_assert_eq!(response.header("Transfer-Encoding"), None);
        } else if !case.head {
            // The body is what the application gave, cut to its Content-Length.
            let expected = match case.app_length {
                Some(length) => all[..all.len().min(length as usize)].to_vec(),
                None => all.clone(),
            };
            prop_assert_eq!(&response.body, &expected);
            let short = case.app_length.is_some_and(|l| (all.len() as u64) < l);
            prop_assert_eq!(response.complete, !short);
        }
        // Only one of Content-Length and Transfer-Encoding, at most once.
        prop_assert!(response.count("Content-Length") + response.count("Transfer-Encoding") <= 1);
        // A connection stays open only when the body's end is known and
        // nobody asked to close.
        let unknown_length = case.app_length.is_none() && !case.single_buffer && case.chunks.len() != 1;
        let delimited_by_close = !no_body && !case.http11 && unknown_length;
        if !case.head {
            prop_assert_eq!(delimited_by_close, response.framing == "close");
        }
        let short = !case.head && !no_body && case.app_length.is_some_and(|l| (all.len() as u64) < l);
        let should_close = case.close_after || delimited_by_close || short;
        prop_assert_eq!(outcome.close, should_close);
        prop_assert_eq!(response.header("Connection") == Some("close"), case.close_after || delimited_by_close);
        if !case.http11 && !outcome.close {
            prop_assert_eq!(response.header("Connection"), Some("keep-alive"));
        }
    }
}
