//! The course's application, written against the gateway: it never sees a
//! socket, a status line or a chunk size.

use std::io::Read;
use std::iter;

use crate::gateway::{Body, Environ, StartResponse};

// ANCHOR: application
/// Stage 3's answers, plus `/hello?name=x`, a streamed body and a panic.
pub fn application(environ: &mut Environ, start_response: &mut StartResponse) -> Body {
    let method = environ.vars["REQUEST_METHOD"].as_str();
    let query = environ.vars["QUERY_STRING"].as_str();
    match (method, environ.vars["PATH_INFO"].as_str()) {
        ("GET" | "HEAD", "/") => text(start_response, "200 OK", "Hello, world!"),
        ("GET" | "HEAD", "/hello") => {
            let name = query.split('&').find_map(|pair| pair.strip_prefix("name="));
            let greeting = format!("Hello, {}!", name.unwrap_or("world"));
            text(start_response, "200 OK", &greeting)
        }
        ("GET" | "HEAD", "/stream") => {
            // No Content-Length: the server must frame it (chunked).
            start_response.call("200 OK", vec![("Content-Type".into(), "text/plain".into())]);
            Box::new((1..=3).map(|n| format!("chunk {n}\n").into_bytes()))
        }
        ("GET", "/panic") => panic!("the application failed (on purpose)"),
        // A bug the gateway should catch: the length does not match the body.
        ("GET", "/wrong-length") => {
            let headers = vec![("Content-Length".into(), "5".into())];
            start_response.call("200 OK", headers);
            Box::new(iter::once(b"Hello, world!".to_vec()))
        }
        ("POST", "/echo") => {
            let mut body = Vec::new();
            environ.input.read_to_end(&mut body).unwrap();
            let headers = vec![
                ("Content-Type".into(), "application/octet-stream".into()),
                ("Content-Length".into(), body.len().to_string()),
            ];
            start_response.call("200 OK", headers);
            Box::new(iter::once(body))
        }
        ("GET" | "HEAD" | "POST", _) => text(start_response, "404 Not Found", "Not Found\n"),
        _ => text(start_response, "501 Not Implemented", "Not Implemented\n"),
    }
}
// ANCHOR_END: application

/// A `text/plain` answer with its length.
fn text(start_response: &mut StartResponse, status: &str, body: &str) -> Body {
    let headers = vec![
        ("Content-Type".into(), "text/plain".into()),
        ("Content-Length".into(), body.len().to_string()),
    ];
    start_response.call(status, headers);
    Box::new(iter::once(body.as_bytes().to_vec()))
}
