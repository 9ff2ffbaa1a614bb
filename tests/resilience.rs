//! Hostile clients and faults must not stop the server from serving
//! everyone else: heads trickled byte by byte, more clients than the
//! connection limit, clients that never read, applications that panic in
//! the middle of a body, running out of file descriptors. Every test is
//! bounded by socket timeouts and stops its server.

mod support;

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use support::{TIMEOUT, TestServer, closed_by_server, get, read_response};
use waitress::wsgi::{AppResult, Body, Environ, StartResponse, headers};

fn hello(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    start_response.start_response("200 OK", headers(&[("Content-Type", "text/plain")]), None)?;
    Ok(Body::from("Hello, world!"))
}

/// Sends `head` then one byte every `every` until the server closes the
/// connection or `limit` passes, from a thread of its own.
fn trickle(mut stream: TcpStream, head: &'static [u8], every: Duration, limit: Duration) {
    thread::spawn(move || {
        let started = Instant::now();
        if stream.write_all(head).is_err() {
            return;
        }
        while started.elapsed() < limit {
            thread::sleep(every);
            if stream.write_all(b"b").is_err() {
                return;
            }
        }
    });
}

// ---------------------------------------------------------------------------
// Slowloris: request_header_timeout and the connection limit
// ---------------------------------------------------------------------------

#[test]
fn a_head_that_trickles_in_for_longer_than_request_header_timeout_gets_408() {
    let server = TestServer::start(hello, |b| b.set("request_header_timeout", "1").unwrap());
    let stream = server.connect();
    let reader = stream.try_clone().unwrap();
    // A byte every 100 ms keeps the connection active: the idle timeout
    // (channel_timeout, 120 s) never fires, only the head's deadline.
    let started = Instant::now();
    trickle(
        stream,
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ",
        Duration::from_millis(100),
        Duration::from_secs(8),
    );
    let response = read_response(&mut BufReader::new(reader));
    assert_eq!(response.status, 408);
    assert_eq!(response.header("Connection"), Some("close"));
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "the deadline counts from the head's first byte"
    );
}

#[test]
fn a_complete_head_followed_by_a_slow_body_is_not_cut_by_the_header_timeout() {
    fn echo_length(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        let mut body = Vec::new();
        environ.input().read_to_end(&mut body)?;
        start_response.start_response("200 OK", vec![], None)?;
        Ok(Body::from(body.len().to_string()))
    }
    let server = TestServer::start(echo_length, |b| {
        b.set("request_header_timeout", "1").unwrap()
    });
    let mut stream = server.connect();
    stream
        .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 15\r\n\r\n")
        .unwrap();
    for _ in 0..15 {
        thread::sleep(Duration::from_millis(100)); // 1.5 s in all
        stream.write_all(b"b").unwrap();
    }
    let response = read_response(&mut BufReader::new(stream));
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"15");
}

#[test]
fn at_the_connection_limit_a_new_client_replaces_the_connection_waiting_longest() {
    let server = TestServer::start(hello, |b| b.connection_limit(2));
    // The first client is answered and stays, idle, on keep-alive.
    let mut idle = server.connect();
    idle.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut idle_reader = BufReader::new(idle.try_clone().unwrap());
    assert_eq!(read_response(&mut idle_reader).status, 200);
    // The second is sending its head.
    let mut slow = server.connect();
    slow.write_all(b"GET / HTTP/1.1\r\n").unwrap();
    thread::sleep(Duration::from_millis(100));

    // A third client is served at once, and the idle connection made room.
    let response = get(&server, "/");
    assert_eq!(response.status, 200);
    assert!(
        closed_by_server(&mut idle_reader),
        "the idle connection closed"
    );

    // The head in progress was kept: it completes and is answered.
    slow.write_all(b"Host: x\r\n\r\n").unwrap();
    let mut slow_reader = BufReader::new(slow.try_clone().unwrap());
    assert_eq!(read_response(&mut slow_reader).status, 200);

    // With a head in progress as the oldest, it is told 408.
    let mut slower = server.connect();
    slower.write_all(b"GET / HTTP/1.1\r\n").unwrap();
    thread::sleep(Duration::from_millis(100));
    let mut slower_reader = BufReader::new(slower.try_clone().unwrap());
    assert_eq!(get(&server, "/").status, 200); // `slow` (idle again) made room
    assert!(closed_by_server(&mut slow_reader));
    let mut kept = server.connect(); // keep-alive: it stays open
    kept.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut kept_reader = BufReader::new(kept.try_clone().unwrap());
    assert_eq!(read_response(&mut kept_reader).status, 200);
    assert_eq!(get(&server, "/").status, 200); // `slower` made room
    assert_eq!(read_response(&mut slower_reader).status, 408);

    let log = server.stop().contents();
    assert!(log.contains("reached the connection limit"), "{log}");
}

#[test]
fn at_the_connection_limit_a_request_in_service_is_never_closed_and_new_clients_wait() {
    fn slow(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        thread::sleep(Duration::from_millis(600));
        start_response.start_response("200 OK", vec![], None)?;
        Ok(Body::from("slow"))
    }
    let server = TestServer::start(slow, |b| b.connection_limit(1));
    let mut busy = server.connect();
    busy.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    thread::sleep(Duration::from_millis(100)); // in service
    let waiting = server.connect();
    let (done, answered) = mpsc::channel();
    let mut waiting_writer = waiting.try_clone().unwrap();
    thread::spawn(move || {
        waiting_writer
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let response = read_response(&mut BufReader::new(waiting));
        done.send((response.status, Instant::now())).unwrap();
    });
    let response = read_response(&mut BufReader::new(busy));
    let busy_answered = Instant::now();
    assert_eq!(response.status, 200);
    let (status, at) = answered.recv_timeout(TIMEOUT).unwrap();
    assert_eq!(status, 200);
    assert!(
        at > busy_answered,
        "the new client waited for the one in service"
    );
}

#[test]
fn many_trickling_heads_do_not_lock_out_a_normal_client() {
    let server = TestServer::start(hello, |b| b.connection_limit(10));
    for _ in 0..30 {
        trickle(
            server.connect(),
            b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ",
            Duration::from_millis(500),
            Duration::from_secs(6),
        );
    }
    thread::sleep(Duration::from_millis(300)); // every slot is taken
    for _ in 0..5 {
        let started = Instant::now();
        assert_eq!(get(&server, "/").status, 200);
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}

// ---------------------------------------------------------------------------
// Out of file descriptors
// ---------------------------------------------------------------------------

/// CPU time (user + system, in clock ticks of 10 ms) a process has used.
fn process_cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<u64> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or("")
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0)
}

#[test]
fn out_of_file_descriptors_the_server_rests_instead_of_spinning_and_recovers() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    use std::sync::{Arc, Mutex};

    // waitress-serve with 32 descriptors: room for about 25 connections.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -n 32 && exec "$0" "$@""#)
        .arg(env!("CARGO_BIN_EXE_waitress-serve"))
        .args(["--listen=127.0.0.1:0", "--connection-limit=1000", "hello"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let pid = child.id();
    let _child = Kill(child);
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let log_writer = Arc::clone(&log);
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            log_writer.lock().unwrap().push(line);
        }
    });
    let (line_tx, line_rx) = mpsc::channel();
    thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = line_tx.send(line);
    });
    let line = line_rx
        .recv_timeout(TIMEOUT)
        .expect("it says where it serves");
    let address: std::net::SocketAddr = line
        .trim_end()
        .strip_prefix("Serving on http://")
        .unwrap()
        .parse()
        .unwrap();

    let extra: Vec<TcpStream> = (0..60)
        .map(|_| TcpStream::connect(address).unwrap())
        .collect();
    thread::sleep(Duration::from_millis(300));
    let (ticks, lines) = (process_cpu_ticks(pid), log.lock().unwrap().len());
    thread::sleep(Duration::from_secs(2));
    let busy_ticks = process_cpu_ticks(pid) - ticks; // 200 ticks would be a core
    let new_lines = log.lock().unwrap().len() - lines;
    assert!(busy_ticks < 20, "{busy_ticks} ticks of CPU in 2 s");
    assert!(new_lines < 5, "{new_lines} log lines in 2 s");

    drop(extra);
    let started = Instant::now();
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut BufReader::new(stream)).status, 200);
    assert!(started.elapsed() < Duration::from_secs(5));
    let log = log.lock().unwrap().join("\n");
    assert!(log.contains("accept() failed"), "{log}");
    assert!(log.len() < 2000, "{log}");
}
