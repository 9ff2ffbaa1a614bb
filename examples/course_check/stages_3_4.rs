//! The checks of stages 3 (a strict parser, Content-Length, keep-alive) and
//! 4 (chunked bodies), with a client that reads responses one at a time by
//! their Content-Length, so that a connection can carry several.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::client::{Response, connect, exchange, parse, quote};
use crate::stages::{Check, body_is, closes, same};

/// How long a stage 3 or 4 exchange may take.
const ANSWER: Duration = Duration::from_secs(3);

/// One connection kept open across requests.
pub struct Conn {
    stream: TcpStream,
    /// Received and not yet returned as a response.
    pending: Vec<u8>,
    closed: bool,
}

impl Conn {
    pub fn open(addr: SocketAddr) -> Result<Conn, String> {
        let stream = connect(addr)?;
        Ok(Conn {
            stream,
            pending: Vec::new(),
            closed: false,
        })
    }

    pub fn send(&mut self, request: &[u8]) -> Result<&mut Conn, String> {
        let sent = self.stream.write_all(request);
        sent.map_err(|error| format!("expected to send the request, got {error}"))?;
        Ok(self)
    }

    /// The next response, framed by its Content-Length, within `ANSWER`.
    pub fn next(&mut self) -> Result<Response, String> {
        let deadline = Instant::now() + ANSWER;
        loop {
            if let Some(length) = self.complete_response()? {
                let bytes: Vec<u8> = self.pending.drain(..length).collect();
                return parse(&bytes, self.closed);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if self.closed || left.is_zero() || self.stream.set_read_timeout(Some(left)).is_err() {
                return parse(&self.pending, self.closed).and_then(|response| {
                    let got = format!("{} bytes of body", response.body.len());
                    same("a complete response", Some(&got)).map(|()| response)
                });
            }
            let mut buffer = [0; 4096];
            match self.stream.read(&mut buffer) {
                Ok(0) => self.closed = true,
                Ok(n) => self.pending.extend_from_slice(&buffer[..n]),
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(error)
                    if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => self.closed = true,
            }
        }
    }

    /// The length of the first complete response in `pending`, if any.
    fn complete_response(&self) -> Result<Option<usize>, String> {
        let Some(end) = self.pending.windows(4).position(|w| w == b"\r\n\r\n") else {
            return Ok(None);
        };
        let head = parse(&self.pending[..end + 4], false)?;
        let length = head.header("Content-Length").unwrap_or("missing");
        let length: usize = length
            .parse()
            .map_err(|_| format!("expected a Content-Length, got {length:?}"))?;
        Ok((self.pending.len() >= end + 4 + length).then_some(end + 4 + length))
    }

    /// `Ok` if the server closes the connection within `ANSWER`.
    pub fn closes(&mut self) -> Result<(), String> {
        let _ = self.stream.set_read_timeout(Some(ANSWER));
        let mut rest = Vec::new();
        match self.stream.read_to_end(&mut rest) {
            Ok(_) if rest.is_empty() => Ok(()),
            Ok(_) => Err(format!(
                "expected the connection to close, got {}",
                quote(&rest)
            )),
            Err(_) => Err("expected the server to close the connection, got it still open".into()),
        }
    }
}

/// `Ok` if `response` is `status` with `body`, and keeps the connection.
fn kept(response: &Response, status: &str, body: &str) -> Result<(), String> {
    same(&format!("HTTP/1.1 {status}"), Some(&response.status_line))?;
    body_is(response, body)?;
    match response.header("Connection") {
        Some(value) if value.eq_ignore_ascii_case("close") => {
            Err("expected the connection kept open, got Connection: close".into())
        }
        _ => Ok(()),
    }
}

/// Sends `request` on its own connection: `Ok` if the answer is `status`
/// and the server then closes.
fn refused(addr: SocketAddr, request: &[u8], status: &str) -> Result<(), String> {
    let response = exchange(addr, request, ANSWER)?;
    same(&format!("HTTP/1.1 {status}"), Some(&response.status_line))?;
    closes(&response)
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

fn echo(body: &str) -> Vec<u8> {
    let length = body.len();
    format!("POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: {length}\r\n\r\n{body}")
        .into_bytes()
}

fn chunked(chunks: &str, extra: &str) -> Vec<u8> {
    format!("POST /echo HTTP/1.1\r\nHost: localhost\r\n{extra}\r\n\r\n{chunks}").into_bytes()
}

/// Stage 3: keep-alive, pipelining, `POST /echo`, and the strict rules.
pub fn stage3(addr: SocketAddr) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut check =
        |name: &str, result: Result<(), String>| checks.push(Check::new(3, name, result));

    check(
        "two GET / on one connection (keep-alive)",
        (|| {
            let mut conn = Conn::open(addr)?;
            kept(&conn.send(GET)?.next()?, "200 OK", "Hello, world!")?;
            kept(&conn.send(GET)?.next()?, "200 OK", "Hello, world!")
        })(),
    );
    check(
        "pipelined GET /, POST /echo, GET /missing answered in order",
        (|| {
            let mut conn = Conn::open(addr)?;
            let missing = b"GET /missing HTTP/1.1\r\nHost: localhost\r\n\r\n";
            conn.send(&[GET, &echo("piped"), missing].concat())?;
            kept(&conn.next()?, "200 OK", "Hello, world!")?;
            kept(&conn.next()?, "200 OK", "piped")?;
            kept(&conn.next()?, "404 Not Found", "Not Found\n")
        })(),
    );
    check(
        "POST /echo answers 200 with the request body",
        (|| {
            kept(
                &Conn::open(addr)?.send(&echo("hello, echo"))?.next()?,
                "200 OK",
                "hello, echo",
            )
        })(),
    );
    check(
        "Connection: close is answered with Connection: close, then closed",
        (|| {
            let mut conn = Conn::open(addr)?;
            let request = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
            let response = conn.send(request)?.next()?;
            same("close", response.header("Connection"))?;
            conn.closes()
        })(),
    );
    check(
        "an HTTP/1.0 request is answered, then closed",
        (|| {
            let mut conn = Conn::open(addr)?;
            let response = conn.send(b"GET / HTTP/1.0\r\n\r\n")?.next()?;
            body_is(&response, "Hello, world!")?;
            conn.closes()
        })(),
    );
    let head = |fields: &str| format!("GET / HTTP/1.1\r\n{fields}\r\n").into_bytes();
    let bad_requests: [(&str, Vec<u8>); 7] = [
        ("a bare LF", b"GET / HTTP/1.1\nHost: localhost\n\n".to_vec()),
        ("a space before the colon", head("Host : localhost\r\n")),
        (
            "an obs-fold line",
            head("Host: localhost\r\nX-A: 1\r\n 2\r\n"),
        ),
        ("no Host", head("")),
        ("two Hosts", head("Host: a\r\nHost: b\r\n")),
        (
            "Content-Length: +5",
            head("Host: localhost\r\nContent-Length: +5\r\n"),
        ),
        (
            "Content-Length 5 then 6",
            head("Host: l\r\nContent-Length: 5\r\nContent-Length: 6\r\n"),
        ),
    ];
    for (what, request) in bad_requests {
        let name = format!("a head with {what} answers 400 and closes");
        check(&name, refused(addr, &request, "400 Bad Request"));
    }
    let big = head(&format!(
        "Host: localhost\r\nX-Big: {}\r\n",
        "a".repeat(9000)
    ));
    let name = "a 9 KiB head answers 431 and closes";
    check(
        name,
        refused(addr, &big, "431 Request Header Fields Too Large"),
    );
    let huge = head("Host: localhost\r\nContent-Length: 1048577\r\n");
    let name = "a body over 1 MiB answers 413 and closes";
    check(name, refused(addr, &huge, "413 Content Too Large"));
    let gzip = chunked("", "Transfer-Encoding: gzip");
    check(
        "Transfer-Encoding: gzip answers 501 and closes",
        refused(addr, &gzip, "501 Not Implemented"),
    );
    checks
}

/// Stage 4: chunked bodies, and the refusals that prevent smuggling.
pub fn stage4(addr: SocketAddr) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut check =
        |name: &str, result: Result<(), String>| checks.push(Check::new(4, name, result));
    let te = "Transfer-Encoding: chunked";

    check(
        "a chunked POST /echo (extension, trailer) is echoed, then GET / on the same connection",
        (|| {
            let mut conn = Conn::open(addr)?;
            let body = chunked("5;x=y\r\nhello\r\n7\r\n, chunk\r\n0\r\nX-T: 1\r\n\r\n", te);
            conn.send(&[&body, GET].concat())?;
            kept(&conn.next()?, "200 OK", "hello, chunk")?;
            kept(&conn.next()?, "200 OK", "Hello, world!")
        })(),
    );
    let both = chunked(
        "0\r\n\r\n",
        "Content-Length: 5\r\nTransfer-Encoding: chunked",
    );
    check(
        "Transfer-Encoding with Content-Length answers 400 and closes",
        refused(addr, &both, "400 Bad Request"),
    );
    let gzip = chunked("0\r\n\r\n", "Transfer-Encoding: gzip, chunked");
    check(
        "Transfer-Encoding: gzip, chunked answers 501 and closes",
        refused(addr, &gzip, "501 Not Implemented"),
    );
    let twice = chunked("0\r\n\r\n", "Transfer-Encoding: chunked, chunked");
    check(
        "Transfer-Encoding: chunked, chunked answers 400 and closes",
        refused(addr, &twice, "400 Bad Request"),
    );
    let prefix = chunked("0x5\r\nhello\r\n0\r\n\r\n", te);
    check(
        "a chunk size 0x5 answers 400 and closes",
        refused(addr, &prefix, "400 Bad Request"),
    );
    let long = chunked("5\r\nhello!\r\n0\r\n\r\n", te);
    check(
        "a chunk longer than its size answers 400 and closes",
        refused(addr, &long, "400 Bad Request"),
    );
    let huge = chunked("100001\r\n", te);
    check(
        "a chunk over 1 MiB answers 413 and closes",
        refused(addr, &huge, "413 Content Too Large"),
    );
    checks
}
