//! The gateway interface: PEP 3333 (WSGI) in Rust.
//!
//! A WSGI application is a callable `app(environ, start_response)` that
//! returns an iterable of byte strings. This module keeps that shape one to
//! one, so that everything written about WSGI (and every middleware pattern)
//! carries over:
//!
//! | PEP 3333                               | here                                              |
//! |----------------------------------------|---------------------------------------------------|
//! | `app(environ, start_response)`         | [`Application::call`], or any `fn`/closure        |
//! | `environ` (a dict)                     | [`Environ`]: string keys plus typed `wsgi.*` values |
//! | `start_response(status, headers, exc_info=None)` | [`StartResponse::start_response`]       |
//! | the `write(data)` it returns           | [`StartResponse::write`]                          |
//! | the returned iterable, `close()`       | [`Body`], an `Iterator` of chunks; dropping it is `close()` |
//! | `wsgi.input`                           | [`Environ::input`]: an [`Input`] (`Read` + `BufRead`) |
//! | `wsgi.errors`                          | [`Environ::errors`]: an [`Errors`] (`Write`)      |
//! | `wsgi.file_wrapper(file, block_size)`  | [`Environ::file_wrapper`] / [`Body::file`]        |
//! | an exception                           | an `Err(AppError)`, or a panic                    |
//!
//! One concern per file: `app.rs` (the [`Application`] and [`StartResponse`]
//! traits and the types they exchange), `start_response.rs` (the rules,
//! [`ResponseStart`]), `body.rs` ([`Body`]), `environ.rs` ([`Environ`],
//! [`RequestInfo`]), `errors.rs` (`wsgi.errors`), `form.rs` and `cookies.rs`
//! (what an application reads from a request: query strings, form bodies,
//! cookies; and `Set-Cookie`) and `testing.rs` (the test client).
//! `wsgi.input`, the request body, is an [`Input`], which the HTTP
//! layer makes (`src/http/input.rs`); the field-name table and the token
//! rules are the HTTP layer's too (`src/http/fields.rs`, `grammar.rs`).
//!
//! The smallest application:
//!
//! ```
//! use waitress::gateway::{headers, AppResult, Body, Environ, StartResponse};
//!
//! fn hello(_environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
//!     start_response.start_response("200 OK", headers(&[("Content-Type", "text/plain")]), None)?;
//!     Ok(Body::from("Hello, world!\n"))
//! }
//!
//! let response = waitress::gateway::testing::TestRequest::get("/").call(&hello).unwrap();
//! assert_eq!(response.status, "200 OK");
//! assert_eq!(response.text(), "Hello, world!\n");
//! ```
#![forbid(unsafe_code)]

mod app;
mod body;
mod cookies;
mod environ;
mod errors;
mod form;
mod start_response;
pub mod testing;

pub use app::{AppResult, Application, Headers, StartResponse, headers};
pub(crate) use body::BodyKind;
pub use body::{AppError, Body, Chunk, DEFAULT_BLOCK_SIZE};
pub use cookies::{CookieError, SameSite, SetCookie, cookies, parse_cookie_header};
pub use environ::{ClientDisconnected, Environ, RequestInfo};
pub use errors::Errors;
pub use form::{
    FORM_CONTENT_TYPE, FormError, first_value, parse_query, parse_urlencoded, query_pairs,
    read_form,
};
pub use start_response::{ResponseError, ResponseStart};

use crate::http::fields::environ_key;
use crate::http::grammar::{is_token_byte, parse_decimal};
pub use crate::http::input::Input;
pub use crate::http::latin1::{from_latin1, to_latin1};

/// A character a field value may carry: HTAB, SP, VCHAR, or obs-text (which
/// latin-1 maps to U+0080..=U+00FF).
fn is_field_char(c: char) -> bool {
    matches!(c, '\t' | ' '..='~' | '\u{80}'..='\u{ff}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::io::{Read, Write};

    #[test]
    fn input_from_a_file_reads_from_the_start() {
        let path = std::env::temp_dir().join(format!("waitress-input-test-{}", std::process::id()));
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        file.write_all(b"spooled body").unwrap();
        let mut input = Input::from_file(file).unwrap();
        assert!(input.is_file());
        assert_eq!(input.len(), 12);
        let mut text = String::new();
        input.read_to_string(&mut text).unwrap();
        assert_eq!(text, "spooled body");
        assert_eq!(
            input.read(&mut [0; 8]).unwrap(),
            0,
            "input_terminated: EOF at the end"
        );
    }
}
