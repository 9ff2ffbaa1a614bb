//! What the test files share. A test file says `mod support;` and takes what
//! it needs:
//!
//! - [`server`]: [`TestServer`], a server on 127.0.0.1 (port 0) run on its
//!   own thread, logging to memory, stopped when dropped;
//! - [`http`]: reading responses from a socket ([`read_response`],
//!   [`exchange`], [`closed_by_server`]);
//! - [`child`]: the `waitress-serve` binary as a child process, and any
//!   command run with a time limit;
//! - [`sync`]: waiting for an event instead of sleeping ([`Gate`],
//!   [`Calls`], [`wait_until`]);
//! - [`cpu`]: CPU time used by a process or a thread, from `/proc`;
//! - [`files`]: temporary directories and walking a source tree.
//!
//! Every wait in these helpers is bounded by [`TIMEOUT`], so a broken server
//! fails a test instead of hanging it.
#![allow(dead_code, unused_imports)] // each test file uses its own part of it

pub mod child;
pub mod cpu;
pub mod files;
pub mod http;
pub mod server;
pub mod sync;

use std::time::Duration;

/// How long a test waits for anything before it fails: far longer than
/// anything takes on a loaded machine, so reaching it means a bug.
pub const TIMEOUT: Duration = Duration::from_secs(10);

pub use child::{WaitressServe, build_examples, nginx_binary, run_with_timeout, spawn_nginx};
pub use cpu::{process_cpu_ticks, thread_cpu_ticks};
pub use files::{TempDir, files_with_extension, rust_files};
pub use http::{Response, closed_by_server, connect, exchange, get, read_response, split_response};
pub use server::TestServer;
pub use sync::{Calls, Gate, wait_until};
