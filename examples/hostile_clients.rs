//! How well does the server keep serving a normal client while hostile
//! clients attack it? A benchmark that prints figures, not a test.
//!
//! ```text
//! cargo run --release --example hostile_clients -- fd-exhaustion [--connections 200] [--duration 2]
//! cargo run --release --example hostile_clients -- slowloris     [--connections 1000] [--duration 20]
//! cargo run --release --example hostile_clients -- non-readers   [--connections 50] [--duration 20] [--wait-close 200]
//! ```
//!
//! Every scenario starts the server under test as a child process (this
//! program again, in a hidden `--serve` mode) with the default adjustments
//! on 127.0.0.1, plus any `--set key=value` given on the command line. A
//! separate process can be measured on its own through /proc: its CPU time,
//! resident memory, open sockets and spool files; its log (stderr) comes
//! back through a pipe and its lines are counted. Linux only.
//!
//! - `fd-exhaustion`: the server may open only 64 descriptors (prlimit) but
//!   accept 1,000 connections; 200 idle connections exhaust the descriptors.
//!   Measured: the server's CPU and log lines per second while it cannot
//!   accept, then whether a new client is answered once they are gone.
//! - `slowloris`: N connections each send a request head one byte a second
//!   and never finish it (closed ones are replaced), while a normal client
//!   sends `GET /` on fresh connections with a 5 s timeout. Measured: the
//!   normal client's answers and latency, what the server did with the
//!   trickling connections, its CPU.
//! - `non-readers`: M clients ask for `GET /big` (64 MiB) and never read,
//!   while a normal client sends `GET /`. Measured: the normal client's
//!   answers, the server's memory, spool files and sockets; then (for
//!   `--wait-close` seconds) how long until the server gives up on every
//!   stalled connection.
//!
//! Each scenario ends with a block of figures and a `RESULT scenario=… key=value`
//! line for scripts. All traffic goes to 127.0.0.1; every phase is bounded in time.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use waitress::config::Adjustments;
use waitress::gateway::{AppResult, Body, Environ, StartResponse, headers};
use waitress::server::{ListenAddress, ServerBuilder};

/// `/big` is 64 MiB, produced in 64 KiB chunks as the client takes them.
const BIG_CHUNK: usize = 64 * 1024;
const BIG_CHUNKS: usize = 1024;
/// How long the normal client waits for one answer before it counts a failure.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The application under test: `GET /` is tiny, `GET /big` is large and streamed.
fn app(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    if environ.path_info() == "/big" {
        let length = (BIG_CHUNK * BIG_CHUNKS).to_string();
        start_response.start_response("200 OK", headers(&[("Content-Length", &length)]), None)?;
        return Ok(Body::from_chunks(
            (0..BIG_CHUNKS).map(|_| vec![b'x'; BIG_CHUNK]),
        ));
    }
    start_response.start_response("200 OK", headers(&[("Content-Length", "13")]), None)?;
    Ok(Body::from("Hello, world!"))
}

/// The child's side: serve `app` with default adjustments plus `--set`s,
/// print the port, and exit when the parent goes away (stdin closes).
fn serve(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = Adjustments::builder().listen("127.0.0.1:0");
    for pair in args.chunks(2).filter(|p| p[0] == "--set" && p.len() == 2) {
        let (key, value) = pair[1].split_once('=').ok_or("--set wants key=value")?;
        builder = builder.set(key, value)?;
    }
    let server = ServerBuilder::new(app, builder.build()?).build()?;
    let ListenAddress::Tcp(address) = server.addresses()[0].clone() else {
        return Err("not a TCP address".into());
    };
    println!("{}", address.port());
    std::io::stdout().flush()?;
    std::thread::spawn(|| {
        // Even if the parent is killed outright, the server does not outlive it.
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    server.run()?;
    Ok(())
}

/// The server under test, seen from outside: a child process and its /proc entries.
struct Server {
    child: Child,
    port: u16,
    log_lines: Arc<AtomicU64>,
    last_log_line: Arc<Mutex<String>>,
    _stdout: BufReader<ChildStdout>,
    ticks_per_second: f64,
}

impl Server {
    /// Starts `this-program --serve --set …`, under a descriptor limit if asked.
    fn start(sets: &[String], nofile: Option<u32>) -> Server {
        let exe = std::env::current_exe().expect("the program's own path");
        let mut command = match nofile {
            Some(n) if std::path::Path::new("/usr/bin/prlimit").exists() => {
                let mut c = Command::new("/usr/bin/prlimit");
                c.arg(format!("--nofile={n}:{n}")).arg("--").arg(&exe);
                c
            }
            Some(n) => {
                let mut c = Command::new("sh");
                c.args(["-c", &format!("ulimit -n {n}; exec \"$0\" \"$@\"")])
                    .arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        command.arg("--serve");
        for set in sets {
            command.args(["--set", set]);
        }
        // prlimit and `sh -c exec` both exec the server: the child's pid is the server's.
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the server");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let _ = stdout.read_line(&mut line);
        let port = line.trim().parse().unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("the server did not print its port (got {line:?})")
        });

        // Drain the log as fast as it comes (a full pipe would stall the
        // server), counting lines and keeping the latest one to show.
        let log_lines = Arc::new(AtomicU64::new(0));
        let last_log_line = Arc::new(Mutex::new(String::new()));
        let mut stderr = child.stderr.take().unwrap();
        let (lines, last) = (Arc::clone(&log_lines), Arc::clone(&last_log_line));
        std::thread::spawn(move || {
            let mut buffer = vec![0; 64 * 1024];
            while let Ok(n @ 1..) = stderr.read(&mut buffer) {
                let chunk = &buffer[..n];
                let newlines = chunk.iter().filter(|&&b| b == b'\n').count();
                lines.fetch_add(newlines as u64, Ordering::Relaxed);
                let complete = chunk.strip_suffix(b"\n").unwrap_or(chunk);
                if newlines > 1 || (newlines == 1 && complete.len() < chunk.len()) {
                    let start = complete
                        .iter()
                        .rposition(|&b| b == b'\n')
                        .map_or(0, |i| i + 1);
                    *last.lock().unwrap() = String::from_utf8_lossy(&complete[start..]).into();
                }
            }
        });
        let ticks_per_second = Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0);
        Server {
            child,
            port,
            log_lines,
            last_log_line,
            _stdout: stdout,
            ticks_per_second,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// User plus system CPU time the server has used, in seconds.
    fn cpu_seconds(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap_or_default();
        // The name in parentheses may hold spaces: count fields after it.
        // utime and stime are fields 14 and 15, the 12th and 13th after the name.
        let fields: Vec<u64> = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace()
            .map(|f| f.parse().unwrap_or(0))
            .collect();
        let ticks = fields.get(11).unwrap_or(&0) + fields.get(12).unwrap_or(&0);
        ticks as f64 / self.ticks_per_second
    }

    /// The server's CPU (percent of one core) and log lines over `span`.
    fn measure(&self, span: Duration) -> (f64, u64) {
        let (cpu, lines, started) = (self.cpu_seconds(), self.log_lines(), Instant::now());
        std::thread::sleep(span);
        let cpu_percent = (self.cpu_seconds() - cpu) / started.elapsed().as_secs_f64() * 100.0;
        (cpu_percent, self.log_lines() - lines)
    }

    fn log_lines(&self) -> u64 {
        self.log_lines.load(Ordering::Relaxed)
    }

    fn last_log_line(&self) -> String {
        self.last_log_line.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A field of /proc/PID/status, in KiB (`VmRSS:`, `VmHWM:`).
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// What the process's descriptors are: (sockets, bytes in deleted files).
/// The server's spool files are unlinked as soon as they are created, so
/// "deleted" files are spool files; `metadata` follows the /proc link to them.
fn descriptors(pid: u32) -> (usize, u64) {
    let (mut sockets, mut spooled) = (0, 0);
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let target = std::fs::read_link(entry.path()).unwrap_or_default();
        let target = target.to_string_lossy();
        if target.starts_with("socket:") {
            sockets += 1;
        } else if target.ends_with(" (deleted)") {
            spooled += std::fs::metadata(entry.path()).map_or(0, |m| m.len());
        }
    }
    (sockets, spooled)
}

/// One `GET` on a fresh connection (`Connection: close`, read to the end);
/// the whole exchange must fit in `timeout`. Returns the status code.
fn get(port: u16, path: &str, timeout: Duration) -> Result<u16, String> {
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
struct Normal {
    sent: u32,
    ok: u32,
    failures: BTreeMap<String, u32>,
    latencies: Vec<Duration>,
}

/// The normal client: `GET /` one at a time on fresh connections for `duration`.
fn normal_client(port: u16, duration: Duration) -> Normal {
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
    fn failed(&self) -> u32 {
        self.sent - self.ok
    }

    /// Latency of the answered requests at quantile `q`, in milliseconds
    /// ("none" when nothing was answered).
    fn ms(&self, q: f64) -> String {
        let index = ((self.latencies.len().max(1) - 1) as f64 * q).round() as usize;
        let latency = self.latencies.get(index);
        latency.map_or("none".into(), |d| {
            format!("{:.1}", d.as_secs_f64() * 1000.0)
        })
    }

    fn print(&self) {
        let (sent, ok, failed) = (self.sent, self.ok, self.failed());
        println!("  normal client            {sent} sent, {ok} answered 200, {failed} failed");
        for (reason, count) in &self.failures {
            println!("    failed: {count} x {reason}");
        }
        let (p50, p99, max) = (self.ms(0.5), self.ms(0.99), self.ms(1.0));
        println!("  latency of the 200s (ms) p50 {p50}, p99 {p99}, max {max}");
    }

    fn summary(&self) -> String {
        let (sent, ok, failed) = (self.sent, self.ok, self.failed());
        let (p50, p99, max) = (self.ms(0.5), self.ms(0.99), self.ms(1.0));
        format!("sent={sent} ok={ok} failed={failed} p50_ms={p50} p99_ms={p99} max_ms={max}")
    }
}

/// Command-line options; `None` means "the scenario's default".
struct Options {
    scenario: String,
    duration: Option<u64>,
    connections: Option<usize>,
    wait_close: u64,
    sets: Vec<String>,
}

fn connect(port: u16) -> std::io::Result<TcpStream> {
    TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(1),
    )
}

/// Idle connections use up the server's descriptors: `accept` fails with
/// EMFILE while the listener stays readable, so a naive loop spins and logs.
fn fd_exhaustion(options: &Options) {
    let count = options.connections.unwrap_or(200);
    let window = Duration::from_secs(options.duration.unwrap_or(2));
    // A high connection limit, so that descriptors run out first.
    let mut sets = vec!["connection_limit=1000".to_string()];
    sets.extend(options.sets.iter().cloned());
    let server = Server::start(&sets, Some(64));
    let (idle_cpu, idle_lines) = server.measure(Duration::from_secs(1));

    // The kernel completes these handshakes (backlog 1024) whether or not
    // the server can accept them.
    let clients: Vec<TcpStream> = (0..count)
        .filter_map(|_| connect(server.port).ok())
        .collect();
    let opened = clients.len();
    std::thread::sleep(Duration::from_secs(1));
    let (sockets, _) = descriptors(server.pid());
    let (cpu, lines) = server.measure(window);
    let last_line = server.last_log_line();

    // Give the descriptors back and see whether the server recovers.
    drop(clients);
    let started = Instant::now();
    let mut attempts = 0;
    let recovered = loop {
        attempts += 1;
        if get(server.port, "/", Duration::from_secs(2)) == Ok(200) {
            break Some(started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(30) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (after_cpu, after_lines) = server.measure(window);

    println!("fd-exhaustion: server limited to 64 descriptors, connection_limit=1000");
    println!("  idle server (1 s)        CPU {idle_cpu:.1}% of one core, {idle_lines} log lines");
    println!("  idle connections opened  {opened} of {count}");
    println!("  server sockets open      {sockets}");
    println!(
        "  exhausted ({} s)          CPU {cpu:.1}% of one core, {lines} log lines ({:.0}/s)",
        window.as_secs(),
        lines as f64 / window.as_secs_f64()
    );
    println!("  latest log line          {last_line}");
    match recovered {
        Some(t) => println!(
            "  after closing them       a new client got 200 after {:.0} ms ({attempts} attempts)",
            t.as_secs_f64() * 1000.0
        ),
        None => println!("  after closing them       no 200 within 30 s ({attempts} attempts)"),
    }
    println!(
        "  then ({} s)               CPU {after_cpu:.1}% of one core, {after_lines} log lines",
        window.as_secs()
    );
    println!(
        "RESULT scenario=fd-exhaustion connections={count} server_sockets={sockets} cpu_pct={cpu:.1} \
         log_lines={lines} window_s={} recovered={} recover_ms={:.0} after_cpu_pct={after_cpu:.1} \
         after_log_lines={after_lines}",
        window.as_secs(),
        recovered.is_some(),
        recovered.map_or(-1.0, |t| t.as_secs_f64() * 1000.0),
    );
}

/// One slowloris connection: it has sent `sent` bytes of an endless head.
struct Trickler {
    stream: TcpStream,
    sent: usize,
    next_byte: Instant,
    answer: Vec<u8>,
}

/// The endless request head the trickling connections send, byte `i`.
fn head_byte(i: usize) -> u8 {
    const HEAD: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\nX-a: ";
    HEAD.get(i).copied().unwrap_or(b'b')
}

/// What the trickling connections went through.
#[derive(Default)]
struct TrickleReport {
    opened: u64,
    connect_failures: u64,
    /// Connections the server closed, by the first line it sent before.
    closed: BTreeMap<String, u64>,
    open_at_end: usize,
}

/// Keeps `target` trickling connections open from one thread, with
/// nonblocking sockets, until `stop` is set or `deadline` passes.
fn trickle(
    port: u16,
    target: usize,
    ready: &AtomicUsize,
    stop: &AtomicBool,
    deadline: Instant,
) -> TrickleReport {
    let mut report = TrickleReport::default();
    let mut open: Vec<Trickler> = Vec::with_capacity(target);
    // Open the first `target` at once, then replace closed ones at most
    // target/10 per second (at least 10): a steady attacker, not a flood.
    let refill_rate = (target as f64 / 10.0).max(10.0);
    let mut allowance = target as f64;
    let mut last = Instant::now();
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        let now = Instant::now();
        allowance = (allowance + refill_rate * (now - last).as_secs_f64()).min(target as f64);
        last = now;
        while open.len() < target && allowance >= 1.0 {
            allowance -= 1.0;
            match connect(port).and_then(|s| s.set_nonblocking(true).map(|_| s)) {
                Ok(stream) => {
                    // Spread the connections' bytes over the second.
                    let offset = Duration::from_millis(report.opened % 1000);
                    open.push(Trickler {
                        stream,
                        sent: 0,
                        next_byte: now + offset,
                        answer: Vec::new(),
                    });
                    report.opened += 1;
                }
                Err(_) => {
                    report.connect_failures += 1;
                    break;
                }
            }
        }
        ready.store(open.len(), Ordering::Relaxed);

        // Send each connection its next byte when due, and see whether the
        // server answered or closed it.
        open.retain_mut(|t| {
            let mut gone = None;
            if now >= t.next_byte {
                match t.stream.write(&[head_byte(t.sent)]) {
                    Ok(_) => t.sent += 1,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(_) => gone = Some("reset"),
                }
                t.next_byte += Duration::from_secs(1);
            }
            let mut buffer = [0; 512];
            while gone.is_none() {
                match t.stream.read(&mut buffer) {
                    Ok(0) => gone = Some("closed"),
                    Ok(n) => t.answer.extend_from_slice(&buffer[..n]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => gone = Some("reset"),
                }
            }
            let Some(how) = gone else { return true };
            let first_line = String::from_utf8_lossy(&t.answer);
            let first_line = first_line.lines().next().unwrap_or("no answer");
            *report
                .closed
                .entry(format!("{how}, {first_line}"))
                .or_default() += 1;
            false
        });
        std::thread::sleep(Duration::from_millis(20));
    }
    report.open_at_end = open.len();
    report
}

/// Many connections that never finish their request head: with a
/// connection limit and no deadline for the head, they crowd out everyone.
fn slowloris(options: &Options) {
    let target = options.connections.unwrap_or(1000);
    let duration = Duration::from_secs(options.duration.unwrap_or(20));
    let server = Server::start(&options.sets, None);
    let (ready, stop) = (AtomicUsize::new(0), AtomicBool::new(false));
    let deadline = Instant::now() + duration + Duration::from_secs(15);

    let (report, normal, cpu, waited, sockets) = std::thread::scope(|scope| {
        let trickling = scope.spawn(|| trickle(server.port, target, &ready, &stop, deadline));
        // Start the normal client once the attackers are all connected (10 s at most).
        let started = Instant::now();
        while ready.load(Ordering::Relaxed) < target && started.elapsed() < Duration::from_secs(10)
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_secs(1));
        let waited = started.elapsed();
        let cpu = server.cpu_seconds();
        let measured = Instant::now();
        let normal = normal_client(server.port, duration);
        let cpu = (server.cpu_seconds() - cpu) / measured.elapsed().as_secs_f64() * 100.0;
        let (sockets, _) = descriptors(server.pid()); // while the attack goes on
        stop.store(true, Ordering::Relaxed);
        (trickling.join().unwrap(), normal, cpu, waited, sockets)
    });
    let closed: u64 = report.closed.values().sum();
    let answered_408: u64 = report
        .closed
        .iter()
        .filter(|(k, _)| k.contains(" 408"))
        .map(|(_, v)| v)
        .sum();

    println!(
        "slowloris: {target} connections sending a request head at 1 byte/s, {} s",
        duration.as_secs()
    );
    println!(
        "  trickling connections    {} opened ({} connect failures), {} open at the end; normal client started after {:.1} s",
        report.opened,
        report.connect_failures,
        report.open_at_end,
        waited.as_secs_f64()
    );
    println!("  closed by the server     {closed}");
    for (how, count) in &report.closed {
        println!("    {count} x {how}");
    }
    normal.print();
    println!(
        "  server                   CPU {cpu:.1}% of one core, {sockets} sockets open, {} log lines",
        server.log_lines()
    );
    println!(
        "RESULT scenario=slowloris connections={target} duration_s={} {} trickle_opened={} \
         trickle_closed={closed} closed_with_408={answered_408} cpu_pct={cpu:.1} server_sockets={sockets}",
        duration.as_secs(),
        normal.summary(),
        report.opened,
    );
}

/// Clients that ask for a large body and never read it: each stalls a
/// worker once the server's buffer for it is full.
fn non_readers(options: &Options) {
    let count = options.connections.unwrap_or(50);
    let duration = Duration::from_secs(options.duration.unwrap_or(20));
    let server = Server::start(&options.sets, None);
    let pid = server.pid();
    // Listener and trigger: what the server holds with no client at all.
    let (baseline_sockets, _) = descriptors(pid);

    let mut stalled = Vec::new();
    for _ in 0..count {
        if let Ok(mut stream) = connect(server.port) {
            if stream
                .write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
                .is_ok()
            {
                stalled.push(stream);
            }
        }
    }
    let sent_at = Instant::now();
    std::thread::sleep(Duration::from_millis(1500));

    // Sample memory, spool files and sockets every 250 ms while the normal client runs.
    let stop = AtomicBool::new(false);
    let (normal, (peak_spool, peak_sockets)) = std::thread::scope(|scope| {
        let sampler = scope.spawn(|| {
            let (mut spool, mut sockets) = (0, 0);
            let end = Instant::now() + duration + Duration::from_secs(10);
            while !stop.load(Ordering::Relaxed) && Instant::now() < end {
                let (s, b) = descriptors(pid);
                (spool, sockets) = (spool.max(b), sockets.max(s));
                std::thread::sleep(Duration::from_millis(250));
            }
            (spool, sockets)
        });
        let normal = normal_client(server.port, duration);
        stop.store(true, Ordering::Relaxed);
        (normal, sampler.join().unwrap())
    });
    let (sockets, spool) = descriptors(pid);
    let (rss, hwm) = (status_kib(pid, "VmRSS:"), status_kib(pid, "VmHWM:"));

    println!(
        "non-readers: {} clients asked for GET /big (64 MiB) and never read, {} s",
        stalled.len(),
        duration.as_secs()
    );
    normal.print();
    println!(
        "  server memory            RSS {} MiB now, peak {} MiB",
        rss / 1024,
        hwm / 1024
    );
    println!(
        "  spool files              {:.1} MiB now, peak {:.1} MiB",
        spool as f64 / 1048576.0,
        peak_spool as f64 / 1048576.0
    );
    println!(
        "  server sockets           {sockets} now, peak {peak_sockets}, {baseline_sockets} with no client"
    );

    // Keep the non-readers connected and silent: does the server ever give up on them?
    let wait = Duration::from_secs(options.wait_close);
    let waiting = Instant::now();
    let mut closed_after = None;
    let mut last_report = Instant::now();
    while waiting.elapsed() < wait {
        let (now_sockets, _) = descriptors(pid);
        if now_sockets <= baseline_sockets {
            closed_after = Some(sent_at.elapsed());
            break;
        }
        if last_report.elapsed() >= Duration::from_secs(30) {
            println!(
                "    waiting: {:>4} s, server holds {now_sockets} sockets",
                waiting.elapsed().as_secs()
            );
            last_report = Instant::now();
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    let (final_sockets, _) = descriptors(pid);
    match closed_after {
        Some(t) => println!(
            "  stalled connections      all closed by the server {:.0} s after their requests",
            t.as_secs_f64()
        ),
        None if wait.is_zero() => {
            println!("  stalled connections      (not waited for: --wait-close 0)")
        }
        None => println!(
            "  stalled connections      never closed within {} s of waiting ({final_sockets} sockets still open)",
            wait.as_secs()
        ),
    }
    println!(
        "RESULT scenario=non-readers connections={} duration_s={} {} rss_kib={rss} peak_rss_kib={hwm} \
         peak_spool_bytes={peak_spool} server_sockets={sockets} baseline_sockets={baseline_sockets} \
         wait_close_s={} closed_after_s={}",
        stalled.len(),
        duration.as_secs(),
        normal.summary(),
        wait.as_secs(),
        closed_after.map_or("never".to_string(), |t| format!("{:.0}", t.as_secs_f64())),
    );
    drop(stalled);
}

const USAGE: &str = "usage: hostile_clients fd-exhaustion|slowloris|non-readers \
[--duration S] [--connections N] [--wait-close S] [--set key=value]...";

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        scenario: String::new(),
        duration: None,
        connections: None,
        wait_close: 200,
        sets: Vec::new(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().cloned().ok_or(format!("{arg} needs a value"));
        let number = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{arg}: not a number: {v}"))
        };
        match arg.as_str() {
            "--duration" => options.duration = Some(number(value()?)?),
            "--connections" => options.connections = Some(number(value()?)? as usize),
            "--wait-close" => options.wait_close = number(value()?)?,
            "--set" => options.sets.push(value()?),
            _ if options.scenario.is_empty() && !arg.starts_with('-') => {
                options.scenario = arg.clone()
            }
            _ => return Err(format!("unexpected argument {arg}")),
        }
    }
    Ok(options)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        if let Err(e) = serve(&args[1..]) {
            eprintln!("server: {e}");
            std::process::exit(1);
        }
        return;
    }
    let options = parse_options(&args).unwrap_or_else(|e| {
        eprintln!("{e}\n{USAGE}");
        std::process::exit(2)
    });
    match options.scenario.as_str() {
        "fd-exhaustion" => fd_exhaustion(&options),
        "slowloris" => slowloris(&options),
        "non-readers" => non_readers(&options),
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2)
        }
    }
}
