//! The smallest application: `Hello, world!`, and a 1 MiB body at `/big`
//! (the two pages the benchmark harness asks for).
//!
//! Run it: `cargo run --example hello`. Until the server module lands, this
//! prints what the application answers, through the in-process test client.

use waitress::wsgi::{AppResult, Body, Environ, StartResponse, headers};

// ANCHOR: hello
/// `GET /` answers `Hello, world!`; `GET /big` answers 1 MiB of `x`.
pub fn hello(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    let body: Body = if environ.path_info() == "/big" {
        Body::from(vec![b'x'; 1 << 20])
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
fn main() {
    let response = waitress::testing::TestRequest::get("/")
        .call(&hello)
        .expect("hello never fails");
    println!("GET / -> {} {:?}", response.status, response.text());
    println!("(the HTTP server is not implemented yet; this ran the application in-process)");
}
