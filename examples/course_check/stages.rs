//! The checks, one function per stage. Each returns its checks' results;
//! stage N is checked by running the functions of stages 1 to N in order.
//! Adding a stage is adding a function and its entry in [`STAGES`].

use std::net::SocketAddr;
use std::time::Duration;

use crate::client::{Response, connect, exchange, quote};
use crate::stages_3_4::{stage3, stage4};

/// The stage functions, in order: `STAGES[0]` is stage 1.
pub const STAGES: &[fn(SocketAddr) -> Vec<Check>] = &[stage1, stage2, stage3, stage4];

/// How long a stage 1 exchange may take before it counts as unanswered.
const ANSWER: Duration = Duration::from_secs(3);

/// The outcome of one check: `Err` holds "expected ..., got ...".
pub struct Check {
    pub stage: usize,
    pub name: String,
    pub result: Result<(), String>,
}

impl Check {
    pub fn new(stage: usize, name: impl Into<String>, result: Result<(), String>) -> Check {
        Check {
            stage,
            name: name.into(),
            result,
        }
    }
}

/// `Ok` if `got` equals `expected`, otherwise "expected ..., got ...".
pub fn same(expected: &str, got: Option<&str>) -> Result<(), String> {
    match got {
        Some(got) if got == expected => Ok(()),
        Some(got) => Err(format!("expected {expected:?}, got {got:?}")),
        None => Err(format!("expected {expected:?}, got nothing")),
    }
}

/// `Ok` if the response's body is exactly `expected`.
pub fn body_is(response: &Response, expected: &str) -> Result<(), String> {
    if response.body == expected.as_bytes() {
        Ok(())
    } else {
        Err(format!(
            "expected body {expected:?}, got {}",
            quote(&response.body)
        ))
    }
}

/// `Ok` if the server closed the connection after its response.
pub fn closes(response: &Response) -> Result<(), String> {
    if response.closed {
        Ok(())
    } else {
        Err("expected the server to close the connection, got it still open".into())
    }
}

/// `Ok` if `Content-Length` is present and equals the body's length.
fn length_matches(response: &Response) -> Result<(), String> {
    same(
        &response.body.len().to_string(),
        response.header("Content-Length"),
    )
}

/// Stage 1, a blocking server: `GET /`, a 404, and a 400 for a request
/// line that is not `METHOD SP TARGET SP HTTP/1.x`. The requests say
/// `Connection: close`, so that a keep-alive server (stage 3 on) passes.
pub fn stage1(addr: SocketAddr) -> Vec<Check> {
    let mut checks = Vec::new();
    let hello = "GET / answers 200 with Hello, world!";
    match exchange(
        addr,
        b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        ANSWER,
    ) {
        Err(error) => checks.push(Check::new(1, hello, Err(error))),
        Ok(response) => {
            let status = same("HTTP/1.1 200 OK", Some(&response.status_line));
            let ok = status.and_then(|()| body_is(&response, "Hello, world!"));
            checks.push(Check::new(1, hello, ok));
            let content_type = response.header("Content-Type");
            let plain = content_type
                .and_then(|value| value.split(';').next())
                .is_some_and(|media| media.trim().eq_ignore_ascii_case("text/plain"));
            let plain = match plain {
                true => Ok(()),
                false => same("text/plain", content_type),
            };
            checks.push(Check::new(1, "GET / sends Content-Type: text/plain", plain));
            let length = same("13", response.header("Content-Length"));
            checks.push(Check::new(1, "GET / sends Content-Length: 13", length));
            let close = same("close", response.header("Connection"));
            checks.push(Check::new(1, "GET / sends Connection: close", close));
            let closed = closes(&response);
            checks.push(Check::new(
                1,
                "GET / closes the connection after it",
                closed,
            ));
        }
    }

    let missing = "GET /no-such-page answers 404 Not Found";
    let request = b"GET /no-such-page HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    match exchange(addr, request, ANSWER) {
        Err(error) => checks.push(Check::new(1, missing, Err(error))),
        Ok(response) => {
            let status = same("HTTP/1.1 404 Not Found", Some(&response.status_line));
            checks.push(Check::new(1, missing, status));
            let body = body_is(&response, "Not Found\n");
            checks.push(Check::new(1, "the 404's body is \"Not Found\\n\"", body));
            let length = length_matches(&response);
            checks.push(Check::new(
                1,
                "the 404's Content-Length matches its body",
                length,
            ));
            let close = same("close", response.header("Connection"));
            checks.push(Check::new(1, "the 404 sends Connection: close", close));
        }
    }

    for line in ["HELLO", "GET /", "GET / FTP/1.1"] {
        let name = format!("request line {line:?} answers 400 Bad Request and closes");
        let request = format!("{line}\r\nHost: localhost\r\n\r\n");
        let result = exchange(addr, request.as_bytes(), ANSWER).and_then(|response| {
            same("HTTP/1.1 400 Bad Request", Some(&response.status_line))?;
            closes(&response)
        });
        checks.push(Check::new(1, name, result));
    }
    checks
}

/// Stage 2, a thread pool: a connection that sends nothing no longer
/// blocks another client.
pub fn stage2(addr: SocketAddr) -> Vec<Check> {
    let name = "GET / answers within 2 s while another connection sends nothing";
    let result = connect(addr).and_then(|silent| {
        let answered = exchange(
            addr,
            b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            Duration::from_secs(2),
        )
        .and_then(|response| {
            same("HTTP/1.1 200 OK", Some(&response.status_line))?;
            body_is(&response, "Hello, world!")
        });
        drop(silent); // held open until the other client is answered
        answered
    });
    vec![Check::new(2, name, result)]
}
