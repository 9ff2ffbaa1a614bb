//! A minimal HTTP/1.1 client for the checker: every connect and read has a
//! timeout, so a server that never answers makes a check fail, not hang.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// How long a connect may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// What the server sent back on one connection.
pub struct Response {
    /// The status line, without its CRLF (`HTTP/1.1 200 OK`).
    pub status_line: String,
    /// The header fields in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// Everything after the blank line that ends the head.
    pub body: Vec<u8>,
    /// Whether the server closed the connection before the deadline.
    pub closed: bool,
}

impl Response {
    /// The value of the first field called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Connects to `addr` within [`CONNECT_TIMEOUT`].
pub fn connect(addr: SocketAddr) -> Result<TcpStream, String> {
    TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)
        .map_err(|error| format!("expected a connection to {addr}, got {error}"))
}

/// Sends `request` on a new connection and reads until the server closes
/// or `deadline` has passed, then parses what came back.
pub fn exchange(addr: SocketAddr, request: &[u8], deadline: Duration) -> Result<Response, String> {
    let mut stream = connect(addr)?;
    stream
        .write_all(request)
        .map_err(|error| format!("expected to send the request, got {error}"))?;
    let (bytes, closed) = read_until_close(&mut stream, Instant::now() + deadline);
    parse(&bytes, closed)
}

/// Reads until end of file or `deadline`; returns the bytes and whether the
/// server closed the connection (end of file, or a reset after data).
fn read_until_close(stream: &mut TcpStream, deadline: Instant) -> (Vec<u8>, bool) {
    let mut bytes = Vec::new();
    let mut buffer = [0; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return (bytes, false);
        }
        match stream.read(&mut buffer) {
            Ok(0) => return (bytes, true),
            Ok(n) => bytes.extend_from_slice(&buffer[..n]),
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return (bytes, false);
            }
            // A reset: the server did close, if abruptly.
            Err(_) => return (bytes, true),
        }
    }
}

/// Splits a response into status line, header fields and body.
pub fn parse(bytes: &[u8], closed: bool) -> Result<Response, String> {
    if bytes.is_empty() {
        let why = if closed {
            "the connection closed without a byte"
        } else {
            "no answer before the timeout"
        };
        return Err(format!("expected a response, got {why}"));
    }
    let Some(end) = bytes.windows(4).position(|window| window == b"\r\n\r\n") else {
        return Err(format!(
            "expected a response head ending in CRLF CRLF, got {}",
            quote(bytes)
        ));
    };
    let head = String::from_utf8_lossy(&bytes[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!(
                "expected a header field `name: value`, got {line:?}"
            ));
        };
        headers.push((name.to_string(), value.trim().to_string()));
    }
    Ok(Response {
        status_line,
        headers,
        body: bytes[end + 4..].to_vec(),
        closed,
    })
}

/// Bytes shown as a Rust string literal, cut after 80 characters.
pub fn quote(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.chars().count() > 80 {
        let cut: String = text.chars().take(80).collect();
        format!("{cut:?}...")
    } else {
        format!("{text:?}")
    }
}
