//! The server under test, run as a child process (this program with
//! `--serve`), and what `/proc` tells about it: CPU, memory, sockets,
//! spool files.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use waitress::config::Adjustments;
use waitress::gateway::{AppResult, Body, Environ, StartResponse, headers};
use waitress::server::{ListenAddress, ServerBuilder};

use crate::{BIG_CHUNK, BIG_CHUNKS};

/// The application under test: `GET /` is tiny, `GET /big` is large and streamed.
pub(crate) fn app(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
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
pub(crate) fn serve(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
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
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) port: u16,
    pub(crate) log_lines: Arc<AtomicU64>,
    pub(crate) last_log_line: Arc<Mutex<String>>,
    pub(crate) _stdout: BufReader<ChildStdout>,
    pub(crate) ticks_per_second: f64,
}

impl Server {
    /// Starts `this-program --serve --set …`, under a descriptor limit if asked.
    pub(crate) fn start(sets: &[String], nofile: Option<u32>) -> Server {
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

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// User plus system CPU time the server has used, in seconds.
    pub(crate) fn cpu_seconds(&self) -> f64 {
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
    pub(crate) fn measure(&self, span: Duration) -> (f64, u64) {
        let (cpu, lines, started) = (self.cpu_seconds(), self.log_lines(), Instant::now());
        std::thread::sleep(span);
        let cpu_percent = (self.cpu_seconds() - cpu) / started.elapsed().as_secs_f64() * 100.0;
        (cpu_percent, self.log_lines() - lines)
    }

    pub(crate) fn log_lines(&self) -> u64 {
        self.log_lines.load(Ordering::Relaxed)
    }

    pub(crate) fn last_log_line(&self) -> String {
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
pub(crate) fn status_kib(pid: u32, field: &str) -> u64 {
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
pub(crate) fn descriptors(pid: u32) -> (usize, u64) {
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
