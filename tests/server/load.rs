//! Load and backpressure: a slow reader, a saturated pool, the I/O thread's
//! sleep, a thousand connections at once and ten thousand that leak no
//! descriptor.

use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{TIMEOUT, TestServer, read_response, wait_until};
use waitress::config::Adjustments;
use waitress::gateway::{AppResult, Body, Environ, StartResponse};
use waitress::logging::{Level, Logger};
use waitress::server::{ListenAddress, ServerBuilder};

use super::hello;

#[test]
fn a_slow_reader_blocks_its_application_but_not_other_clients() {
    static PRODUCED: AtomicUsize = AtomicUsize::new(0);
    fn stream_big(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        start_response.start_response("200 OK", vec![], None)?;
        // 64 MiB in 64 KiB chunks, counted as they are produced.
        Ok(Body::from_chunks((0..1024).map(|_| {
            PRODUCED.fetch_add(1, Ordering::SeqCst);
            vec![b'd'; 64 * 1024]
        })))
    }
    fn app(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        if environ.path_info() == "/big" {
            stream_big(environ, start_response)
        } else {
            hello(environ, start_response)
        }
    }
    let server = TestServer::start(app, |b| {
        b.outbuf_high_watermark(256 * 1024)
            .outbuf_overflow(128 * 1024)
    });
    let mut slow = server.connect();
    slow.write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    wait_until("the application produces", || {
        PRODUCED.load(Ordering::SeqCst) > 0
    });
    // Time for an application that is not held back to run far ahead; a
    // slower machine gives it less, so this cannot fail for being slow.
    thread::sleep(Duration::from_millis(300));
    // The client has read nothing: the application is held at the watermark,
    // a few MiB in at most (watermark plus socket buffers), not 64 MiB.
    let produced = PRODUCED.load(Ordering::SeqCst);
    assert!(
        produced < 200,
        "the application ran ahead: {produced} chunks"
    );
    // Another client is served meanwhile.
    let mut other = server.connect();
    other
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut BufReader::new(other)).status, 200);
    // Reading everything completes the response.
    let response = read_response(&mut BufReader::new(slow));
    assert_eq!(response.body.len(), 64 << 20);
}

#[test]
fn with_io_spin_off_the_loop_sleeps_at_once_and_nothing_is_lost() {
    // 16 MiB through a 64 KiB watermark: the worker waits for the I/O thread
    // to drain the output hundreds of times, and with no spin the I/O thread
    // is asleep each time, so every wake-up goes through the trigger.
    fn big(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        start_response.start_response("200 OK", vec![], None)?;
        Ok(Body::from_chunks((0..256).map(|_| vec![b'x'; 64 * 1024])))
    }
    let server = TestServer::start_with(
        big,
        |b| b.outbuf_high_watermark(64 * 1024),
        |s| s.io_spin(Duration::ZERO),
    );
    let stream = server.connect();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    for _ in 0..2 {
        (&stream)
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let response = read_response(&mut reader);
        assert_eq!(response.status, 200);
        assert_eq!(response.body.len(), 256 * 64 * 1024);
        assert!(response.body.iter().all(|&byte| byte == b'x'));
    }
    server.stop();
}

#[test]
fn a_saturated_bounded_pool_makes_the_server_stop_reading_not_block() {
    // One worker, a queue of one: the I/O thread must never block on it.
    // Requests beyond what the pool takes wait (unread) in the sockets, and
    // every one is answered in the end.
    fn slow(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        thread::sleep(Duration::from_millis(20));
        start_response.start_response("200 OK", vec![], None)?;
        Ok(Body::from("ok"))
    }
    let pool = waitress::pool::ThreadedTaskDispatcher::builder()
        .queue_limit(1)
        .build();
    waitress::pool::Dispatcher::set_thread_count(&pool, 1);
    let adjustments = Adjustments::builder()
        .listen("127.0.0.1:0")
        .build()
        .unwrap();
    let (logger, _) = Logger::memory(Level::Debug);
    let server = ServerBuilder::new(slow, adjustments)
        .logger(logger)
        .dispatcher(Arc::new(pool))
        .build()
        .unwrap();
    let ListenAddress::Tcp(address) = server.addresses()[0].clone() else {
        unreachable!()
    };
    let handle = server.handle();
    let io = thread::spawn(move || server.run());
    let clients: Vec<_> = (0..8)
        .map(|_| {
            thread::spawn(move || {
                let mut stream = TcpStream::connect(address).unwrap();
                stream.set_read_timeout(Some(TIMEOUT)).unwrap();
                stream
                    .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                    .unwrap();
                read_response(&mut BufReader::new(stream)).body
            })
        })
        .collect();
    // Meanwhile the I/O thread still accepts and answers a shutdown quickly.
    for client in clients {
        assert_eq!(client.join().unwrap(), b"ok");
    }
    handle.shutdown();
    io.join().unwrap().unwrap();
}

fn open_file_limit() -> usize {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1024)
}

#[test]
fn a_thousand_concurrent_connections_are_served() {
    // Client and server ends both live in this process.
    let count = 1000.min(open_file_limit().saturating_sub(200) / 2);
    let server = TestServer::start(hello, |b| b.connection_limit(2000));
    let mut streams: Vec<TcpStream> = (0..count).map(|_| server.connect()).collect();
    for stream in &mut streams {
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
    }
    for stream in streams {
        assert_eq!(read_response(&mut BufReader::new(stream)).status, 200);
    }
}

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn ten_thousand_connections_leak_no_descriptors() {
    let server = TestServer::start(hello, |b| b);
    // Warm up (threads, trigger), then count.
    for _ in 0..10 {
        let mut stream = server.connect();
        stream.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        let _ = read_response(&mut BufReader::new(stream));
    }
    let before = open_descriptors();
    for i in 0..10_000 {
        let mut stream = server.connect();
        if i % 2 == 0 {
            stream.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
            let _ = read_response(&mut BufReader::new(stream));
        } // odd ones connect and leave without a word
    }
    let deadline = Instant::now() + TIMEOUT;
    while open_descriptors() > before && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    assert!(
        open_descriptors() <= before,
        "{} descriptors open, {} before",
        open_descriptors(),
        before
    );
}
