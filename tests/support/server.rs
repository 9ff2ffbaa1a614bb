//! [`TestServer`]: the server under test, in this process, on a thread.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};

use waitress::config::{Adjustments, AdjustmentsBuilder};
use waitress::gateway::Application;
use waitress::logging::{Level, Logger, MemoryLog};
use waitress::server::{ListenAddress, ServerBuilder, ServerHandle};

use super::TIMEOUT;
use super::sync::wait_until;

/// A server on its own thread, logging to memory, stopped when dropped.
pub struct TestServer {
    /// The I/O thread's name, to find its CPU time in /proc.
    pub io_thread: String,
    /// The first listener's address (a placeholder for a Unix socket).
    pub address: SocketAddr,
    pub addresses: Vec<ListenAddress>,
    pub handle: ServerHandle,
    /// `run`'s thread; a test may take it to join it itself.
    pub thread: Option<JoinHandle<std::io::Result<()>>>,
    /// What the server logged (at the debug level and above).
    pub log: MemoryLog,
}

impl TestServer {
    /// Serves `app` on 127.0.0.1, port 0, with 4 threads and the adjustments
    /// `configure` makes (it may also start from a new builder).
    pub fn start<A: Application>(
        app: A,
        configure: impl FnOnce(AdjustmentsBuilder) -> AdjustmentsBuilder,
    ) -> TestServer {
        TestServer::start_with(app, configure, |builder| builder)
    }

    /// `start`, with a last word on the `ServerBuilder` (a dispatcher, say).
    pub fn start_with<A: Application>(
        app: A,
        configure: impl FnOnce(AdjustmentsBuilder) -> AdjustmentsBuilder,
        build: impl FnOnce(ServerBuilder) -> ServerBuilder,
    ) -> TestServer {
        let adjustments = configure(Adjustments::builder().listen("127.0.0.1:0").threads(4))
            .build()
            .expect("the settings are valid");
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
        super::http::connect(self.address)
    }

    /// `http://ADDRESS/PATH`, for a client that takes a URL.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Sends `request` on a new connection and returns everything until the
    /// server closes it (so send `Connection: close`).
    pub fn exchange(&self, request: &[u8]) -> String {
        let mut stream = self.connect();
        stream.write_all(request).unwrap();
        String::from_utf8_lossy(&super::http::read_to_close(&mut stream)).into_owned()
    }

    /// Shuts down, waits for `run` to return (it must, within [`TIMEOUT`]),
    /// and returns the log.
    pub fn stop(mut self) -> MemoryLog {
        self.handle.shutdown();
        let thread = self.thread.take().unwrap();
        wait_until("the server stopped", || thread.is_finished());
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
