//! The book's exercises, checked. Each test fails until the reader has done
//! the exercise it names, so every one is `#[ignore]`d and the ordinary
//! `cargo test` stays green. Run one chapter's with
//!
//! ```text
//! cargo test --test exercises -- --ignored ch10_
//! ```
//!
//! Chapters are numbered as in the book's table of contents (chapter 10 is
//! "Parsing HTTP by hand"), one file per chapter (`ch10_parser.rs`);
//! the helpers they share are
//! here. The tests use only what exists today, so that they compile before
//! any exercise is done: a new setting is reached through
//! `Adjustments::builder().set("name", "value")`, a new statistic through the
//! `Debug` text of the stats, and a new middleware through the functions
//! marked `EXERCISE` at the top of `ch14_tasks.rs` and `ch15_gateway.rs`, which you
//! edit in place. Solutions: the book's "Solutions" appendix.

#[path = "../support/mod.rs"]
mod support;

mod ch07_journey;
mod ch08_server;
mod ch09_channels;
mod ch10_parser;
mod ch11_bodies;
mod ch12_utilities;
mod ch13_thread_pool;
mod ch14_tasks;
mod ch15_gateway;
mod ch16_poll_loop;
mod ch17_configuration;
mod ch18_waitress_serve;
mod ch19_proxy_headers;
mod ch20_operating;

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use waitress::gateway::{AppResult, Body, Environ, StartResponse, headers};

// ---------------------------------------------------------------------------
// Helpers. The server tests use `TestServer` from `tests/support/`: a server
// on 127.0.0.1 on its own thread, logging to memory (`server.log`), stopped
// when dropped; `server.exchange(request)` sends a request on a new
// connection and returns the response.
// ---------------------------------------------------------------------------

fn hello(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    start_response.start_response("200 OK", headers(&[("Content-Type", "text/plain")]), None)?;
    Ok(Body::from("hello"))
}

fn not_found(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    start_response.start_response("404 Not Found", headers(&[]), None)?;
    Ok(Body::from("nothing here"))
}

/// A request with `count` header fields (`Host` and `X-N: n`).
fn request_with_fields(count: usize) -> Vec<u8> {
    let mut request = String::from("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n");
    for n in 2..count {
        request.push_str(&format!("X-{n}: {n}\r\n"));
    }
    request.push_str("\r\n");
    request.into_bytes()
}

/// A fresh directory under the temp dir holding `hello.txt`.
fn static_root(name: &str) -> PathBuf {
    let root =
        std::env::temp_dir().join(format!("waitress-exercise-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(&root).unwrap();
    fs::write(root.join("hello.txt"), "Hello, file!").unwrap();
    root
}

/// Reads a `Duration`'s `Debug` text (`1.5ms`, `250µs`, `2s`) after `key: `
/// in `text`; `Some(..)` around it is accepted.
fn duration_after(text: &str, key: &str) -> Option<Duration> {
    let start = text.find(&format!("{key}: "))? + key.len() + 2;
    let rest = text[start..].trim_start_matches("Some(");
    let end = rest.find([',', ')', ' ', '}'])?;
    let value = &rest[..end];
    let digits = value.trim_end_matches(|c: char| c.is_alphabetic() || c == 'µ');
    let unit = &value[digits.len()..];
    let number: f64 = digits.parse().ok()?;
    let seconds = match unit {
        "s" => number,
        "ms" => number / 1e3,
        "µs" | "us" => number / 1e6,
        "ns" => number / 1e9,
        _ => return None,
    };
    Some(Duration::from_secs_f64(seconds))
}

#[test]
fn the_duration_reader_reads_debug_text() {
    let text = format!(
        "S {{ a: 1, queue_wait_p99: {:?}, b: 2 }}",
        Duration::from_millis(120)
    );
    assert_eq!(
        duration_after(&text, "queue_wait_p99"),
        Some(Duration::from_millis(120))
    );
    let text = format!("S {{ x: {:?} }}", Some(Duration::from_micros(250)));
    assert_eq!(duration_after(&text, "x"), Some(Duration::from_micros(250)));
    assert_eq!(duration_after("S { y: 3 }", "x"), None);
}
