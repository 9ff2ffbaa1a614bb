//! # waitress
//!
//! A production-quality HTTP/1.1 server with no dependencies (the standard
//! library only), built on the design of Python's
//! [Waitress](https://github.com/Pylons/waitress) WSGI server: one I/O thread
//! runs a poll loop (`epoll(7)` on Linux, `poll(2)` elsewhere) over nonblocking sockets, each connection is a
//! channel that reads, parses and buffers, and a fixed pool of worker threads
//! runs the application through a gateway interface that mirrors PEP 3333.
//!
//! ## Serving an application
//!
//! Everything an application author needs is here at the crate root: an
//! application is a function (or any [`Application`]) that takes the
//! [`Environ`] and a [`StartResponse`] and returns a [`Body`]; [`serve`]
//! runs it with [`Adjustments`] until Ctrl-C; [`ServerBuilder`] gives a
//! [`Server`] to run and stop yourself; [`TestRequest`] calls it in process,
//! with the server's checks, for tests.
//!
//! ```no_run
//! use waitress::{headers, serve, Adjustments, AppResult, Body, Environ, StartResponse};
//!
//! fn hello(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
//!     let greeting = format!("Hello from {}\n", environ.path_info());
//!     start_response.start_response("200 OK", headers(&[("Content-Type", "text/plain")]), None)?;
//!     Ok(Body::from(greeting))
//! }
//!
//! let adjustments = Adjustments::builder().listen("127.0.0.1:8080").build()?;
//! serve(hello, adjustments)?; // prints "Serving on http://127.0.0.1:8080"
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## How it is built
//!
//! The folders follow the data as it flows through the server, from the
//! socket to the application and back, then what surrounds that path: the
//! FFI under the poll loop and the settings (the book's Part II reads them
//! in this order):
//!
//! | folder | concern |
//! |---|---|
//! | [`server`] | the listeners, the poll loop, and the channels: one per connection, reading, queueing requests, buffering output |
//! | [`http`] | the protocol: the hand-written request parser, body framing, spooling buffers, field tables, URIs, dates, error responses |
//! | [`pool`] | the thread pool: a Mutex + Condvar FIFO queue with backpressure |
//! | [`task`] | running the application for a request and framing its response |
//! | [`gateway`] | the interface applications see (PEP 3333): environ, start_response, body, and a test client |
//! | `io` (internal) | the one FFI module (`poll(2)`, `epoll(7)`, sockets, signals; every other module forbids `unsafe_code`) and the trigger that wakes the I/O thread |
//! | [`config`] | every setting, from Rust code, command-line flags or an ini file |
//! | [`apps`] | built-in applications and middleware: hello, echo, static files, access log, proxy headers |
//!
//! [`logging`] serves them all. Arrows point one way: a folder uses only the
//! ones below it in this order, lowest first: `http` → `logging` → `io` →
//! `config` → `gateway` → `pool` → `task` → `apps` → `server`
//! (`tests/house.rs` checks it). The `waitress-serve` binary, with its own
//! command line (`src/bin/waitress-serve/`), uses the library as any program
//! does: through this public API.
//!
//! Testing the same kind of application in process:
//!
//! ```
//! use waitress::{headers, AppResult, Body, Environ, StartResponse, TestRequest};
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

pub mod apps;
pub mod config;
pub mod gateway;
pub mod http;
pub(crate) mod io;
pub mod logging;
pub mod pool;
pub mod server;
pub mod task;

pub use config::{Adjustments, AdjustmentsBuilder, ConfigError};
pub use gateway::testing::{TestRequest, TestResponse};
pub use gateway::{
    AppError, AppResult, Application, Body, ClientDisconnected, Environ, Headers, Input,
    StartResponse, headers,
};
pub use server::{ListenAddress, Server, ServerBuilder, ServerHandle, serve};
