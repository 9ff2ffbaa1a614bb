//! An in-process test client for applications, in the spirit of WebTest.
//!
//! [`TestRequest`] builds the environ the server would build for a request
//! (same keys, same decoding), calls the application with a `start_response`
//! that applies the server's checks ([`ResponseStart`]), runs the body to its
//! end, and hands back a [`TestResponse`]. No socket, no thread: a test of an
//! application runs in microseconds.
//!
//! ```
//! use waitress::gateway::testing::TestRequest;
//! use waitress::gateway::{headers, AppResult, Body, Environ, StartResponse};
//! use std::io::Read;
//!
//! fn shout(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
//!     let mut text = String::new();
//!     environ.input().read_to_string(&mut text)?;
//!     start_response.start_response("200 OK", headers(&[("Content-Type", "text/plain")]), None)?;
//!     Ok(Body::from(text.to_uppercase()))
//! }
//!
//! let response = TestRequest::post("/shout", "hello").call(&shout).unwrap();
//! assert_eq!(response.status_code(), 200);
//! assert_eq!(response.header("content-type"), Some("text/plain"));
//! assert_eq!(response.text(), "HELLO");
//! ```
//!
//! What the test client does *not* do is the server's part of the response:
//! it adds no `Date`, `Server` or `Content-Length`, chooses no framing and
//! strips no `HEAD` body. [`TestResponse`] shows exactly what the application
//! produced.
#![forbid(unsafe_code)]

use std::borrow::Cow;

use crate::gateway::{
    AppError, Application, ClientDisconnected, Environ, Headers, Input, RequestInfo, ResponseError,
    ResponseStart, StartResponse,
};
use crate::http::parser::Version;
use crate::logging::{Level, Logger, MemoryLog};

/// A request to run through an application in-process.
#[derive(Debug)]
pub struct TestRequest {
    info: RequestInfo,
    sent_headers: Vec<(String, String)>,
    body: Vec<u8>,
    client_disconnected: ClientDisconnected,
}

impl TestRequest {
    /// A request with any method and request-target (`/path?query`). An
    /// absolute-form target (`http://host/path`) becomes the Host and
    /// `SERVER_NAME`, as on the server.
    pub fn new(method: &str, target: &str) -> TestRequest {
        TestRequest {
            info: RequestInfo {
                method: method.to_string(),
                target: target.to_string(),
                ..RequestInfo::default()
            },
            sent_headers: Vec::new(),
            body: Vec::new(),
            client_disconnected: ClientDisconnected::new(),
        }
    }

    /// A `GET` request.
    pub fn get(target: &str) -> TestRequest {
        TestRequest::new("GET", target)
    }

    /// A `HEAD` request.
    pub fn head(target: &str) -> TestRequest {
        TestRequest::new("HEAD", target)
    }

    /// A `POST` request with a body.
    pub fn post(target: &str, body: impl Into<Vec<u8>>) -> TestRequest {
        TestRequest::new("POST", target).body(body)
    }

    /// Adds a header field, as a client sends it (`Content-Type`, `X-Foo`).
    /// Repeats are joined with `", "`, and a name with `_` is dropped, as the
    /// server does.
    pub fn header(mut self, name: &str, value: &str) -> TestRequest {
        self.sent_headers
            .push((name.to_string(), value.to_string()));
        self
    }

    /// Sets the body. A `Content-Length` header is added unless one was given.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> TestRequest {
        self.body = body.into();
        self
    }

    /// Sets the request's version, `SERVER_PROTOCOL` (`HTTP/1.1` by default).
    pub fn version(mut self, version: Version) -> TestRequest {
        self.info.version = version;
        self
    }

    /// Sets the client's address and port (`127.0.0.1`, `0` by default).
    pub fn remote(mut self, addr: &str, port: &str) -> TestRequest {
        self.info.remote_addr = addr.to_string();
        self.info.remote_port = port.to_string();
        self
    }

    /// Sets `SERVER_NAME` and `SERVER_PORT` (`waitress.invalid`, `8080` by default).
    pub fn server(mut self, name: &str, port: &str) -> TestRequest {
        self.info.server_name = name.to_string();
        self.info.server_port = port.to_string();
        self
    }

    /// Sets `wsgi.url_scheme` (`http` by default).
    pub fn url_scheme(mut self, scheme: &str) -> TestRequest {
        self.info.url_scheme = scheme.to_string();
        self
    }

    /// Sets the `url_prefix` adjustment: it becomes `SCRIPT_NAME` and is
    /// removed from the front of `PATH_INFO`.
    pub fn url_prefix(mut self, prefix: &str) -> TestRequest {
        self.info.url_prefix = prefix.to_string();
        self
    }

    /// Sets the `ident` adjustment (`SERVER_SOFTWARE`); `None` removes it.
    pub fn ident(mut self, ident: Option<&str>) -> TestRequest {
        self.info.ident = ident.map(str::to_string);
        self
    }

    /// Makes `waitress.client_disconnected` report a client that has gone.
    pub fn client_disconnected(self) -> TestRequest {
        self.client_disconnected.mark_disconnected();
        self
    }

    /// Builds the environ the server would build, with `wsgi.errors` going
    /// to `errors`.
    pub fn environ(mut self, errors: Logger) -> Environ {
        let has_length = self
            .sent_headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-length"));
        if !self.body.is_empty() && !has_length {
            self.sent_headers
                .push(("Content-Length".to_string(), self.body.len().to_string()));
        }
        let mut cgi_headers: Vec<(Cow<'static, str>, String)> = Vec::new();
        for (name, value) in self.sent_headers {
            if name.contains('_') {
                continue;
            }
            let key = Cow::Owned(name.to_ascii_uppercase().replace('-', "_"));
            match cgi_headers.iter_mut().find(|(k, _)| *k == key) {
                Some((_, joined)) => {
                    joined.push_str(", ");
                    joined.push_str(&value);
                }
                None => cgi_headers.push((key, value)),
            }
        }
        // The parser's rule (RFC 9112 §3.2.2): an absolute-form target's
        // `host[:port]` is the Host, whatever Host was sent.
        let target_host = crate::http::uri::absolute_authority(&self.info.target)
            .and_then(|authority| crate::http::uri::parse_authority(authority).ok());
        if let Some(target_host) = target_host {
            let value = target_host.host_and_port.to_string();
            match cgi_headers.iter_mut().find(|(key, _)| key == "HOST") {
                Some((_, host)) => *host = value,
                None => cgi_headers.insert(0, (Cow::Borrowed("HOST"), value)),
            }
        }
        self.info.headers = cgi_headers;
        self.info.body = Input::from_bytes(self.body);
        Environ::from_request(self.info, errors, self.client_disconnected)
    }

    /// Calls the application and runs its body to the end.
    ///
    /// An error the application returns (from the call or from its body), or
    /// a broken `start_response` rule, is returned as `Err`: on a server
    /// these become a 500 or a closed connection. A panic is not caught.
    pub fn call<A: Application + ?Sized>(self, app: &A) -> Result<TestResponse, AppError> {
        let (logger, log) = Logger::memory(Level::Debug);
        let mut environ = self.environ(logger);
        let mut start_response = TestStartResponse::default();
        let body = app.call(&mut environ, &mut start_response)?;
        for chunk in body {
            start_response.write(&chunk?)?;
        }
        if !start_response.state.headers_sent() {
            start_response.state.mark_headers_sent()?;
        }
        drop(environ);
        Ok(TestResponse {
            status: start_response
                .state
                .status()
                .unwrap_or_default()
                .to_string(),
            status_code: start_response.state.status_code(),
            headers: start_response.state.headers().clone(),
            body: start_response.body,
            errors: log,
        })
    }
}

/// The test client's `start_response`: the server's checks, and a body
/// collected in memory.
#[derive(Default)]
struct TestStartResponse {
    state: ResponseStart,
    body: Vec<u8>,
}

impl StartResponse for TestStartResponse {
    fn start_response(
        &mut self,
        status: &str,
        headers: Headers,
        exc_info: Option<AppError>,
    ) -> Result<(), AppError> {
        self.state.start_response(status, headers, exc_info)
    }

    fn write(&mut self, data: &[u8]) -> Result<(), AppError> {
        if !self.state.is_started() {
            return Err(ResponseError::NotStarted.into());
        }
        if !data.is_empty() {
            // Headers go out lazily, with the first non-empty body bytes.
            self.state.mark_headers_sent()?;
            self.body.extend_from_slice(data);
        }
        Ok(())
    }
}

/// What an application produced for a [`TestRequest`].
#[derive(Debug)]
pub struct TestResponse {
    /// The status as given, e.g. `"200 OK"`.
    pub status: String,
    /// The numeric status code.
    pub status_code: u16,
    /// The headers as given, in order.
    pub headers: Headers,
    /// Every body byte, from `write` calls and the returned body.
    pub body: Vec<u8>,
    /// What the application wrote to `wsgi.errors` (one log line per line).
    pub errors: MemoryLog,
}

impl TestResponse {
    /// The numeric status code.
    pub fn status_code(&self) -> u16 {
        self.status_code
    }

    /// The first header with this name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}
