//! The `waitress-serve` binary, run as a user runs it: usage errors are one
//! line and exit status 2; it prints where it listens; it serves `hello`,
//! `echo` and a directory; SIGTERM and Ctrl-C (SIGINT) drain and exit 0.
//! Every wait is bounded, and a guard kills the child if a test fails.

mod support;

use std::io::{Read, Write};
use std::process::{Command, Output};

use support::child::BINARY;
use support::{TIMEOUT, TempDir, WaitressServe, run_with_timeout};

/// Runs the binary to completion (for commands that exit at once).
fn run(args: &[&str]) -> Output {
    run_with_timeout(Command::new(BINARY).args(args), TIMEOUT)
}

#[test]
fn help_and_version() {
    let output = run(&["--help"]);
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for needle in [
        "waitress-serve [OPTIONS] [APP]",
        "static:DIR",
        "--log-level=LEVEL",
        "--access-log[=FILE]",
        "--threads=INT  [4]",
    ] {
        assert!(help.contains(needle), "{needle} missing from --help");
    }
    let output = run(&["--version"]);
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        format!("waitress-serve {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn bad_usage_is_one_line_and_exit_status_2() {
    let missing = std::env::temp_dir().join(format!("waitress-serve-{}-nope", std::process::id()));
    let missing_static = format!("static:{}", missing.display());
    for (args, expected) in [
        (vec!["--thread=4", "hello"], "unknown option --thread"),
        (vec![], "specify an application"),
        (vec!["myapp:app"], "unknown application \"myapp:app\""),
        (vec!["--threads=zero", "hello"], "invalid value for threads"),
        (vec!["--log-level=loud", "hello"], "--log-level=loud"),
        (vec![missing_static.as_str()], "static: "),
        (vec!["hello", "echo"], "provide only one application"),
    ] {
        let output = run(&args);
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.starts_with(&format!("waitress-serve: {expected}")),
            "{args:?}: {stderr}"
        );
        assert!(output.stdout.is_empty());
    }
}

#[test]
fn a_port_in_use_is_one_line_and_exit_status_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap();
    let output = run(&[&format!("--listen={address}"), "hello"]);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on {address}")),
        "{stderr}"
    );
}

#[test]
fn serves_hello_and_exits_0_on_sigterm() {
    // `--access-log` alone logs to stderr and does not swallow APP.
    let server = WaitressServe::start(&["--access-log", "hello"]);
    let response = server.request("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.ends_with("\r\n\r\nHello, world!"), "{response}");
    let (status, stderr) = server.stop_with("TERM");
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("INFO [waitress] Shutting down"), "{stderr}");
    assert!(
        stderr.contains("] \"GET / HTTP/1.1\" 200 13 \"-\" \"-\"\n"),
        "{stderr}"
    );
}

#[test]
fn serves_echo_and_exits_0_on_ctrl_c() {
    let server = WaitressServe::start(&["echo"]);
    let response = server.request(
        "POST /anything HTTP/1.1\r\nHost: x\r\nContent-Type: text/x-test\r\n\
         Content-Length: 4\r\nConnection: close\r\n\r\nping",
    );
    assert!(
        response.contains("\r\nContent-Type: text/x-test\r\n"),
        "{response}"
    );
    assert!(response.ends_with("\r\n\r\nping"), "{response}");
    let (status, _) = server.stop_with("INT");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn serves_a_directory_with_an_access_log_file() {
    let dir = TempDir::new("serve-static");
    std::fs::write(dir.join("index.html"), "<h1>home</h1>").unwrap();
    let log_path = dir.join("access.log");
    let access_log = format!("--access-log={}", log_path.display());
    let server = WaitressServe::start(&[
        &access_log,
        "--access-log-format=common",
        "--log-level=error",
        dir.path.to_str().unwrap(),
    ]);
    let response = server.request("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(response.ends_with("<h1>home</h1>"), "{response}");
    let response =
        server.request("GET /../access.log HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(response.starts_with("HTTP/1.1 404 "), "{response}");
    let (status, stderr) = server.stop_with("TERM");
    assert_eq!(status.code(), Some(0));
    // --log-level=error: the INFO shutdown line is not written.
    assert!(!stderr.contains("Shutting down"), "{stderr}");
    let log = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert!(lines[0].starts_with("127.0.0.1 - - ["), "{log}");
    assert!(lines[0].ends_with("] \"GET / HTTP/1.1\" 200 13"), "{log}");
    assert!(
        lines[1].ends_with("] \"GET /../access.log HTTP/1.1\" 404 14"),
        "{log}"
    );
}

#[test]
fn sigterm_lets_a_response_in_flight_finish() {
    let dir = TempDir::new("serve-drain");
    let size = 16 * 1024 * 1024;
    std::fs::write(dir.join("big.bin"), vec![b'z'; size]).unwrap();
    let server = WaitressServe::start(&[&format!("static:{}", dir.path.display())]);
    let mut stream = server.connect();
    stream
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    // Read a little, so the response is surely under way, then signal.
    let mut first = [0u8; 1024];
    stream.read_exact(&mut first).unwrap();
    server.signal("TERM");
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).unwrap();
    let total = first.len() + rest.len();
    let head_end = first.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(total - head_end, size, "the whole body arrived");
    let (status, _) = server.stop_with("TERM");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn a_second_sigterm_during_the_drain_exits_at_once() {
    // A client that never reads keeps a 16 MiB response in flight, so the
    // drain would wait for the whole shutdown timeout (30 s); the second
    // signal ends it at once.
    let dir = TempDir::new("serve-force");
    std::fs::write(dir.join("big.bin"), vec![b'z'; 16 * 1024 * 1024]).unwrap();
    let mut server = WaitressServe::start(&[&format!("static:{}", dir.path.display())]);
    let mut stream = server.connect();
    stream
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 1024];
    stream.read_exact(&mut first).unwrap(); // the response is under way
    server.signal("TERM");
    server.wait_for_stderr("Shutting down"); // draining now
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the first SIGTERM drains: the response is still in flight"
    );
    server.signal("TERM");
    // The drain would last the whole shutdown timeout, 30 s: `wait` allows
    // 10 s (support::TIMEOUT) and fails the test beyond.
    let (status, stderr) = server.wait();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(
            "WARNING [waitress] SIGTERM again: exiting without waiting for 1 connection(s)"
        ),
        "{stderr}"
    );
}

#[test]
fn shutdown_timeout_is_a_flag_an_ini_key_and_in_the_help() {
    let output = run(&["--help"]);
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(help.contains("--shutdown-timeout=INT  [30]"), "{help}");
    let output = run(&["--shutdown-timeout=soon", "hello"]);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("waitress-serve: invalid value for shutdown_timeout: \"soon\""),
        "{stderr}"
    );
    let dir = TempDir::new("serve-shutdown-ini");
    let ini = dir.join("server.ini");
    std::fs::write(&ini, "[server:main]\nshutdown_timeout = -1\n").unwrap();
    let output = run(&[&format!("--config={}", ini.display()), "hello"]);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("invalid value for shutdown_timeout: \"-1\""),
        "{stderr}"
    );
}

#[test]
fn a_body_that_cannot_be_spooled_is_a_500_logged_with_its_cause() {
    // TMPDIR names a directory that does not exist, so the temporary file a
    // body above --inbuf-overflow goes to cannot be created.
    let server = WaitressServe::spawn({
        let mut command = WaitressServe::command(&["--inbuf-overflow=16", "echo"]);
        command.env("TMPDIR", "/nonexistent/waitress-test");
        command
    });
    let body = "x".repeat(100);
    let response = server.request(&format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    assert!(
        response.starts_with("HTTP/1.1 500 Internal Server Error\r\n"),
        "{response}"
    );
    // The cause is for the operator; the client is told no more than that.
    assert!(
        response.contains("The server could not store the request body"),
        "{response}"
    );
    assert!(!response.contains("No such file"), "{response}");
    let (status, stderr) = server.stop_with("TERM");
    assert_eq!(status.code(), Some(0), "{stderr}");
    let line = stderr
        .lines()
        .find(|line| line.contains("ERROR [waitress]"))
        .unwrap_or_else(|| panic!("no error line: {stderr}"));
    assert!(
        line.contains(
            "Answering 500 Internal Server Error to 127.0.0.1: could not store the request body"
        ),
        "{line}"
    );
    assert!(line.contains("/nonexistent/waitress-test"), "{line}");
    assert!(line.contains("No such file or directory"), "{line}");
}
