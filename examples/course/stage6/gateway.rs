//! A tiny gateway after PEP 3333 (Python's WSGI): the server builds an
//! environ, the application calls `start_response` and returns its body as
//! an iterator of byte chunks, and the server alone frames the response.

use std::collections::HashMap;
use std::io::Cursor;
use std::panic::{self, AssertUnwindSafe};

use crate::io_loop::Reply;
use crate::parser::Request;

// ANCHOR: interface
/// What the application is told about the request: CGI-style variables,
/// and the body to read, like `wsgi.input`.
pub struct Environ {
    pub vars: HashMap<String, String>,
    pub input: Cursor<Vec<u8>>,
}

/// The status and headers the application chose, once it has chosen.
#[derive(Default)]
pub struct StartResponse {
    status: Option<String>,
    headers: Headers,
}

impl StartResponse {
    /// `start_response(status, headers)`: `status` is like `"200 OK"`.
    pub fn call(&mut self, status: &str, headers: Headers) {
        self.status = Some(status.to_string());
        self.headers = headers;
    }
}

/// Header fields, `(name, value)`, in order.
pub type Headers = Vec<(String, String)>;

/// The body: byte chunks, produced one at a time.
pub type Body = Box<dyn Iterator<Item = Vec<u8>>>;

/// An application: what the server calls for each request.
pub type App = fn(&mut Environ, &mut StartResponse) -> Body;
// ANCHOR_END: interface

// ANCHOR: environ
/// The environ of `request`: what PEP 3333 requires that we can know.
pub fn environ(request: &Request, body: Vec<u8>) -> Environ {
    let (path, query) = request
        .target
        .split_once('?')
        .unwrap_or((&request.target, ""));
    let mut vars = HashMap::from([
        ("REQUEST_METHOD".to_string(), request.method.clone()),
        ("SCRIPT_NAME".into(), String::new()),
        ("PATH_INFO".into(), path.to_string()),
        ("QUERY_STRING".into(), query.to_string()),
        (
            "SERVER_PROTOCOL".into(),
            format!("HTTP/1.{}", request.minor_version),
        ),
        ("CONTENT_LENGTH".into(), body.len().to_string()), // chunked or not
        ("wsgi.url_scheme".into(), "http".into()),
    ]);
    for (name, value) in &request.headers {
        // `X-User` and `X_User` would both be HTTP_X_USER: a proxy may
        // check one while the app reads the other. Drop names with `_`.
        if name.contains('_') || name == "content-length" {
            continue;
        }
        let key = match name.as_str() {
            "content-type" => "CONTENT_TYPE".to_string(),
            _ => format!("HTTP_{}", name.to_ascii_uppercase().replace('-', "_")),
        };
        // A repeated header becomes one comma-separated value.
        vars.entry(key)
            .and_modify(|joined| *joined = format!("{joined}, {value}"))
            .or_insert_with(|| value.clone());
    }
    Environ {
        vars,
        input: Cursor::new(body),
    }
}
// ANCHOR_END: environ

// ANCHOR: run
/// Runs `app` for one request and frames what it answered. A panic, or no
/// call to `start_response`, is answered with a 500: the server lives on.
pub fn run(app: App, request: Request, body: Vec<u8>) -> Reply {
    let mut environ = environ(&request, body);
    let mut start = StartResponse::default();
    // The body is iterated inside `catch_unwind` too: it may panic lazily.
    let chunks = panic::catch_unwind(AssertUnwindSafe(|| {
        app(&mut environ, &mut start).collect::<Vec<_>>()
    }));
    // The server frames the response, so the app may not; and a CR or LF
    // in a value would end the head early (response splitting).
    let invalid = |(name, value): &(String, String)| {
        ["transfer-encoding", "connection"].contains(&name.to_ascii_lowercase().as_str())
            || value.contains(['\r', '\n'])
    };
    match (chunks, start.status) {
        (Ok(chunks), Some(status)) if !start.headers.iter().any(invalid) => {
            frame(&request, &status, start.headers, chunks)
        }
        _ => {
            let error = b"Internal Server Error\n".to_vec();
            let headers = vec![
                ("Content-Type".into(), "text/plain".into()),
                ("Content-Length".into(), error.len().to_string()),
            ];
            frame(&request, "500 Internal Server Error", headers, vec![error])
        }
    }
}
// ANCHOR_END: run

// ANCHOR: frame
/// The response's bytes: Content-Length if the app gave one; otherwise
/// chunked for HTTP/1.1, or the end of the body marked by closing (1.0).
fn frame(request: &Request, status: &str, mut headers: Headers, chunks: Vec<Vec<u8>>) -> Reply {
    let has_length = headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("content-length"));
    let mut keep_alive = request.keep_alive();
    let body = if has_length {
        chunks.concat()
    } else if request.minor_version >= 1 {
        headers.push(("Transfer-Encoding".into(), "chunked".into()));
        chunked(&chunks)
    } else {
        keep_alive = false; // HTTP/1.0 knows no chunks: closing ends the body
        chunks.concat()
    };
    if !keep_alive {
        headers.push(("Connection".into(), "close".into()));
    }
    let mut bytes = format!("HTTP/1.1 {status}\r\n").into_bytes();
    for (name, value) in &headers {
        bytes.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    bytes.extend_from_slice(b"\r\n");
    if request.method != "HEAD" {
        bytes.extend_from_slice(&body); // HEAD: the headers of a GET, no body
    }
    Reply { bytes, keep_alive }
}
// ANCHOR_END: frame

// ANCHOR: chunked
/// The chunked encoding of `chunks`: each as its size in hex, CRLF, the
/// bytes, CRLF; then a chunk of size 0 to end the body.
fn chunked(chunks: &[Vec<u8>]) -> Vec<u8> {
    let mut body = Vec::new();
    // An empty chunk would end the body early: skip empty ones.
    for chunk in chunks.iter().filter(|chunk| !chunk.is_empty()) {
        body.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        body.extend_from_slice(chunk);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    body
}
// ANCHOR_END: chunked
