//! What operators do to a running `waitress-serve`, each with child
//! processes: several processes on one port (`--reuse-port`), SIGHUP after
//! logrotate moved the access log, and Unix socket paths that are taken,
//! stale or impossible. `--help` says what the code does.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Instant;

use support::child::{BINARY, wait_for_exit};
use support::http::exchange;
use support::{TIMEOUT, TempDir, WaitressServe, run_with_timeout};

/// Runs the binary to completion (for commands that exit at once).
fn run(args: &[&str]) -> Output {
    run_with_timeout(Command::new(BINARY).args(args), TIMEOUT)
}

/// A port that was free a moment ago.
fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// `waitress-serve --listen=ADDRESS ARGS hello`, started.
fn serve_on(address: SocketAddr, args: &[&str]) -> WaitressServe {
    let mut command = Command::new(BINARY);
    command
        .arg(format!("--listen={address}"))
        .args(args)
        .arg("hello");
    WaitressServe::spawn(command)
}

/// The `Server` header of a `GET /` to `address`: which process answered.
fn who_answers(address: SocketAddr) -> String {
    let response = exchange(
        address,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200 "), "{response}");
    let server = response
        .lines()
        .find_map(|line| line.strip_prefix("Server: "));
    server
        .unwrap_or_else(|| panic!("no Server header: {response}"))
        .to_string()
}

// ANCHOR: reuse_port_test
#[test]
fn two_processes_with_reuse_port_share_a_port_and_one_survives_the_other() {
    let address = free_port();
    let one = serve_on(address, &["--reuse-port", "--ident=one"]);
    let two = serve_on(address, &["--reuse-port", "--ident=two"]);
    assert_eq!((one.address, two.address), (address, address));
    // Linux spreads connections over the sockets by a hash of the client's
    // address and port, so new clients soon reach both. (macOS gives them
    // all to one socket.)
    if cfg!(target_os = "linux") {
        let deadline = Instant::now() + TIMEOUT;
        let mut seen = std::collections::BTreeSet::new();
        while seen.len() < 2 {
            assert!(Instant::now() < deadline, "only {seen:?} answered");
            seen.insert(who_answers(address));
        }
        assert_eq!(seen, ["one", "two"].map(String::from).into());
    }
    let (status, stderr) = one.stop_with("TERM");
    assert_eq!(status.code(), Some(0), "{stderr}");
    for _ in 0..20 {
        assert_eq!(who_answers(address), "two");
    }
    let (status, stderr) = two.stop_with("TERM");
    assert_eq!(status.code(), Some(0), "{stderr}");
}
// ANCHOR_END: reuse_port_test

#[test]
fn without_reuse_port_a_second_process_cannot_bind_and_says_where() {
    let address = free_port();
    let first = serve_on(address, &["--reuse-port"]);
    let output = run(&[&format!("--listen={address}"), "hello"]);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on {address}")),
        "{stderr}"
    );
    assert_eq!(who_answers(address), "waitress");
    drop(first);
}

#[test]
fn reuse_port_is_refused_for_a_unix_socket() {
    let output = run(&["--unix-socket=/tmp/never.sock", "--reuse-port", "hello"]);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("reuse_port"), "{stderr}");
}

// ANCHOR: sighup_test
#[test]
fn sighup_reopens_the_access_log_that_logrotate_moved_and_keeps_serving() {
    let dir = TempDir::new("sighup");
    let log = dir.join("access.log");
    let rotated = dir.join("access.log.1");
    let server = WaitressServe::start(&[
        &format!("--access-log={}", log.display()),
        "--access-log-format=common",
        "hello",
    ]);
    let get = |path: &str| {
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assert!(server.request(&request).starts_with("HTTP/1.1 200 "));
    };
    get("/first");
    std::fs::rename(&log, &rotated).unwrap(); // what logrotate does
    server.signal("HUP"); // its postrotate script
    server.wait_for_stderr("SIGHUP: reopened");
    get("/second");
    let mut server = server;
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "SIGHUP ended it"
    );
    let old = std::fs::read_to_string(&rotated).unwrap();
    let new = std::fs::read_to_string(&log).unwrap();
    assert!(
        old.contains("GET /first ") && !old.contains("/second"),
        "{old}"
    );
    assert_eq!(new.lines().count(), 1, "{new}");
    assert!(new.contains("\"GET /second HTTP/1.1\" 200 13"), "{new}");
    let (status, stderr) = server.stop_with("TERM");
    assert_eq!(status.code(), Some(0), "{stderr}");
}
// ANCHOR_END: sighup_test

#[test]
fn sighup_without_an_access_log_is_logged_and_the_server_keeps_serving() {
    let server = WaitressServe::start(&["hello"]);
    server.signal("HUP");
    server.wait_for_stderr("SIGHUP: nothing to reopen");
    server.signal("HUP");
    assert_eq!(who_answers(server.address), "waitress");
    let (status, stderr) = server.stop_with("TERM");
    assert_eq!(status.code(), Some(0), "{stderr}");
}

#[test]
fn help_names_the_poller_the_code_uses_and_reuse_port() {
    let output = run(&["--help"]);
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(help.contains("--[no-]reuse-port"), "{help}");
    assert!(help.contains("SIGHUP reopens FILE"), "{help}");
    assert!(!help.contains("always uses poll(2)"), "{help}");
    // The loop waits with epoll(7) on Linux and poll(2) elsewhere.
    let poller = if cfg!(target_os = "linux") && !cfg!(waitress_force_poll) {
        "epoll(7) on Linux"
    } else {
        "poll(2) elsewhere"
    };
    assert!(help.contains(poller), "{help}");
}

/// `waitress-serve --unix-socket=PATH hello`, started; waits for its
/// `Serving on` line.
fn serve_unix(path: &Path) -> Child {
    let mut child = Command::new(BINARY)
        .arg(format!("--unix-socket={}", path.display()))
        .arg("hello")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(
        line.trim_end(),
        format!("Serving on http://unix:{}", path.display())
    );
    child
}

/// A `GET /` over the Unix socket at `path`: the status line.
fn get_unix(path: &Path) -> String {
    let mut stream = UnixStream::connect(path).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).unwrap();
    line.trim_end().to_string()
}

fn stop(mut child: Child) {
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let status = wait_for_exit(&mut child, TIMEOUT).expect("it exits on SIGTERM");
    assert_eq!(status.code(), Some(0));
}

// ANCHOR: live_socket_test
#[test]
fn a_second_server_on_a_live_unix_socket_fails_naming_it_and_the_first_keeps_serving() {
    let dir = TempDir::new("live-sock");
    let path = dir.join("app.sock");
    let first = serve_unix(&path);
    let output = run(&[&format!("--unix-socket={}", path.display()), "hello"]);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&path.display().to_string()), "{stderr}");
    assert!(stderr.contains("another server is listening"), "{stderr}");
    assert_eq!(get_unix(&path), "HTTP/1.1 200 OK");
    stop(first);
}
// ANCHOR_END: live_socket_test

#[test]
fn a_stale_unix_socket_file_is_replaced() {
    let dir = TempDir::new("stale-sock");
    let path = dir.join("app.sock");
    drop(UnixListener::bind(&path).unwrap()); // leaves the file, nobody listening
    let server = serve_unix(&path);
    assert_eq!(get_unix(&path), "HTTP/1.1 200 OK");
    stop(server);
    assert!(!path.exists(), "removed at shutdown");
}

#[test]
fn a_unix_socket_in_a_missing_folder_is_an_error_naming_the_path() {
    let path = "/nonexistent/dir/x.sock";
    let output = run(&[&format!("--unix-socket={path}"), "hello"]);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on unix socket {path}: ")),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
