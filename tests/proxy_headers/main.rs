//! The proxy headers middleware, behaviour by behaviour: the catalogue rows
//! I01–I12 of the reference (named in each test's comment), the edge cases
//! around them, and a property that no header value can make it panic.
//!
//! Every test runs in-process through `TestRequest`: the wrapped application
//! echoes its environ, one `KEY=VALUE` per line, so a test sees exactly what
//! an application behind the middleware would see.
//!
//! This file holds the helpers; the tests are in one module per topic:
//! `x_forwarded` (I01–I06), `untrusted` (I07–I08), `forwarded` (RFC 7239,
//! I09–I11), `peers` (I12 and the configuration) and `properties`.

mod forwarded;
mod peers;
mod properties;
mod untrusted;
mod x_forwarded;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use waitress::apps::proxy_headers::{ProxyConfig, ProxyHeaders};
use waitress::config::Adjustments;
use waitress::gateway::testing::{TestRequest, TestResponse};
use waitress::gateway::{AppResult, Body, Environ, StartResponse, headers};
use waitress::logging::{Level, Logger};

/// The catalogue's default: one trusted proxy on localhost, four headers.
const CATALOGUE_HEADERS: &str =
    "x-forwarded-for x-forwarded-proto x-forwarded-host x-forwarded-port";

fn echo_environ(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    let mut text = String::new();
    for (key, value) in environ.iter() {
        writeln!(text, "{key}={value}").unwrap();
    }
    start_response.start_response("200 OK", headers(&[("Content-Type", "text/plain")]), None)?;
    Ok(Body::from(text))
}

fn adjustments(settings: &[(&str, &str)]) -> Adjustments {
    let mut builder = Adjustments::builder();
    for (key, value) in settings {
        builder = builder.set(key, value).unwrap();
    }
    builder.build().unwrap()
}

/// `trusted_proxy=127.0.0.1` with the catalogue's four headers, plus `extra`.
fn catalogue(extra: &[(&str, &str)]) -> Adjustments {
    let mut settings = vec![
        ("trusted_proxy", "127.0.0.1"),
        ("trusted_proxy_headers", CATALOGUE_HEADERS),
    ];
    settings.extend_from_slice(extra);
    adjustments(&settings)
}

/// What one request through the middleware produced.
struct Outcome {
    response: TestResponse,
    /// The environ the application saw (empty when it was not called).
    environ: BTreeMap<String, String>,
    /// Everything the middleware logged.
    log: String,
}

impl Outcome {
    fn var(&self, key: &str) -> Option<&str> {
        self.environ.get(key).map(String::as_str)
    }

    fn app_was_called(&self) -> bool {
        !self.environ.is_empty()
    }
}

fn send(adj: &Adjustments, request: TestRequest) -> Outcome {
    send_with(ProxyConfig::from_adjustments(adj), request)
}

fn send_with(config: ProxyConfig, request: TestRequest) -> Outcome {
    let (logger, log) = Logger::memory(Level::Debug);
    let app = ProxyHeaders::new(echo_environ, config, logger);
    let response = request.call(&app).unwrap();
    let environ = if response.status_code() == 200 {
        response
            .text()
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    } else {
        BTreeMap::new()
    };
    Outcome {
        response,
        environ,
        log: log.contents(),
    }
}

/// A request from the trusted proxy (127.0.0.1) with these headers.
fn from_proxy(headers: &[(&str, &str)]) -> TestRequest {
    let mut request = TestRequest::get("/").remote("127.0.0.1", "40000");
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request
}

fn assert_malformed(outcome: &Outcome, header: &str) {
    assert_eq!(outcome.response.status, "400 Bad Request");
    assert!(!outcome.app_was_called());
    let expected = format!("Header \"{header}\" malformed.");
    assert!(
        outcome.response.text().contains(&expected),
        "{:?} lacks {expected:?}",
        outcome.response.text()
    );
    assert!(
        outcome.log.contains(&format!(
            "Malformed proxy header \"{header}\" from \"127.0.0.1\""
        )),
        "{}",
        outcome.log
    );
}
