//! Several `waitress-serve` instances behind a real nginx: two over TCP and
//! one over a Unix socket, in one `upstream` block, with the configuration
//! of `tests/nginx_upstreams/nginx.conf` (which `book/src/operating.md`
//! shows). Three phases, each under load from client threads:
//!
//! 1. requests are spread over the three instances (each has its own
//!    `--ident`, which nginx passes on as the `Server` header);
//! 2. one instance is killed with SIGKILL mid-traffic: no request fails,
//!    because nginx sends a request that failed on it to the next instance
//!    (`proxy_next_upstream`); it is then started again and serves again;
//! 3. a rolling restart (SIGTERM each instance in turn, wait for it to exit,
//!    start it again on the same address, wait until nginx sends it
//!    requests) loses no request at all.
//!
//! Each phase prints the requests sent and failed (`--nocapture` shows
//! them). Like `tests/nginx.rs`, the test needs nginx, so it is
//! `#[ignore]`d; CI (`.ci/run`) runs it with `--ignored`.

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use support::child::{BINARY, wait_for_exit};
use support::{TIMEOUT, TempDir, nginx_binary, spawn_nginx, wait_until};

/// The configuration, with `@NAME@` placeholders for the paths and ports.
const NGINX_CONF: &str = include_str!("nginx_upstreams/nginx.conf");

/// Reads `pipe` line by line on a thread into a shared list, so that a
/// chatty child never blocks on a full pipe.
fn collect_lines(pipe: impl Read + Send + 'static) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

/// Where an instance listens: what it is given on its command line.
enum Listen {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

/// One `waitress-serve` process serving `hello` with `--ident=IDENT`,
/// killed on drop.
struct Instance {
    ident: &'static str,
    listen: Listen,
    child: Option<Child>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Instance {
    /// Starts an instance; a TCP one on 127.0.0.1 port 0, whose address it
    /// keeps for its restarts.
    fn start(ident: &'static str, unix_socket: Option<PathBuf>) -> Instance {
        let listen = match unix_socket {
            Some(path) => Listen::Unix(path),
            None => Listen::Tcp("127.0.0.1:0".parse().unwrap()),
        };
        let mut instance = Instance {
            ident,
            listen,
            child: None,
            stderr: Arc::default(),
        };
        instance.spawn();
        instance
    }

    /// The address nginx's `server` line names (without `unix:`).
    fn upstream(&self) -> String {
        match &self.listen {
            Listen::Tcp(address) => address.to_string(),
            Listen::Unix(path) => path.display().to_string(),
        }
    }

    /// Runs the process and waits for its `Serving on` line.
    fn spawn(&mut self) {
        let listen = match &self.listen {
            Listen::Tcp(address) => format!("--listen={address}"),
            Listen::Unix(path) => format!("--unix-socket={}", path.display()),
        };
        let mut child = Command::new(BINARY)
            .arg(listen)
            .arg(format!("--ident={}", self.ident))
            .args(["--threads=4", "--shutdown-timeout=5", "hello"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        self.stderr = collect_lines(child.stderr.take().unwrap());
        let stdout = child.stdout.take().unwrap();
        let (line_tx, line_rx) = mpsc::channel();
        thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = line_tx.send(line);
        });
        self.child = Some(child);
        let line = line_rx.recv_timeout(TIMEOUT).unwrap_or_default();
        let Some(url) = line.trim_end().strip_prefix("Serving on http://") else {
            panic!(
                "instance {} did not start: {line:?}; stderr: {:?}",
                self.ident,
                self.stderr.lock().unwrap()
            );
        };
        if let Listen::Tcp(address) = &mut self.listen {
            *address = url.parse().unwrap();
        }
    }

    /// SIGKILL: the process ends at once, its connections reset.
    fn kill(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// SIGTERM, and waits for the graceful exit (status 0).
    fn terminate(&mut self) {
        let mut child = self.child.take().expect("running");
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM failed");
        let status = wait_for_exit(&mut child, TIMEOUT)
            .unwrap_or_else(|| panic!("instance {} did not exit in {TIMEOUT:?}", self.ident));
        assert!(status.success(), "instance {}: {status}", self.ident);
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A running nginx, killed on drop; its error log (stderr) collected.
struct Nginx {
    child: Child,
    address: SocketAddr,
    errors: Arc<Mutex<Vec<String>>>,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts nginx in front of `instances` (a, b over TCP, c over Unix) and
/// waits until it accepts connections. The port is found free and then
/// given to nginx, so another process could take it in between: a few
/// attempts absorb that.
fn start_nginx(binary: &Path, prefix: &Path, instances: &[Instance; 3]) -> Nginx {
    let mut last_error = Vec::new();
    for _attempt in 0..3 {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let conf = NGINX_CONF
            .replace("@PREFIX@", &prefix.display().to_string())
            .replace("@PORT@", &port.to_string())
            .replace("@A@", &instances[0].upstream())
            .replace("@B@", &instances[1].upstream())
            .replace("@C@", &instances[2].upstream());
        let conf_path = prefix.join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let mut child = spawn_nginx(binary, prefix, &conf_path);
        let errors = collect_lines(child.stderr.take().unwrap());
        let mut nginx = Nginx {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], port)),
            errors,
        };
        let deadline = Instant::now() + TIMEOUT;
        while Instant::now() < deadline {
            if nginx.child.try_wait().unwrap().is_some() {
                thread::sleep(Duration::from_millis(50));
                last_error = nginx.errors.lock().unwrap().clone();
                break;
            }
            if TcpStream::connect_timeout(&nginx.address, Duration::from_millis(100)).is_ok() {
                return nginx;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("nginx did not start: {last_error:?}");
}

/// What one request through nginx gave: the instance that answered (its
/// `Server` header) and every upstream nginx tried (`X-Upstream`).
struct Answer {
    server: String,
    tried: String,
}

/// `GET /` through nginx on a new connection. Any failure (no connection, a
/// reset, a timeout, a status other than 200, a wrong body) is an `Err`.
fn get(nginx: SocketAddr) -> Result<Answer, String> {
    let mut stream = TcpStream::connect_timeout(&nginx, TIMEOUT).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(TIMEOUT)).unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: upstreams.test\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|e| e.to_string())?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no complete head: {response:?}"))?;
    if !head.starts_with("HTTP/1.1 200 OK\r\n") || body != "Hello, world!" {
        return Err(format!("{head}\r\n\r\n{body}"));
    }
    let header = |name: &str| {
        head.lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    Ok(Answer {
        server: header("Server"),
        tried: header("X-Upstream"),
    })
}

/// What the clients saw.
#[derive(Default)]
struct Stats {
    sent: u64,
    failed: u64,
    /// Answers by instance (`Server` header).
    by_instance: BTreeMap<String, u64>,
    /// Answers nginx got only after trying another instance first.
    retried: u64,
    /// The first few failures, for the assertion message.
    failures: Vec<String>,
}

impl Stats {
    fn record(&mut self, result: Result<Answer, String>) {
        self.sent += 1;
        match result {
            Ok(answer) => {
                if answer.tried.contains(',') {
                    self.retried += 1;
                }
                *self.by_instance.entry(answer.server).or_default() += 1;
            }
            Err(error) => {
                self.failed += 1;
                if self.failures.len() < 5 {
                    self.failures.push(error);
                }
            }
        }
    }

    fn answered_by(&self, ident: &str) -> u64 {
        self.by_instance.get(ident).copied().unwrap_or(0)
    }
}

/// Client threads sending `GET /` through nginx one after the other, each
/// on a new connection, until stopped.
struct Load {
    stats: Arc<Mutex<Stats>>,
    stop: Arc<AtomicBool>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl Load {
    fn start(nginx: SocketAddr, clients: usize) -> Load {
        let stats = Arc::new(Mutex::new(Stats::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..clients)
            .map(|_| {
                let stats = Arc::clone(&stats);
                let stop = Arc::clone(&stop);
                thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let result = get(nginx);
                        stats.lock().unwrap().record(result);
                    }
                })
            })
            .collect();
        Load {
            stats,
            stop,
            threads,
        }
    }

    /// Waits until `ident` has answered `more` requests beyond what it had
    /// answered when called: nginx is sending it traffic.
    fn wait_until_serving(&self, ident: &str, more: u64) {
        let before = self.stats.lock().unwrap().answered_by(ident);
        wait_until(&format!("instance {ident} answers through nginx"), || {
            self.stats.lock().unwrap().answered_by(ident) >= before + more
        });
    }

    /// Lets the load run for `duration`.
    fn run_for(&self, duration: Duration) {
        thread::sleep(duration);
    }

    /// Stops the clients; what they saw.
    fn stop(self) -> Stats {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads {
            thread.join().unwrap();
        }
        Arc::try_unwrap(self.stats)
            .ok()
            .unwrap()
            .into_inner()
            .unwrap()
    }
}

/// Prints a phase's figures and checks that no request failed.
fn report(phase: &str, stats: &Stats) {
    println!(
        "{phase}: {} requests sent, {} failed, {} retried by nginx on another instance; answered by {:?}",
        stats.sent, stats.failed, stats.retried, stats.by_instance
    );
    assert_eq!(
        stats.failed, 0,
        "{phase}: {} of {} requests failed: {:?}",
        stats.failed, stats.sent, stats.failures
    );
}

#[test]
#[ignore = "needs nginx: apt-get install nginx; run with --ignored"]
fn three_instances_behind_nginx_survive_a_kill_and_a_rolling_restart() {
    let binary = nginx_binary()
        .expect("nginx is not installed (apt-get install nginx): this test cannot run");
    let dir = TempDir::new("nginx-upstreams");
    let mut instances = [
        Instance::start("a", None),
        Instance::start("b", None),
        Instance::start("c", Some(dir.join("c.sock"))),
    ];
    let nginx = start_nginx(&binary, &dir.path, &instances);
    let clients = 2;

    // 1. Spread: round robin over the three, one request at a time.
    let mut spread = Stats::default();
    for _ in 0..30 {
        spread.record(get(nginx.address));
    }
    report("spread", &spread);
    for instance in &instances {
        assert!(
            spread.answered_by(instance.ident) >= 5,
            "instance {} answered too few: {:?}",
            instance.ident,
            spread.by_instance
        );
    }

    // 2. SIGKILL b mid-traffic: nginx retries what failed on b elsewhere;
    //    then b is started again and nginx sends it requests again.
    let load = Load::start(nginx.address, clients);
    load.wait_until_serving("b", 20);
    instances[1].kill();
    load.run_for(Duration::from_millis(1500));
    instances[1].spawn();
    load.wait_until_serving("b", 20);
    let killed = load.stop();
    report("SIGKILL of one instance", &killed);
    // The kill was seen: requests went to b, were refused or reset there,
    // and nginx answered them from another instance.
    assert!(killed.retried > 0, "no request was retried");
    let refused = nginx
        .errors
        .lock()
        .unwrap()
        .iter()
        .filter(|line| line.contains("upstream"))
        .count();
    assert!(refused > 0, "nginx logged no upstream error");

    // 3. Rolling restart: SIGTERM each instance in turn, wait for its exit,
    //    start it again on the same address, and wait until it serves again
    //    before restarting the next one.
    let load = Load::start(nginx.address, clients);
    load.run_for(Duration::from_millis(300));
    for instance in &mut instances {
        instance.terminate();
        instance.spawn();
        load.wait_until_serving(instance.ident, 20);
    }
    load.run_for(Duration::from_millis(300));
    let rolling = load.stop();
    report("rolling restart", &rolling);
    for instance in &instances {
        assert!(rolling.answered_by(instance.ident) > 0);
    }
}
