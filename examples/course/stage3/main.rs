//! Course stage 3: a strict incremental parser, Content-Length bodies and
//! keep-alive connections, on stage 2's thread pool. Standard library only.
//! Run it with `cargo run --example course_stage3 -- --port 8080`.
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
