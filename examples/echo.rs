//! An application that sends the request body back, and shows the environ at
//! `/environ`: handy for trying uploads, chunked requests and headers.
//!
//! Run it: `cargo run --example echo`. It serves on
//! 127.0.0.1:8080; try `curl --data-binary @Cargo.toml http://127.0.0.1:8080/`.

use waitress::wsgi::{AppResult, Body, Environ, StartResponse, headers};

// ANCHOR: echo
/// `POST` (or any method) to any path: the body comes back with the request's
/// Content-Type. `GET /environ`: the environ's string keys, one per line.
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
// ANCHOR_END: echo

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 127.0.0.1:8080 unless flags say otherwise: `-- --port 9000`, `-- --threads 8`, …
    let adjustments = waitress::adjustments::Adjustments::builder()
        .host("127.0.0.1")
        .port(8080)
        .args(std::env::args().skip(1))?
        .build()?;
    waitress::server::serve(echo, adjustments)?;
    Ok(())
}
