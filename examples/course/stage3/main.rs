//! Course stage 3: a strict incremental parser, Content-Length bodies and
//! keep-alive connections, on stage 2's thread pool.
//!
//! - `parser.rs`: the request head, parsed strictly and incrementally;
//! - `body.rs`: how the body is framed (Content-Length) and read;
//! - `app.rs`: the application (`GET /`, `POST /echo`) and the responses;
//! - `server.rs`: the pool, and the connection loop that ties them up;
//! - `../stage2/queue.rs`: stage 2's queue, reused as it is.
//!
//! Standard library only, nothing from the `waitress` crate. Run it with
//! `cargo run --example course_stage3 -- --port 8080`.
#![forbid(unsafe_code)]

mod app;
mod body;
mod parser;
#[path = "../stage2/queue.rs"]
mod queue;
mod server;

fn main() {
    server::run("course_stage3");
}
