//! Course stage 4: stage 3 with chunked request bodies.
//!
//! Only the body framing changes: `body.rs` wraps stage 3's Content-Length
//! rules and adds `Framing::Chunked`, decoded by `chunked.rs`. The parser,
//! the application and the server loop are stage 3's files, reused as
//! they are. Standard library only, nothing from the `waitress` crate.
//! Run it with `cargo run --example course_stage4 -- --port 8080`.
#![forbid(unsafe_code)]

#[path = "../stage3/app.rs"]
mod app;
mod body;
mod chunked;
#[path = "../stage3/parser.rs"]
mod parser;
#[path = "../stage2/queue.rs"]
mod queue;
#[path = "../stage3/server.rs"]
mod server;

fn main() {
    server::run("course_stage4");
}
