//! Stage 2's pool serving keep-alive connections (course stages 3 and 4;
//! stage 4 reuses this file with its own `body` module).

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crate::app::{app, error_response, serialize};
use crate::body::{BodyDecoder, framing};
use crate::parser::{HttpError, Status, parse_head};
use crate::queue::Queue;

const THREADS: usize = 4; // as in stage 2
const QUEUE_CAPACITY: usize = 16;

/// Binds `127.0.0.1:--port`, starts stage 2's pool and serves forever.
pub fn run(program: &str) {
    let port = port_from_args(program);
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap_or_else(|error| {
        eprintln!("cannot listen on 127.0.0.1:{port}: {error}");
        std::process::exit(1);
    });
    let queue = Arc::new(Queue::new(QUEUE_CAPACITY));
    for _ in 0..THREADS {
        let queue = Arc::clone(&queue);
        thread::spawn(move || {
            loop {
                if let Err(error) = handle(queue.pop()) {
                    eprintln!("connection failed: {error}");
                }
            }
        });
    }
    println!("Listening on {}", listener.local_addr().unwrap());
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => queue.push(stream),
            Err(error) => eprintln!("accept failed: {error}"),
        }
    }
}

// ANCHOR: handle
/// Serves one connection: requests, one after another, until the client
/// closes, asks us to close, or sends something we refuse.
fn handle(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = Vec::new(); // received, not yet used
    loop {
        let (request, head_len) = loop {
            match parse_head(&buf) {
                Ok(Status::Complete(head)) => break head,
                Ok(Status::Partial) if read_more(&mut stream, &mut buf)? => {}
                Ok(Status::Partial) => return Ok(()), // closed between requests
                Err(error) => return refuse(stream, &error),
            }
        };
        buf.drain(..head_len);
        let mut decoder = match framing(&request) {
            Ok(framing) => BodyDecoder::new(framing),
            Err(error) => return refuse(stream, &error),
        };
        let mut body = Vec::new();
        loop {
            let decoded = match decoder.decode(&buf, &mut body) {
                Ok(decoded) => decoded,
                Err(error) => return refuse(stream, &error),
            };
            buf.drain(..decoded.consumed);
            if decoded.done {
                break;
            }
            if !read_more(&mut stream, &mut buf)? {
                return Ok(()); // closed in the middle of a body
            }
        }
        let keep_alive = request.keep_alive();
        let response = app(&request, &body);
        stream.write_all(&serialize(&response, request.method == "HEAD", keep_alive))?;
        if !keep_alive {
            return close(stream);
        }
    }
}
// ANCHOR_END: handle

/// Reads what has arrived into `buf`; `false` when the client has closed.
fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<bool> {
    let mut chunk = [0; 4096];
    let n = stream.read(&mut chunk)?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n > 0)
}

// ANCHOR: close
/// Answers a request we refuse, then closes: after an error we no longer
/// know where the next request would begin.
fn refuse(mut stream: TcpStream, error: &HttpError) -> io::Result<()> {
    stream.write_all(&serialize(&error_response(error), false, false))?;
    close(stream)
}

/// Closes in two steps (RFC 9112 §9.6): our side, then, once the client
/// has seen our end of file, theirs (unread input would send a reset).
fn close(mut stream: TcpStream) -> io::Result<()> {
    stream.shutdown(Shutdown::Write)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut sink = [0; 4096];
    let mut left: usize = 64 * 1024; // read and drop at most this much
    while let Ok(n @ 1..) = stream.read(&mut sink) {
        left = left.saturating_sub(n);
        if left == 0 {
            break;
        }
    }
    Ok(())
}
// ANCHOR_END: close

/// `--port N`, or 8080 when no argument is given.
fn port_from_args(program: &str) -> u16 {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let port = match args.as_slice() {
        [] => Some(8080),
        [flag, port] if flag == "--port" => port.parse().ok(),
        _ => None,
    };
    port.unwrap_or_else(|| {
        eprintln!("usage: {program} [--port N]");
        std::process::exit(2);
    })
}
