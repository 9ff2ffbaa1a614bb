//! Tasks and response framing, without sockets: the bytes a task writes are
//! read back by a small independent response reader.
//!
//! The tests are in `framing` (how a response is delimited, and its
//! headers), `errors` (what an application's failure becomes) and `property`
//! (any response reads back); the reader and the helpers they share are here.

mod errors;
mod framing;
mod property;

use waitress::gateway::{AppResult, Application, Body, Environ, StartResponse, headers};
use waitress::http::parser::Version as HttpVersion;
use waitress::logging::{Level, Logger, MemoryLog};
use waitress::task::{TaskContext, TaskOutcome, TaskRequest, WsgiTask};

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
