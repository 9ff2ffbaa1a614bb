//! The clients: one request with a deadline, and the normal client that
//! keeps sending them while the hostile ones attack.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::REQUEST_TIMEOUT;

/// One `GET` on a fresh connection (`Connection: close`, read to the end);
/// the whole exchange must fit in `timeout`. Returns the status code.
pub(crate) fn get(port: u16, path: &str, timeout: Duration) -> Result<u16, String> {
    let deadline = Instant::now() + timeout;
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream =
        TcpStream::connect_timeout(&address, timeout).map_err(|e| format!("connect: {e}"))?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    stream.set_write_timeout(Some(timeout)).ok();
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    let (mut response, mut buffer) = (Vec::new(), [0; 4096]);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("timed out".into());
        }
        stream.set_read_timeout(Some(left)).ok();
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => response.extend_from_slice(&buffer[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err("timed out".into());
            }
            Err(e) => return Err(format!("read: {e}")),
        }
    }
    let status = String::from_utf8_lossy(response.get(9..12).unwrap_or_default()).parse();
    status.map_err(|_| "closed without an answer".to_string())
}

/// What the normal client saw.
#[derive(Default)]
pub(crate) struct Normal {
    pub(crate) sent: u32,
    pub(crate) ok: u32,
    pub(crate) failures: BTreeMap<String, u32>,
    pub(crate) latencies: Vec<Duration>,
}

/// The normal client: `GET /` one at a time on fresh connections for `duration`.
pub(crate) fn normal_client(port: u16, duration: Duration) -> Normal {
    let mut normal = Normal::default();
    let end = Instant::now() + duration;
    while Instant::now() < end {
        let started = Instant::now();
        // A steady 10 requests a second at most: a client, not a load test.
        let next = started + Duration::from_millis(100);
        normal.sent += 1;
        match get(port, "/", REQUEST_TIMEOUT) {
            Ok(200) => {
                normal.ok += 1;
                normal.latencies.push(started.elapsed());
            }
            result => {
                let reason = result.map_or_else(|e| e, |status| format!("status {status}"));
                *normal.failures.entry(reason).or_default() += 1;
            }
        }
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    normal.latencies.sort();
    normal
}

impl Normal {
    pub(crate) fn failed(&self) -> u32 {
        self.sent - self.ok
    }

    /// Latency of the answered requests at quantile `q`, in milliseconds
    /// ("none" when nothing was answered).
    pub(crate) fn ms(&self, q: f64) -> String {
        let index = ((self.latencies.len().max(1) - 1) as f64 * q).round() as usize;
        let latency = self.latencies.get(index);
        latency.map_or("none".into(), |d| {
            format!("{:.1}", d.as_secs_f64() * 1000.0)
        })
    }

    pub(crate) fn print(&self) {
        let (sent, ok, failed) = (self.sent, self.ok, self.failed());
        println!("  normal client            {sent} sent, {ok} answered 200, {failed} failed");
        for (reason, count) in &self.failures {
            println!("    failed: {count} x {reason}");
        }
        let (p50, p99, max) = (self.ms(0.5), self.ms(0.99), self.ms(1.0));
        println!("  latency of the 200s (ms) p50 {p50}, p99 {p99}, max {max}");
    }

    pub(crate) fn summary(&self) -> String {
        let (sent, ok, failed) = (self.sent, self.ok, self.failed());
        let (p50, p99, max) = (self.ms(0.5), self.ms(0.99), self.ms(1.0));
        format!("sent={sent} ok={ok} failed={failed} p50_ms={p50} p99_ms={p99} max_ms={max}")
    }
}

pub(crate) fn connect(port: u16) -> std::io::Result<TcpStream> {
    TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(1),
    )
}
