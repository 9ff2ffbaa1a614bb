//! The course's stage programs (`examples/course/`, book Part I), checked
//! black-box: each is built, started with `--port 0`, and talked to over
//! TCP exactly as the stage definitions say. Every wait is bounded, and
//! every child is killed when its test ends.

#[path = "../support/mod.rs"]
mod support;

mod stages_1_2;
mod stages_3_4;
mod stages_5_6;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::Duration;

/// How long an answer may take before a test fails (not the blocking probe).
const PATIENCE: Duration = Duration::from_secs(10);

/// The bounded wait that shows whether one client blocks another.
const PROBE: Duration = Duration::from_millis(300);

/// The directory of the built examples (same profile and target directory
/// as this test), after building the stages and the checker once.
fn examples_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        support::build_examples(&[
            "course_stage1",
            "course_stage2",
            "course_stage3",
            "course_stage4",
            "course_stage5",
            "course_stage6",
            "course_check",
        ])
    })
}

/// A running stage program, killed when dropped.
struct Stage {
    child: Child,
    addr: SocketAddr,
}

impl Stage {
    /// Starts `course_stage{n}` with `--port 0` (and `extra` arguments) and
    /// waits, at most `PATIENCE`, for its `Listening on` line.
    fn start(n: u32, extra: &[&str]) -> Stage {
        let mut child = Command::new(examples_dir().join(format!("course_stage{n}")))
            .args(["--port", "0"])
            .args(extra)
            .stdout(Stdio::piped())
            // Stage 6 panics on purpose (`/panic`), and every stage logs
            // failed connections: the tests read answers, not the log.
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(line);
        });
        let line = receiver.recv_timeout(PATIENCE);
        let mut stage = Stage {
            child,
            addr: "0.0.0.0:0".parse().unwrap(),
        };
        let line = line.unwrap_or_else(|_| panic!("stage {n} printed nothing"));
        let addr = line.trim_end().strip_prefix("Listening on ");
        stage.addr = addr
            .unwrap_or_else(|| panic!("stage {n} printed {line:?}"))
            .parse()
            .unwrap();
        stage
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect_timeout(&self.addr, PATIENCE).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        stream.set_write_timeout(Some(PATIENCE)).unwrap();
        stream
    }

    /// Sends `request` on a new connection and reads until the server closes.
    fn send(&self, request: &str) -> Response {
        let mut stream = self.connect();
        stream.write_all(request.as_bytes()).unwrap();
        read_response(&mut stream)
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
struct Response {
    status_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        let mut found = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name));
        found.next().map(|(_, value)| value.as_str())
    }
}

/// Reads a whole response: the server closes the connection after it.
fn read_response(stream: &mut TcpStream) -> Response {
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .expect("the response, then close");
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Response {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of head in {text:?}"));
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap().to_string();
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(':').expect("a header line");
            (name.to_string(), value.trim().to_string())
        })
        .collect();
    Response {
        status_line,
        headers,
        body: body.as_bytes().to_vec(),
    }
}

/// Checks one answer exactly: status line, framing headers and body.
fn assert_answer(response: &Response, status: &str, body: &str) {
    assert_eq!(
        response.status_line,
        format!("HTTP/1.1 {status}"),
        "{response:?}"
    );
    let length = body.len().to_string();
    assert_eq!(
        response.header("Content-Length"),
        Some(length.as_str()),
        "{response:?}"
    );
    assert_eq!(response.header("Connection"), Some("close"), "{response:?}");
    assert_eq!(response.body, body.as_bytes(), "{response:?}");
}

/// The answers both stages give (stage 2 changes who serves, not what).
fn check_answers(n: u32) {
    let stage = Stage::start(n, &[]);
    let hello = stage.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_answer(&hello, "200 OK", "Hello, world!");
    assert_eq!(hello.header("Content-Type"), Some("text/plain"));
    let missing = stage.send("GET /nothing/here HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_answer(&missing, "404 Not Found", "Not Found\n");
    assert_answer(
        &stage.send("GET / HTTP/1.0\r\n\r\n"),
        "200 OK",
        "Hello, world!",
    );
    for bad in [
        "GARBAGE\r\n\r\n",
        "GET /\r\n\r\n",
        "GET  / HTTP/1.1\r\n\r\n",
        "GET / HTTP/2.0\r\n\r\n",
        "GET / HTTP/1.1 extra\r\n\r\n",
        "G(T / HTTP/1.1\r\n\r\n",
    ] {
        let response = stage.send(bad);
        assert_answer(&response, "400 Bad Request", "Bad Request\n");
    }
}

/// Connects a client that sends nothing, then asks for `/` on a second
/// connection and waits at most `PROBE`: whether the answer came.
fn answered_despite_a_silent_client(stage: &Stage, silent_clients: usize) -> bool {
    let silent: Vec<TcpStream> = (0..silent_clients).map(|_| stage.connect()).collect();
    std::thread::sleep(Duration::from_millis(50)); // let the server take them
    let mut probe = stage.connect();
    probe
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    probe.set_read_timeout(Some(PROBE)).unwrap();
    let mut first = [0; 1];
    let answered = match probe.read(&mut first) {
        Ok(n) => n > 0,
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => false,
        Err(e) => panic!("probe: {e}"),
    };
    // Once the silent clients leave, the probe is answered in any case.
    drop(silent);
    if !answered {
        probe.set_read_timeout(Some(PATIENCE)).unwrap();
    }
    let mut rest = Vec::new();
    probe
        .read_to_end(&mut rest)
        .expect("answered once the silent clients left");
    let raw = [&first[..usize::from(answered)], &rest].concat();
    assert_answer(&parse_response(&raw), "200 OK", "Hello, world!");
    answered
}

/// Runs the course checker at stage `n` against the stage `n` program and
/// asserts that every check passed: what a reader runs against their own
/// server, run against ours.
fn assert_checker_passes(n: u32) {
    let stage = Stage::start(n, &[]);
    let output = Command::new(examples_dir().join("course_check"))
        .args(["--stage", &n.to_string(), &stage.addr.to_string()])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "stage {n}:\n{report}");
    assert!(!report.contains("FAIL"), "stage {n}:\n{report}");
    assert!(
        report.contains(&format!("ok   stage {n}:")),
        "stage {n}:\n{report}"
    );
}
