//! The course's application, and the writing of responses (stage 3 on).

use crate::parser::{HttpError, Request};

/// A response before it is written.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub reason: &'static str,
    /// Headers other than Content-Length and Connection.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

// ANCHOR: app
/// The course's application: stage 1's answers, plus `POST /echo`.
pub fn app(request: &Request, body: &[u8]) -> Response {
    match (request.method.as_str(), request.target.as_str()) {
        ("GET" | "HEAD", "/") => text(200, "OK", "Hello, world!"),
        ("POST", "/echo") => Response {
            status: 200,
            reason: "OK",
            headers: vec![("Content-Type".into(), "application/octet-stream".into())],
            body: body.to_vec(),
        },
        ("GET" | "HEAD" | "POST", _) => text(404, "Not Found", "Not Found\n"),
        _ => text(501, "Not Implemented", "Not Implemented\n"),
    }
}
// ANCHOR_END: app

/// The answer to a request the server refused (body: the reason).
pub fn error_response(error: &HttpError) -> Response {
    text(error.status, error.reason, &format!("{}\n", error.reason))
}

fn text(status: u16, reason: &'static str, body: &str) -> Response {
    let headers = vec![("Content-Type".into(), "text/plain".into())];
    let body = body.as_bytes().to_vec();
    Response {
        status,
        reason,
        headers,
        body,
    }
}

// ANCHOR: serialize
/// The bytes of `response`. `head_only` answers a HEAD (the headers of
/// the GET, no body); `keep_alive: false` announces that we close.
pub fn serialize(response: &Response, head_only: bool, keep_alive: bool) -> Vec<u8> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", response.status, response.reason);
    for (name, value) in &response.headers {
        head += &format!("{name}: {value}\r\n");
    }
    head += &format!("Content-Length: {}\r\n", response.body.len());
    if !keep_alive {
        head += "Connection: close\r\n";
    }
    head += "\r\n";
    let mut bytes = head.into_bytes();
    if !head_only {
        bytes.extend_from_slice(&response.body);
    }
    bytes
}
// ANCHOR_END: serialize
