//! Course stage 2: the stage 1 server with a thread pool.
//!
//! The accepting thread no longer serves connections itself: it pushes each
//! one into a bounded FIFO queue (a `Mutex<VecDeque>` and two `Condvar`s),
//! and a fixed number of worker threads take them out and serve them. A
//! client that connects and sends nothing now holds one worker, not the
//! whole server. Standard library only, nothing from the `waitress` crate.
//!
//! Run it with `cargo run --example course_stage2 -- --port 8080`.
#![forbid(unsafe_code)]

// ANCHOR: reuse
mod queue;
// Stage 1's program, as a module: its `handle` serves a connection here
// unchanged (its `main` is not used).
#[path = "../stage1.rs"]
#[allow(dead_code)]
mod stage1;

use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;

use queue::Queue;
use stage1::{handle, port_from_args};
// ANCHOR_END: reuse

/// How many connections are served at the same time.
const THREADS: usize = 4;

/// How many accepted connections may wait for a worker. When the queue is
/// full, the accepting thread waits too, and new clients wait in the
/// kernel's listen backlog: that is backpressure.
const QUEUE_CAPACITY: usize = 16;

// ANCHOR: main
fn main() {
    let port = port_from_args();
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap_or_else(|error| {
        eprintln!("cannot listen on 127.0.0.1:{port}: {error}");
        std::process::exit(1);
    });

    // Start the workers before announcing the address, so that the first
    // client finds them ready.
    let queue = Arc::new(Queue::new(QUEUE_CAPACITY));
    for _ in 0..THREADS {
        let queue = Arc::clone(&queue);
        thread::spawn(move || worker(&queue));
    }
    println!("Listening on {}", listener.local_addr().unwrap());

    // The accepting thread only accepts: it never reads from a client, so
    // no client can stop it (but a full queue can, on purpose).
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => queue.push(stream),
            Err(error) => eprintln!("accept failed: {error}"),
        }
    }
}
// ANCHOR_END: main

// ANCHOR: worker
/// A worker serves one connection after another, forever.
fn worker(queue: &Queue<TcpStream>) {
    loop {
        let stream = queue.pop();
        // The same `handle` as stage 1, unchanged: only who calls it changed.
        if let Err(error) = handle(stream) {
            eprintln!("connection failed: {error}");
        }
    }
}
// ANCHOR_END: worker
