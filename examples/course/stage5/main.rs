//! Course stage 5: nonblocking sockets and one `poll(2)` loop that hands
//! complete requests to stage 2's pool. Standard library only, plus `poll`.
//! Run it with `cargo run --example course_stage5 -- --port 8080`.
// `forbid` could not be lifted for `poll.rs`: deny here, allow there only.
#![deny(unsafe_code)]

// ANCHOR: modules
#[path = "../stage3/app.rs"]
mod app;
#[path = "../stage4/body.rs"]
#[allow(dead_code)]
mod body;
#[path = "../stage4/chunked.rs"]
mod chunked;
mod connection;
mod io_loop;
#[path = "../stage3/parser.rs"]
#[allow(dead_code)]
mod parser;
#[allow(unsafe_code)] // the FFI: every unsafe block there says why it is sound
mod poll;
#[path = "../stage2/queue.rs"]
mod queue;
// ANCHOR_END: modules

use std::net::TcpListener;

use io_loop::Reply;
use parser::Request;

const THREADS: usize = 4; // workers that run the handler

// ANCHOR: main
fn main() {
    let port = port_from_args();
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap_or_else(|error| {
        eprintln!("cannot listen on 127.0.0.1:{port}: {error}");
        std::process::exit(1);
    });
    println!("Listening on {}", listener.local_addr().unwrap());
    if let Err(error) = io_loop::serve(listener, handle, THREADS) {
        eprintln!("the I/O loop failed: {error}");
        std::process::exit(1);
    }
}

/// The handler the workers run: stage 3's application, serialized.
fn handle(request: Request, body: Vec<u8>) -> Reply {
    let response = app::app(&request, &body);
    let keep_alive = request.keep_alive();
    let bytes = app::serialize(&response, request.method == "HEAD", keep_alive);
    Reply { bytes, keep_alive }
}
// ANCHOR_END: main

/// `--port N` (8080 when absent).
fn port_from_args() -> u16 {
    let mut port = 8080;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_default();
        match flag.as_str() {
            "--port" => port = value.parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    port
}

fn usage() -> ! {
    eprintln!("usage: course_stage5 [--port N]");
    std::process::exit(2);
}
