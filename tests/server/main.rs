//! The server over real sockets on 127.0.0.1: keep-alive, pipelining,
//! slow and broken clients, limits, timeouts, shutdown. Every test is bounded
//! by socket timeouts and stops its server.
//!
//! The tests are in `requests` (one connection's requests and responses),
//! `clients` (slow, broken and hostile ones), `load` (backpressure and many
//! connections), `listeners` (Unix sockets, several listeners, proxy headers)
//! and `shutdown`; the applications they share are here.

#[path = "../support/mod.rs"]
mod support;

mod clients;
mod listeners;
mod load;
mod requests;
mod shutdown;

use std::io::Read;

use waitress::gateway::{AppResult, Body, Environ, StartResponse, headers};

fn hello(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    start_response.start_response("200 OK", headers(&[("Content-Type", "text/plain")]), None)?;
    Ok(Body::from("Hello, world!"))
}

/// Answers with the path and the body it received.
fn echo(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    let mut body = Vec::new();
    environ.input().read_to_end(&mut body)?;
    let spooled = environ.input().is_file();
    let text = format!("{} {} {}", environ.path_info(), body.len(), spooled);
    start_response.start_response("200 OK", vec![], None)?;
    let mut out = text.into_bytes();
    out.push(b'|');
    out.extend_from_slice(&body);
    Ok(Body::from(out))
}
