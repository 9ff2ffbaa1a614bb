//! What idle connections cost: resident memory per connection, and the CPU
//! an idle server uses. A benchmark that prints figures, not a test.
//!
//! ```text
//! cargo run --release --example idle_bench -- [CONNECTIONS] [IDLE_SECONDS]
//! ```
//!
//! It starts the hello server in this process on 127.0.0.1, opens
//! CONNECTIONS (default 5,000) keep-alive connections, sends one request on
//! each and reads the answer (so every channel has been through a whole
//! request), then leaves them idle. It prints the resident size before and
//! after, the difference per connection, and the CPU time and wake-ups of
//! the I/O thread over IDLE_SECONDS (default 10) of idleness. Linux only
//! (it reads /proc).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use waitress::config::Adjustments;
use waitress::gateway::{AppResult, Body, Environ, StartResponse, headers};
use waitress::logging::{Level, Logger};
use waitress::server::{ListenAddress, ServerBuilder};

fn hello(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    start_response.start_response("200 OK", headers(&[("Content-Length", "13")]), None)?;
    Ok(Body::from("Hello, world!"))
}

/// A field of /proc/self/status in kB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// (CPU ticks, voluntary + involuntary context switches) of the thread named `name`.
fn thread_usage(name: &str) -> (u64, u64) {
    for entry in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let dir = entry.path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if comm.trim() != name {
            continue;
        }
        let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
        let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
        let fields: Vec<u64> = after_name
            .split_whitespace()
            .map(|f| f.parse().unwrap_or(0))
            .collect();
        // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the name.
        let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
        let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
        let switches: u64 = status
            .lines()
            .filter(|l| l.contains("ctxt_switches"))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum();
        return (ticks, switches);
    }
    (0, 0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let connections: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5000);
    let idle_seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);

    let adjustments = Adjustments::builder()
        .listen("127.0.0.1:0")
        .connection_limit(connections + 10)
        .channel_timeout(3600)
        .build()
        .unwrap();
    let (logger, _) = Logger::memory(Level::Warn);
    let server = ServerBuilder::new(hello, adjustments)
        .logger(logger)
        .build()
        .unwrap();
    let ListenAddress::Tcp(address) = server.addresses()[0].clone() else {
        unreachable!()
    };
    let handle = server.handle();
    let io_thread = std::thread::Builder::new()
        .name("waitress-io".to_string())
        .spawn(move || server.run())
        .unwrap();

    // Warm up: threads started, buffers allocated once.
    let mut warm = TcpStream::connect(address).unwrap();
    let mut response = [0u8; 512];
    for _ in 0..100 {
        warm.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let _ = warm.read(&mut response).unwrap();
    }
    std::thread::sleep(Duration::from_millis(200));
    let before = status_kib("VmRSS:");

    let started = Instant::now();
    let mut clients = Vec::with_capacity(connections);
    for _ in 0..connections {
        let mut stream = TcpStream::connect(address).unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let _ = stream.read(&mut response).unwrap();
        clients.push(stream);
    }
    let opened = started.elapsed();
    std::thread::sleep(Duration::from_millis(500));
    let after = status_kib("VmRSS:");
    let per_connection = (after.saturating_sub(before)) as f64 / connections as f64;

    let (ticks_before, switches_before) = thread_usage("waitress-io");
    std::thread::sleep(Duration::from_secs(idle_seconds));
    let (ticks_after, switches_after) = thread_usage("waitress-io");

    println!(
        "connections:            {connections} (opened and answered in {:.2} s)",
        opened.as_secs_f64()
    );
    println!("resident before:        {before} KiB");
    println!("resident with them:     {after} KiB");
    println!(
        "per idle connection:    {per_connection:.2} KiB (server and client sockets' user memory; kernel buffers are not resident)"
    );
    println!(
        "idle {idle_seconds} s: I/O thread CPU {} ms, {} wake-ups (context switches)",
        (ticks_after - ticks_before) * 10,
        switches_after - switches_before
    );
    drop(clients);
    handle.shutdown();
    io_thread.join().unwrap().unwrap();
}
