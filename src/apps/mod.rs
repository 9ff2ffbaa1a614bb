//! Built-in applications: [`hello`], [`echo`] and [`StaticFiles`].
//!
//! Rust cannot import an application by name at run time the way
//! `waitress-serve myapp:app` does in Python, so `waitress-serve` serves one
//! of these, chosen by its APP argument (`src/bin/waitress-serve/cli.rs`).
//! A real application builds its own binary around
//! [`serve`](crate::server::serve) instead (`examples/my_app_binary.rs`).
//!
//! [`StaticFiles`] is the one with rules worth reading: it serves a directory
//! through `wsgi.file_wrapper` and refuses every path that could leave it.
//! It lives in `static_files/` (the `Range` header in `ranges.rs` there);
//! `hello` and `echo` in `demo.rs`; the two middlewares in their own modules,
//! [`access_log`] and [`proxy_headers`].
//!
//! | request | answer |
//! |---|---|
//! | a file | `200`, `Content-Type` from the extension, `Content-Length`, a weak `ETag`, `Last-Modified`, `Accept-Ranges: bytes`, and `Cache-Control` if [set](StaticFiles::cache_control) |
//! | a directory, with a trailing `/` | its `index.html`, or `404` (no listings) |
//! | a directory, without the `/` | `301` to the same path with the `/` |
//! | `If-None-Match` with the file's `ETag` (weak comparison) or `*` | `304`, no body, with `ETag`, `Last-Modified` and `Cache-Control` |
//! | `If-Modified-Since` not older than the file, and no `If-None-Match` | `304`, the same |
//! | a `304` and a `Range` | the `304` |
//! | `Range: bytes=a-b`, `a-` or `-n` (one range) | `206` with `Content-Range` |
//! | a range that starts past the end | `416` with `Content-Range: bytes */LEN` |
//! | several ranges, or a malformed `Range` | the whole file, `200` (RFC 9110 lets a server ignore `Range`) |
//! | `..`, a backslash, a hidden name (`.git`), a symlink out of the root, a FIFO or device | `404` |
//! | a NUL byte in the path (`%00`) | `400` |
//! | a method other than `GET` and `HEAD` | `405` with `Allow: GET, HEAD` |
//!
//! ```
//! use waitress::apps::StaticFiles;
//! use waitress::gateway::testing::TestRequest;
//!
//! let root = std::env::temp_dir().join(format!("waitress-apps-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&root).unwrap();
//! std::fs::write(root.join("hello.txt"), "Hello, file!").unwrap();
//! let app = StaticFiles::new(&root).unwrap();
//!
//! let response = TestRequest::get("/hello.txt").call(&app).unwrap();
//! assert_eq!(response.status_code(), 200);
//! assert_eq!(response.header("Content-Type"), Some("text/plain; charset=utf-8"));
//! assert_eq!(response.text(), "Hello, file!");
//!
//! let escape = TestRequest::get("/%2e%2e/etc/passwd").call(&app).unwrap();
//! assert_eq!(escape.status_code(), 404);
//! # std::fs::remove_dir_all(&root).unwrap();
//! ```
#![forbid(unsafe_code)]

pub mod access_log;
pub mod proxy_headers;

mod demo;
mod log_file;
mod mount;
mod static_files;

pub use demo::{echo, hello};
pub use mount::Mount;
pub use static_files::{ByteRange, StaticFiles, content_type_for, parse_range};
