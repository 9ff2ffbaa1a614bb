//! The checks of stages 5 (one poll loop: idle connections cost no thread,
//! heads arrive in pieces, slow readers do not block) and 6 (a gateway:
//! query strings, chunked responses, HEAD, a panicking application).

use std::io::Write;
use std::net::SocketAddr;
use std::thread;
use std::time::Duration;

use crate::client::{Response, connect, exchange, quote};
use crate::stages::{Check, body_is, same};
use crate::stages_3_4::Conn;

/// How long an answer may take while the server is under a test's load.
const ANSWER: Duration = Duration::from_secs(2);

const GET_CLOSE: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

/// `Ok` if `response` is `200 OK` with `Hello, world!`.
fn hello(response: &Response) -> Result<(), String> {
    same("HTTP/1.1 200 OK", Some(&response.status_line))?;
    body_is(response, "Hello, world!")
}

/// Stage 5: many idle connections, heads in pieces, slow readers.
pub fn stage5(addr: SocketAddr) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut check = |name: &str, result| checks.push(Check::new(5, name, result));

    check(
        "GET / answers within 2 s while 100 other connections stay silent",
        (|| {
            let mut silent = Vec::new();
            for _ in 0..100 {
                silent.push(connect(addr)?);
            }
            let answered = exchange(addr, GET_CLOSE, ANSWER)?;
            drop(silent);
            hello(&answered)
        })(),
    );
    check(
        "a head sent in four pieces, 100 ms apart, is answered",
        (|| {
            let mut conn = Conn::open(addr)?;
            for piece in ["GET / HT", "TP/1.1\r\nHo", "st: localhost\r", "\n\r\n"] {
                conn.send(piece.as_bytes())?;
                thread::sleep(Duration::from_millis(100));
            }
            hello(&conn.next()?)
        })(),
    );
    check(
        "GET / answers within 2 s while a client does not read its 4 MB of echoes",
        (|| {
            let mut slow = connect(addr)?;
            let _ = slow.set_write_timeout(Some(ANSWER));
            let request =
                b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000\r\n\r\n";
            let writer = thread::spawn(move || {
                for _ in 0..4 {
                    let _ = slow
                        .write_all(request)
                        .and_then(|()| slow.write_all(&[b'x'; 1_000_000]));
                }
                slow // kept open, and unread, until the check is done
            });
            thread::sleep(Duration::from_millis(300));
            let answered = exchange(addr, GET_CLOSE, ANSWER);
            drop(writer.join());
            hello(&answered?)
        })(),
    );
    checks
}

/// The body a chunked encoding carries, or why it is not one.
fn dechunk(mut wire: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let bad = || format!("expected a chunked body, got {}", quote(wire));
        let end = wire.windows(2).position(|w| w == b"\r\n").ok_or_else(bad)?;
        let size = std::str::from_utf8(&wire[..end]).map_err(|_| bad())?;
        let size = usize::from_str_radix(size, 16).map_err(|_| bad())?;
        let chunk = wire.get(end + 2..end + 2 + size).ok_or_else(bad)?;
        if size == 0 {
            return Ok(body);
        }
        body.extend_from_slice(chunk);
        wire = wire.get(end + 2 + size + 2..).ok_or_else(bad)?;
    }
}

/// Stage 6: the gateway's framing, HEAD, and a panicking application.
pub fn stage6(addr: SocketAddr) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut check = |name: &str, result| checks.push(Check::new(6, name, result));
    let get = |target: &str, version: &str| {
        let request =
            format!("GET {target} HTTP/{version}\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        exchange(addr, request.as_bytes(), ANSWER)
    };
    const STREAM: &str = "chunk 1\nchunk 2\nchunk 3\n";

    check(
        "GET /hello?name=course answers Hello, course!",
        get("/hello?name=course", "1.1").and_then(|response| body_is(&response, "Hello, course!")),
    );
    check(
        "GET /stream is sent chunked, and carries chunk 1, 2 and 3",
        get("/stream", "1.1").and_then(|response| {
            same("chunked", response.header("Transfer-Encoding"))?;
            let body = dechunk(&response.body)?;
            same(STREAM, Some(&String::from_utf8_lossy(&body)))
        }),
    );
    check(
        "GET /stream over HTTP/1.0 ends its body by closing",
        get("/stream", "1.0").and_then(|response| {
            same("close", response.header("Connection"))?;
            body_is(&response, STREAM)
        }),
    );
    check(
        "HEAD / answers 200 with Content-Length: 13 and no body",
        (|| {
            let head = b"HEAD / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
            let response = exchange(addr, head, ANSWER)?;
            same("HTTP/1.1 200 OK", Some(&response.status_line))?;
            same("13", response.header("Content-Length"))?;
            body_is(&response, "")
        })(),
    );
    check(
        "GET /panic answers 500, then GET / on the same connection answers 200",
        (|| {
            let mut conn = Conn::open(addr)?;
            let panic = b"GET /panic HTTP/1.1\r\nHost: localhost\r\n\r\n";
            let failed = conn.send(panic)?.next()?;
            same(
                "HTTP/1.1 500 Internal Server Error",
                Some(&failed.status_line),
            )?;
            hello(&conn.send(GET_CLOSE)?.next()?)
        })(),
    );
    checks
}
