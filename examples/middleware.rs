//! Middleware: an application that wraps another, as WSGI middleware does.
//!
//! `MountedAt` adds an `X-Mounted-At` header to every response of the
//! application it wraps, by wrapping `start_response`; the library's prefix
//! router, `waitress::apps::Mount`, serves it under `/app`: it moves the
//! prefix from `PATH_INFO` to `SCRIPT_NAME` (so the inner application builds
//! correct links) and answers 404 outside it.
//!
//! Run it: `cargo run --example middleware`. It serves on
//! 127.0.0.1:8080; try `curl http://127.0.0.1:8080/app/users/7`.

use waitress::apps::Mount;
use waitress::gateway::{
    AppError, AppResult, Application, Body, Environ, Headers, StartResponse, headers,
};

/// `whereami` under `/app`, tagged with where it is mounted.
pub fn app() -> Mount {
    Mount::new().at("/app", MountedAt { inner: whereami })
}

// ANCHOR: mounted_at
/// Adds `X-Mounted-At: SCRIPT_NAME` to what `inner` answers.
pub struct MountedAt<A> {
    pub inner: A,
}

impl<A: Application> Application for MountedAt<A> {
    fn call(&self, environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        let script_name = environ.get("SCRIPT_NAME").unwrap_or("").to_string();
        let mut tagging = AddHeader {
            inner: start_response,
            name: "X-Mounted-At",
            value: &script_name,
        };
        self.inner.call(environ, &mut tagging)
    }
}
// ANCHOR_END: mounted_at

/// A `start_response` that adds one header to what the inner application starts.
struct AddHeader<'a> {
    inner: &'a mut dyn StartResponse,
    name: &'a str,
    value: &'a str,
}

// ANCHOR: add_header
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
// ANCHOR_END: add_header

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
    waitress::server::serve(app(), adjustments)?;
    Ok(())
}
