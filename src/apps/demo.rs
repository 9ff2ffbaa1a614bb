//! The two demo applications: [`hello`], the smallest application there
//! is (and the benchmark's page), and [`echo`], which sends back what it was
//! sent.
//!
//! Apart from the static files because they have no rules to speak of: they
//! are what `waitress-serve hello` and `waitress-serve echo` serve, and what
//! the examples and the benchmark call.
#![forbid(unsafe_code)]

use crate::gateway::{AppResult, Body, Environ, StartResponse, headers};

// ANCHOR: hello
/// `GET /` answers `Hello, world!`; `GET /big` answers 1 MiB of `x` (the two
/// pages the benchmark harness asks for).
///
/// ```
/// use waitress::gateway::testing::TestRequest;
/// let response = TestRequest::get("/").call(&waitress::apps::hello).unwrap();
/// assert_eq!(response.text(), "Hello, world!");
/// ```
pub fn hello(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    // Built once, like the benchmark's other peers: the page is served from
    // the same bytes every time, without copying them.
    static BIG: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let body: Body = if environ.path_info() == "/big" {
        Body::from(BIG.get_or_init(|| vec![b'x'; 1 << 20]).as_slice())
    } else {
        Body::from("Hello, world!")
    };
    let length = body.content_length().unwrap_or(0).to_string();
    start_response.start_response(
        "200 OK",
        headers(&[("Content-Type", "text/plain"), ("Content-Length", &length)]),
        None,
    )?;
    Ok(body)
}
// ANCHOR_END: hello

/// Any method to any path sends the request body back with the request's
/// `Content-Type`; `GET /environ` lists the environ's string keys, one
/// `KEY: value` per line.
///
/// ```
/// use waitress::gateway::testing::TestRequest;
/// let response = TestRequest::post("/", "ping").call(&waitress::apps::echo).unwrap();
/// assert_eq!(response.text(), "ping");
/// let environ = TestRequest::get("/environ?x=1").call(&waitress::apps::echo).unwrap();
/// assert!(environ.text().contains("QUERY_STRING: x=1\n"));
/// ```
pub fn echo(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    if environ.path_info() == "/environ" {
        let listing: String = environ
            .iter()
            .map(|(key, value)| format!("{key}: {value}\n"))
            .collect();
        start_response.start_response(
            "200 OK",
            headers(&[("Content-Type", "text/plain; charset=utf-8")]),
            None,
        )?;
        return Ok(Body::from(listing));
    }
    let content_type = environ
        .get("CONTENT_TYPE")
        .unwrap_or("application/octet-stream")
        .to_string();
    let input = environ.take_input();
    let length = input.len().to_string();
    start_response.start_response(
        "200 OK",
        headers(&[("Content-Type", &content_type), ("Content-Length", &length)]),
        None,
    )?;
    // The body streams from wsgi.input, in memory or spooled to a file.
    Ok(Body::reader(input, 64 * 1024))
}
