//! Middleware: an application that wraps another, as WSGI middleware does.
//!
//! `Mount` serves an inner application under a path prefix: it moves the
//! prefix from `PATH_INFO` to `SCRIPT_NAME` (so the inner application builds
//! correct links), answers 404 outside it, and adds an `X-Mounted-At` header
//! to every response by wrapping `start_response`.
//!
//! Run it: `cargo run --example middleware`. It serves on
//! 127.0.0.1:8080; try `curl http://127.0.0.1:8080/app/users/7`.

use waitress::gateway::{
    AppError, AppResult, Application, Body, Environ, Headers, StartResponse, headers,
};

// ANCHOR: mount
/// Serves `inner` under `prefix` (e.g. `/app`).
pub struct Mount<A> {
    pub prefix: String,
    pub inner: A,
}

impl<A: Application> Application for Mount<A> {
    fn call(&self, environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        let path = environ.path_info().to_string();
        let rest = match path.strip_prefix(&self.prefix) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => rest.to_string(),
            _ => {
                start_response.start_response(
                    "404 Not Found",
                    headers(&[("Content-Type", "text/plain")]),
                    None,
                )?;
                return Ok(Body::from("Not Found\n"));
            }
        };
        let script_name = format!(
            "{}{}",
            environ.get("SCRIPT_NAME").unwrap_or(""),
            self.prefix
        );
        environ.insert("SCRIPT_NAME", script_name);
        environ.insert("PATH_INFO", rest);
        let mut tagging = AddHeader {
            inner: start_response,
            name: "X-Mounted-At",
            value: &self.prefix,
        };
        self.inner.call(environ, &mut tagging)
    }
}

/// A `start_response` that adds one header to what the inner application starts.
struct AddHeader<'a> {
    inner: &'a mut dyn StartResponse,
    name: &'a str,
    value: &'a str,
}

impl StartResponse for AddHeader<'_> {
    fn start_response(
        &mut self,
        status: &str,
        mut headers: Headers,
        exc_info: Option<AppError>,
    ) -> Result<(), AppError> {
        headers.push((self.name.to_string(), self.value.to_string()));
        self.inner.start_response(status, headers, exc_info)
    }

    fn write(&mut self, data: &[u8]) -> Result<(), AppError> {
        self.inner.write(data)
    }
}
// ANCHOR_END: mount

/// The inner application: says where it thinks it is mounted.
pub fn whereami(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    let text = format!(
        "SCRIPT_NAME={} PATH_INFO={}\n",
        environ.get("SCRIPT_NAME").unwrap_or(""),
        environ.path_info()
    );
    start_response.start_response("200 OK", headers(&[("Content-Type", "text/plain")]), None)?;
    Ok(Body::from(text))
}

#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 127.0.0.1:8080 unless flags say otherwise: `-- --port 9000`, `-- --threads 8`, …
    let adjustments = waitress::config::Adjustments::builder()
        .host("127.0.0.1")
        .port(8080)
        .args(std::env::args().skip(1))?
        .build()?;
    waitress::server::serve(
        Mount {
            prefix: "/app".to_string(),
            inner: whereami,
        },
        adjustments,
    )?;
    Ok(())
}
