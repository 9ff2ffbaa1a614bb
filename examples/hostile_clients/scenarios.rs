//! The three attacks, each against a fresh server: running out of file
//! descriptors, slowloris, and clients that never read.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::Options;
use crate::clients::{connect, get, normal_client};
use crate::server::{Server, descriptors, status_kib};

/// Idle connections use up the server's descriptors: `accept` fails with
/// EMFILE while the listener stays readable, so a naive loop spins and logs.
pub(crate) fn fd_exhaustion(options: &Options) {
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
pub(crate) struct Trickler {
    pub(crate) stream: TcpStream,
    pub(crate) sent: usize,
    pub(crate) next_byte: Instant,
    pub(crate) answer: Vec<u8>,
}

/// The endless request head the trickling connections send, byte `i`.
pub(crate) fn head_byte(i: usize) -> u8 {
    const HEAD: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\nX-a: ";
    HEAD.get(i).copied().unwrap_or(b'b')
}

/// What the trickling connections went through.
#[derive(Default)]
pub(crate) struct TrickleReport {
    pub(crate) opened: u64,
    pub(crate) connect_failures: u64,
    /// Connections the server closed, by the first line it sent before.
    pub(crate) closed: BTreeMap<String, u64>,
    pub(crate) open_at_end: usize,
}

/// Keeps `target` trickling connections open from one thread, with
/// nonblocking sockets, until `stop` is set or `deadline` passes.
pub(crate) fn trickle(
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
pub(crate) fn slowloris(options: &Options) {
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
pub(crate) fn non_readers(options: &Options) {
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
