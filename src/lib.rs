//! # waitress
//!
//! A production-quality HTTP/1.1 server with no dependencies (the standard
//! library only), built on the design of Python's
//! [Waitress](https://github.com/Pylons/waitress) WSGI server: one I/O thread
//! runs a poll loop (`epoll(7)` on Linux, `poll(2)` elsewhere) over nonblocking sockets, each connection is a
//! channel that reads, parses and buffers, and a fixed pool of worker threads
//! runs the application through a gateway interface that mirrors PEP 3333.
//!
//! The modules follow the data as it flows through the server:
//!
//! | module | concern |
//! |---|---|
//! | [`adjustments`] | every setting, from Rust code, command-line flags or an ini file |
//! | [`sys`] | the one FFI module: `poll(2)`, `epoll(7)`, sockets and signals (every other module forbids `unsafe_code`) |
//! | [`trigger`] | waking the I/O thread from another thread |
//! | [`server`] | listeners and the poll loop |
//! | [`channel`] | one connection: read, parse, queue requests, buffer output |
//! | [`parser`] | the hand-written HTTP/1.1 request parser |
//! | [`receiver`] | body framing: Content-Length and chunked |
//! | [`buffers`] | bodies in memory or spooled to temporary files |
//! | [`dispatcher`] | the thread pool: a Mutex + Condvar FIFO queue |
//! | [`task`] | running the application and framing its response |
//! | [`wsgi`] | the gateway interface: environ, start_response, body |
//! | [`proxy_headers`] | trusting `Forwarded` / `X-Forwarded-*` from a proxy |
//! | [`testing`] | an in-process test client for applications |
//! | [`apps`] | built-in applications: `hello`, `echo`, static files |
//! | [`access_log`] | an access-log middleware: Common and Combined Log Formats |
//! | [`runner`] | the `waitress-serve` command line |
//! | [`uri`], [`error`], [`httpdate`], [`logging`] | utilities |
//!
//! ```
//! use waitress::testing::TestRequest;
//! use waitress::wsgi::{headers, AppResult, Body, Environ, StartResponse};
//!
//! fn app(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
//!     let greeting = format!("Hello from {}\n", environ.path_info());
//!     start_response.start_response("200 OK", headers(&[("Content-Type", "text/plain")]), None)?;
//!     Ok(Body::from(greeting))
//! }
//!
//! let response = TestRequest::get("/there").call(&app).unwrap();
//! assert_eq!(response.text(), "Hello from /there\n");
//! ```
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod access_log;
pub mod adjustments;
pub mod apps;
pub mod buffers;
pub mod channel;
pub mod dispatcher;
pub mod error;
pub mod httpdate;
pub mod logging;
pub mod parser;
pub mod proxy_headers;
pub mod receiver;
pub mod runner;
pub mod server;
pub mod sys;
pub mod task;
pub mod testing;
pub mod trigger;
pub mod uri;
pub mod wsgi;
