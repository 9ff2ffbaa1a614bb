//! The smallest application: `Hello, world!`, and a 1 MiB body at `/big`
//! (the two pages the benchmark harness asks for).
//!
//! Run it: `cargo run --example hello`. It serves on
//! 127.0.0.1:8080; `cargo run --example hello -- --port 9000` picks another port.

use waitress::wsgi::{AppResult, Body, Environ, StartResponse, headers};

// ANCHOR: hello
/// `GET /` answers `Hello, world!`; `GET /big` answers 1 MiB of `x`.
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

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 127.0.0.1:8080 unless flags say otherwise: `-- --port 9000`, `-- --threads 8`, …
    let adjustments = waitress::adjustments::Adjustments::builder()
        .host("127.0.0.1")
        .port(8080)
        .args(std::env::args().skip(1))?
        .build()?;
    waitress::server::serve(hello, adjustments)?;
    Ok(())
}
