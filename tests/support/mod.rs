//! What the black-box server tests share: a server on 127.0.0.1 (port 0)
//! run on its own thread, and a reader for the responses it sends.
#![allow(dead_code)] // each test file uses its own part of it

use std::io::{BufRead, Read};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use waitress::config::{Adjustments, AdjustmentsBuilder};
use waitress::gateway::Application;
use waitress::logging::{Level, Logger, MemoryLog};
use waitress::server::{ListenAddress, ServerBuilder, ServerHandle};

/// How long a test waits for anything before it fails.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A server on its own thread, logging to memory, stopped when dropped.
pub struct TestServer {
    /// The I/O thread's name, to find its CPU time in /proc.
    pub io_thread: String,
    pub address: SocketAddr,
    pub addresses: Vec<ListenAddress>,
    pub handle: ServerHandle,
    pub thread: Option<JoinHandle<std::io::Result<()>>>,
    pub log: MemoryLog,
}

impl TestServer {
    /// Serves `app` with 4 threads and the adjustments `configure` makes.
    pub fn start<A: Application>(
        app: A,
        configure: impl FnOnce(AdjustmentsBuilder) -> AdjustmentsBuilder,
    ) -> TestServer {
        TestServer::start_with(app, configure, |builder| builder)
    }

    /// `start`, with a last word on the `ServerBuilder`.
    pub fn start_with<A: Application>(
        app: A,
        configure: impl FnOnce(AdjustmentsBuilder) -> AdjustmentsBuilder,
        build: impl FnOnce(ServerBuilder) -> ServerBuilder,
    ) -> TestServer {
        let adjustments = configure(Adjustments::builder().listen("127.0.0.1:0").threads(4))
            .build()
            .unwrap();
        let (logger, log) = Logger::memory(Level::Debug);
        let server = build(ServerBuilder::new(app, adjustments).logger(logger))
            .build()
            .unwrap();
        let addresses = server.addresses();
        let address = match &addresses[0] {
            ListenAddress::Tcp(address) => *address,
            ListenAddress::Unix(_) => "127.0.0.1:1".parse().unwrap(),
        };
        let handle = server.handle();
        static SERVERS: AtomicUsize = AtomicUsize::new(0);
        let io_thread = format!("io-{}", SERVERS.fetch_add(1, Ordering::SeqCst));
        let thread = Some(
            thread::Builder::new()
                .name(io_thread.clone())
                .spawn(move || server.run())
                .unwrap(),
        );
        TestServer {
            io_thread,
            address,
            addresses,
            handle,
            thread,
            log,
        }
    }

    /// A client connection with read and write timeouts.
    pub fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(self.address).unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(TIMEOUT)).unwrap();
        stream
    }

    /// Shuts down and waits for `run` to return.
    pub fn stop(mut self) -> MemoryLog {
        self.handle.shutdown();
        let thread = self.thread.take().unwrap();
        let deadline = Instant::now() + TIMEOUT;
        while !thread.is_finished() {
            assert!(Instant::now() < deadline, "the server did not stop");
            thread::sleep(Duration::from_millis(5));
        }
        thread.join().unwrap().unwrap();
        self.log.clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.handle.shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A response read from a socket: status, headers, body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header of this name, ignoring case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one response (Content-Length, chunked, or until EOF).
pub fn read_response(reader: &mut impl BufRead) -> Response {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1."), "status line: {line:?}");
    let status: u16 = line[9..12].parse().unwrap();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end_matches("\r\n");
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap();
        headers.push((name.to_string(), value.trim().to_string()));
    }
    let mut response = Response {
        status,
        headers,
        body: Vec::new(),
    };
    if status == 100 || status == 204 || status == 304 {
        return response;
    }
    if response.header("Transfer-Encoding") == Some("chunked") {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).unwrap();
            let size = usize::from_str_radix(size.trim_end(), 16).unwrap();
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).unwrap();
            if size == 0 {
                break;
            }
            response.body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(length) = response.header("Content-Length") {
        let mut body = vec![0; length.parse().unwrap()];
        reader.read_exact(&mut body).unwrap();
        response.body = body;
    } else {
        reader.read_to_end(&mut response.body).unwrap();
    }
    response
}

/// Whether the server closed the connection (EOF) without sending more.
pub fn closed_by_server(reader: &mut impl Read) -> bool {
    let mut byte = [0];
    matches!(reader.read(&mut byte), Ok(0))
}

/// Sends a request on a fresh connection and reads the response.
pub fn get(server: &TestServer, path: &str) -> Response {
    use std::io::{BufReader, Write};
    let mut stream = server.connect();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    read_response(&mut BufReader::new(stream))
}

/// CPU time (user + system, in clock ticks, usually 10 ms) from a
/// `/proc/.../stat` file.
fn cpu_ticks(stat_path: &std::path::Path) -> u64 {
    let stat = std::fs::read_to_string(stat_path).unwrap_or_default();
    let fields: Vec<u64> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or("")
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0)
}

/// CPU time a process has used, in clock ticks.
pub fn process_cpu_ticks(pid: u32) -> u64 {
    cpu_ticks(std::path::Path::new(&format!("/proc/{pid}/stat")))
}

/// CPU time the thread of this process with this name has used, in clock
/// ticks (the server's I/O thread is named, see [`TestServer::io_thread`]).
pub fn thread_cpu_ticks(name: &str) -> u64 {
    let find = || {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .flatten()
            .find(|entry| {
                std::fs::read_to_string(entry.path().join("comm"))
                    .unwrap_or_default()
                    .trim()
                    == name
            })
    };
    let deadline = Instant::now() + TIMEOUT;
    let task = loop {
        match find() {
            Some(task) => break task,
            None if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
            None => panic!("no thread named {name}"),
        }
    };
    cpu_ticks(&task.path().join("stat"))
}
