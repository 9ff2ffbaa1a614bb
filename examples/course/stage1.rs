//! Course stage 1: a blocking HTTP/1.1 server.
//!
//! One thread, one connection at a time: accept a connection, read the
//! request head, answer, close, accept the next. It uses the standard
//! library only, and nothing from the `waitress` crate: this is the program
//! a reader writes from an empty `main`.
//!
//! Run it with `cargo run --example course_stage1 -- --port 8080`
//! (`--port 0` picks any free port), then `curl -i http://127.0.0.1:8080/`.
#![forbid(unsafe_code)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};

/// The most bytes we read of a request head. A server must bound what a
/// client can make it buffer, or one client can exhaust its memory.
const MAX_HEAD: u64 = 8 * 1024;

// ANCHOR: main
fn main() {
    let port = port_from_args();
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap_or_else(|error| {
        eprintln!("cannot listen on 127.0.0.1:{port}: {error}");
        std::process::exit(1);
    });
    // The one line a test (or the course checker) waits for. With `--port 0`
    // the kernel chose the port, so print the address it actually bound.
    println!("Listening on {}", listener.local_addr().unwrap());

    // One connection at a time: while `handle` runs, nobody else is served.
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                if let Err(error) = handle(stream) {
                    // A client that vanishes mid-request is normal on the
                    // Internet: log it and serve the next one.
                    eprintln!("connection failed: {error}");
                }
            }
            Err(error) => eprintln!("accept failed: {error}"),
        }
    }
}
// ANCHOR_END: main

// ANCHOR: handle
/// Serves one connection: one request, one response, then close.
pub fn handle(stream: TcpStream) -> io::Result<()> {
    // `&TcpStream` implements `Read` and `Write`, so we can read through a
    // buffered, size-limited reader and still write to the same socket.
    let mut reader = BufReader::new((&stream).take(MAX_HEAD));

    let mut request_line = Vec::new();
    if reader.read_until(b'\n', &mut request_line)? == 0 {
        return Ok(()); // connected and closed without a byte: nothing to answer
    }
    let Some((method, target)) = parse_request_line(&request_line) else {
        return respond(&stream, "400 Bad Request", "Bad Request\n");
    };

    // Stage 1 needs no header, but it must still read them: closing a
    // socket that holds unread input makes the kernel send a reset (RST),
    // which can destroy our response before the client has read it.
    loop {
        let mut line = Vec::new();
        let read = reader.read_until(b'\n', &mut line)?;
        if read == 0 || line == b"\r\n" || line == b"\n" {
            break; // the blank line that ends the head (or the end of input)
        }
    }

    match (method.as_str(), target.as_str()) {
        ("GET", "/") => respond(&stream, "200 OK", "Hello, world!"),
        ("GET", _) => respond(&stream, "404 Not Found", "Not Found\n"),
        // A well-formed request with a method we do not implement.
        _ => respond(&stream, "501 Not Implemented", "Not Implemented\n"),
    }
}
// ANCHOR_END: handle

// ANCHOR: parse
/// Splits `METHOD SP TARGET SP HTTP/1.x CRLF` into the method and the
/// target, or `None` if the line has any other shape.
fn parse_request_line(line: &[u8]) -> Option<(String, String)> {
    // A line that does not end in a newline was cut off by `MAX_HEAD` or by
    // the client closing early: either way it is not a request line.
    let line = line.strip_suffix(b"\n")?;
    let line = line.strip_suffix(b"\r").unwrap_or(line); // tolerate a bare LF
    let line = std::str::from_utf8(line).ok()?;

    // Exactly three parts separated by single spaces: `split(' ')` keeps
    // the empty parts that `split_whitespace` would hide.
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }

    // RFC 9110: a method is a token, a run of these characters.
    let is_token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    let target_ok = !target.is_empty() && target.bytes().all(|b| b.is_ascii_graphic());
    let version_ok = version.len() == "HTTP/1.1".len()
        && version.starts_with("HTTP/1.")
        && version.as_bytes()[7].is_ascii_digit();

    (is_token(method) && target_ok && version_ok).then(|| (method.to_string(), target.to_string()))
}
// ANCHOR_END: parse

// ANCHOR: respond
/// Writes a complete response and lets the caller close the connection.
fn respond(mut stream: &TcpStream, status: &str, body: &str) -> io::Result<()> {
    // Content-Length tells the client where the body ends; `Connection:
    // close` tells it that we close afterwards, so it must not send another
    // request on this connection.
    let head = format!(
        "HTTP/1.1 {status}\r\n\
         Content-Type: text/plain\r\n\
         Content-Length: {}\r\n\
         Connection: close\r\n\
         \r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    stream.flush()
}
// ANCHOR_END: respond

/// `--port N`, or 8080 when no argument is given.
pub fn port_from_args() -> u16 {
    let mut port = 8080;
    let mut args = std::env::args();
    let program = args.next().unwrap_or_default();
    while let Some(flag) = args.next() {
        match (flag.as_str(), args.next().map(|value| value.parse())) {
            ("--port", Some(Ok(value))) => port = value,
            _ => {
                eprintln!("usage: {program} [--port N]");
                std::process::exit(2);
            }
        }
    }
    port
}
