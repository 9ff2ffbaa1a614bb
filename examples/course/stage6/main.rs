//! Course stage 6: a gateway between the server and the application.
//!
//! Stage 5's loop and pool, unchanged, serving an application written
//! against a tiny PEP 3333 (WSGI) interface: the application gets an
//! environ and a `start_response`, returns its body as an iterator of byte
//! chunks, and the server frames the response (Content-Length, chunked, or
//! close), answers HEAD without a body, and turns a panic into a 500.
//!
//! Run it with `cargo run --example course_stage6 -- --port 8080`.
#![deny(unsafe_code)]

// ANCHOR: modules
#[path = "../stage3/app.rs"]
#[allow(dead_code)] // only its error responses: the application is ours
mod app;
mod application;
#[path = "../stage4/body.rs"]
#[allow(dead_code)]
mod body;
#[path = "../stage4/chunked.rs"]
mod chunked;
#[path = "../stage5/connection.rs"]
mod connection;
mod gateway;
#[path = "../stage5/io_loop.rs"]
mod io_loop;
#[path = "../stage3/parser.rs"]
#[allow(dead_code)]
mod parser;
#[path = "../stage5/poll.rs"]
#[allow(unsafe_code)] // the FFI: every unsafe block there says why it is sound
mod poll;
#[path = "../stage2/queue.rs"]
mod queue;
// ANCHOR_END: modules

use std::net::TcpListener;

use io_loop::Reply;
use parser::Request;

/// How many workers run the application.
const THREADS: usize = 4;

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

/// The handler the workers run: the application, through the gateway.
fn handle(request: Request, body: Vec<u8>) -> Reply {
    gateway::run(application::application, request, body)
}
// ANCHOR_END: main

/// `--port N` (8080 when absent).
fn port_from_args() -> u16 {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => 8080,
        [flag, port] if flag == "--port" => port.parse().unwrap_or_else(|_| usage()),
        _ => usage(),
    }
}

fn usage() -> ! {
    eprintln!("usage: course_stage6 [--port N]");
    std::process::exit(2);
}
