//! The course's stage checker (`examples/course_check/`) run against tiny
//! servers started here: one that does stage 2 right, one that blocks on a
//! silent client (stage 1 only), and one whose `GET /` has the wrong body.
//! Each server is a std `TcpListener` thread that lives as long as this
//! test process; every connection it serves has a read timeout.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::thread;
use std::time::Duration;

/// The checker's binary, built once (same profile and target directory as
/// this test) and found next to this test's own binary.
fn checker() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| support::build_examples(&["course_check"]).join("course_check"))
}

/// Runs the checker; returns its exit code and stdout (also printed).
fn check(args: &[&str]) -> (i32, String) {
    let Output { status, stdout, .. } = Command::new(checker()).args(args).output().unwrap();
    let stdout = String::from_utf8(stdout).unwrap();
    eprintln!("course_check {}\n{stdout}", args.join(" "));
    (status.code().expect("the checker exits"), stdout)
}

/// The answer of a correct stage 1 or 2 server to one request head.
fn answer(head: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(head);
    let line = text.split("\r\n").next().unwrap_or_default();
    let parts: Vec<&str> = line.split(' ').collect();
    let (status, body) = match parts[..] {
        [method, target, version]
            if !method.is_empty() && !target.is_empty() && version.starts_with("HTTP/1.") =>
        {
            if target == "/" {
                ("200 OK", "Hello, world!")
            } else {
                ("404 Not Found", "Not Found\n")
            }
        }
        _ => ("400 Bad Request", "Bad Request\n"),
    };
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Reads one request head (up to 5 s), writes what `respond` makes of it,
/// and closes.
fn serve(mut stream: TcpStream, respond: fn(&[u8]) -> Vec<u8>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut head = Vec::new();
    let mut buffer = [0; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 8192 {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buffer[..n]),
        }
    }
    let _ = stream.write_all(&respond(&head));
}

/// Starts a server on a free loopback port: a thread per connection if
/// `threaded`, otherwise one connection at a time (stage 1).
fn start(respond: fn(&[u8]) -> Vec<u8>, threaded: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            if threaded {
                thread::spawn(move || serve(stream, respond));
            } else {
                serve(stream, respond);
            }
        }
    });
    addr
}

#[test]
fn a_correct_stage_2_server_passes_every_check() {
    let addr = start(answer, true).to_string();
    let (code, stdout) = check(&["--stage", "2", &addr]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.lines().all(|line| line.starts_with("ok   ")),
        "{stdout}"
    );
    assert!(stdout.contains("ok   stage 1: GET / answers 200 with Hello, world!"));
    assert!(stdout.contains("ok   stage 2: "), "{stdout}");
}

#[test]
fn a_blocking_server_passes_stage_1_and_fails_stage_2() {
    let addr = start(answer, false).to_string();
    let (code, stdout) = check(&["--stage", "1", &addr]);
    assert_eq!(code, 0, "{stdout}");
    let (code, stdout) = check(&["--stage", "2", &addr]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("FAIL stage 2: GET / answers within 2 s"),
        "{stdout}"
    );
    assert!(!stdout.contains("FAIL stage 1"), "{stdout}");
}

#[test]
fn a_wrong_body_fails_the_check_that_names_it() {
    fn wrong(_: &[u8]) -> Vec<u8> {
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\
          Connection: close\r\n\r\nGoodbye, all!"
            .to_vec()
    }
    let addr = start(wrong, true).to_string();
    let (code, stdout) = check(&["--stage", "2", &addr]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains(
            "FAIL stage 1: GET / answers 200 with Hello, world!: \
             expected body \"Hello, world!\", got \"Goodbye, all!\""
        ),
        "{stdout}"
    );
}

#[test]
fn only_loopback_addresses_and_known_stages_are_accepted() {
    for args in [
        &["--stage", "1", "192.0.2.1:80"][..],
        &["--stage", "1", "[2001:db8::1]:80"],
        &["--stage", "1", "example.com:80"],
        &["--stage", "9", "127.0.0.1:80"],
        &["--stage", "1"],
        &["127.0.0.1:80"],
    ] {
        let (code, stdout) = check(args);
        assert_eq!(code, 2, "{args:?}");
        assert!(stdout.is_empty(), "{args:?}: nothing was checked: {stdout}");
    }
}
