//! Slow, broken and hostile clients: slowloris, idle and half-closed
//! connections, clients that leave, bad requests and arbitrary bytes; and an
//! application that panics or watches its client leave.

use std::io::{BufReader, Read, Write};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{
    Calls, TIMEOUT, TestServer, closed_by_server, read_response, thread_cpu_ticks,
};
use waitress::gateway::{AppResult, Body, Environ, StartResponse};

use super::{echo, hello};

#[test]
fn a_slowloris_client_gets_408_and_does_not_delay_others() {
    let server = TestServer::start(hello, |b| b.channel_timeout(1).cleanup_interval(1));
    let mut slow = server.connect();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .unwrap();
    let started = Instant::now();
    let mut other = server.connect();
    other
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut BufReader::new(other)).status, 200);
    // The other client did not wait for the slow one's timeout: when it is
    // answered, the slow one has not been told anything yet.
    slow.set_nonblocking(true).unwrap();
    let early = slow.read(&mut [0; 1]);
    assert!(
        matches!(&early, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the slow client was answered first: {early:?}"
    );
    slow.set_nonblocking(false).unwrap();
    let mut reader = BufReader::new(slow);
    let response = read_response(&mut reader);
    assert_eq!(response.status, 408);
    assert_eq!(response.header("Connection"), Some("close"));
    assert!(closed_by_server(&mut reader));
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[test]
fn an_idle_keep_alive_connection_is_closed_silently() {
    let server = TestServer::start(hello, |b| b.channel_timeout(1).cleanup_interval(1));
    let mut stream = server.connect();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut reader = BufReader::new(stream);
    assert_eq!(read_response(&mut reader).status, 200);
    let idle = Instant::now();
    assert!(closed_by_server(&mut reader), "closed without a response");
    assert!(idle.elapsed() >= Duration::from_millis(900));
}

#[test]
fn clients_that_disconnect_mid_request_or_mid_response_leave_the_server_serving() {
    fn big(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        start_response.start_response("200 OK", vec![], None)?;
        Ok(Body::from_chunks((0..256).map(|_| vec![b'x'; 64 * 1024])))
    }
    let server = TestServer::start(big, |b| b.outbuf_high_watermark(64 * 1024));
    {
        let mut stream = server.connect();
        stream
            .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npartial")
            .unwrap();
    }
    {
        let mut stream = server.connect();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut some = [0; 1024];
        stream.read_exact(&mut some).unwrap();
    }
    let mut stream = server.connect();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    assert_eq!(
        read_response(&mut BufReader::new(stream)).body.len(),
        256 * 64 * 1024
    );
}

#[test]
fn a_half_closed_client_gets_its_response_without_the_loop_spinning() {
    // CVE-2024-49769: a socket that stays readable at end of file made
    // Waitress's loop spin. Here the request is in service for 500 ms while
    // the client has already shut down its sending side.
    fn slow(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        thread::sleep(Duration::from_millis(500));
        start_response.start_response("200 OK", vec![], None)?;
        Ok(Body::from("late"))
    }
    let server = TestServer::start(slow, |b| b);
    let mut stream = server.connect();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let ticks = thread_cpu_ticks(&server.io_thread);
    let mut reader = BufReader::new(stream);
    assert_eq!(read_response(&mut reader).body, b"late");
    assert!(closed_by_server(&mut reader));
    let used = thread_cpu_ticks(&server.io_thread) - ticks;
    assert!(
        used < 10,
        "the I/O thread used {used} ticks of CPU while the request took 500 ms"
    );
}

#[test]
fn a_bad_request_is_answered_and_nothing_after_it_is_served() {
    let server = TestServer::start(echo, |b| b);
    let mut stream = server.connect();
    stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut reader = BufReader::new(stream);
    let response = read_response(&mut reader);
    assert_eq!(response.status, 400);
    assert!(
        closed_by_server(&mut reader),
        "the pipelined /second is never served"
    );
}

#[test]
fn arbitrary_bytes_from_clients_never_stop_the_server() {
    // Fragments of HTTP and random bytes, mixed: every connection ends with
    // the client's end of file, and afterwards the server still answers.
    let pieces: [&[u8]; 16] = [
        b"GET / HTTP/1.1\r\n",
        b"Host: x\r\n",
        b"\r\n",
        b"Transfer-Encoding: chunked\r\n",
        b"Content-Length: 5\r\n",
        b"5\r\nhello\r\n",
        b"0\r\n\r\n",
        b"Expect: 100-continue\r\n",
        b"\n",
        b"\r",
        b"\x00",
        b"\xff",
        b"POST /x HTTP/1.0\r\n",
        b"FFFFFFFFFFFFFFFFFFFF\r\n",
        b"GET * HTTP/1.1\r\n",
        b"Connection: close, te\r\n",
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut random = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let server = TestServer::start(echo, |b| b);
    for _ in 0..300 {
        let mut wire = Vec::new();
        for _ in 0..random() % 24 + 1 {
            if random() % 5 == 0 {
                wire.push(random() as u8);
            } else {
                wire.extend_from_slice(pieces[(random() % 16) as usize]);
            }
        }
        let mut stream = server.connect();
        let _ = stream.write_all(&wire);
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
    }
    let mut stream = server.connect();
    stream
        .write_all(b"GET /alive HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(
        read_response(&mut BufReader::new(stream)).body,
        b"/alive 0 false|"
    );
    let log = server.stop().contents();
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn an_application_panic_is_a_500_and_the_server_goes_on() {
    fn sometimes_panics(
        environ: &mut Environ,
        start_response: &mut dyn StartResponse,
    ) -> AppResult {
        if environ.path_info() == "/panic" {
            panic!("application bug");
        }
        hello(environ, start_response)
    }
    let server = TestServer::start(sometimes_panics, |b| b);
    let mut stream = server.connect();
    stream
        .write_all(b"GET /panic HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut reader = BufReader::new(stream);
    assert_eq!(read_response(&mut reader).status, 500);
    assert!(closed_by_server(&mut reader));
    let mut stream = server.connect();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut BufReader::new(stream)).status, 200);
    assert!(
        server
            .stop()
            .contents()
            .contains("the application panicked: application bug")
    );
}

#[test]
fn with_lookahead_an_application_can_see_its_client_leave() {
    // Only a channel that keeps reading (channel_request_lookahead > 0) can
    // notice end of file while the application runs.
    fn wait_for_disconnect(
        environ: &mut Environ,
        start_response: &mut dyn StartResponse,
    ) -> AppResult {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !environ.client_disconnected() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        let seen = if environ.client_disconnected() {
            "gone"
        } else {
            "still there"
        };
        writeln!(environ.errors(), "client {seen}")?;
        start_response.start_response("200 OK", vec![], None)?;
        Ok(Body::from(seen))
    }
    let (calls, app) = Calls::count(wait_for_disconnect);
    let server = TestServer::start(app, |b| b.channel_request_lookahead(2));
    let mut stream = server.connect();
    stream
        .write_all(b"GET /wait HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    calls.wait_for(1); // the application runs
    drop(stream);
    let deadline = Instant::now() + TIMEOUT;
    while !server.log.contents().contains("client ") && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    assert!(
        server.log.contents().contains("client gone"),
        "{}",
        server.log.contents()
    );
}
