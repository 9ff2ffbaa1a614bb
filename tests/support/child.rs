//! Child processes: the `waitress-serve` binary run as a user runs it, and
//! any command run to its end with a time limit.

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::TIMEOUT;
use super::sync::wait_until;

/// The binary Cargo built for these tests.
pub const BINARY: &str = env!("CARGO_BIN_EXE_waitress-serve");

/// Runs `command` to its end, killing it if it runs longer than `limit`.
/// Both pipes are drained on threads, so a chatty child cannot block.
pub fn run_with_timeout(command: &mut Command, limit: Duration) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("{command:?} does not start: {error}"));
    let out = drain(child.stdout.take().unwrap());
    let err = drain(child.stderr.take().unwrap());
    let status = wait_for_exit(&mut child, limit)
        .unwrap_or_else(|| panic!("{command:?} did not finish in {limit:?}"));
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Reads `pipe` to its end on a thread.
fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

/// Waits for `child` to exit; after `limit` kills it and returns `None`.
pub fn wait_for_exit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// A running `waitress-serve`, killed on drop if the test did not stop it.
/// Its stderr is collected line by line as it is written.
pub struct WaitressServe {
    pub child: Child,
    /// Where it said it serves (its first line on stdout).
    pub address: SocketAddr,
    stderr: Arc<Mutex<Vec<String>>>,
    stderr_closed: Receiver<()>,
}

impl WaitressServe {
    /// `waitress-serve --listen=127.0.0.1:0 ARGS`, not yet started.
    pub fn command(args: &[&str]) -> Command {
        let mut command = Command::new(BINARY);
        command.arg("--listen=127.0.0.1:0").args(args);
        command
    }

    /// Starts `waitress-serve --listen=127.0.0.1:0 ARGS`.
    pub fn start(args: &[&str]) -> WaitressServe {
        WaitressServe::spawn(WaitressServe::command(args))
    }

    /// Starts `command` (which must run waitress-serve in its own process,
    /// `exec` if through a shell) and waits for its `Serving on` line.
    pub fn spawn(mut command: Command) -> WaitressServe {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The first stdout line is read on a thread, so that a binary that
        // never prints cannot hang the test.
        let stdout = child.stdout.take().unwrap();
        let (line_tx, line_rx) = mpsc::channel();
        thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = line_tx.send(line);
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (closed_tx, stderr_closed) = mpsc::channel();
        let pipe = child.stderr.take().unwrap();
        let lines = Arc::clone(&stderr);
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                lines.lock().unwrap().push(line);
            }
            let _ = closed_tx.send(());
        });
        let mut server = WaitressServe {
            child,
            address: "127.0.0.1:1".parse().unwrap(),
            stderr,
            stderr_closed,
        };
        let line = line_rx
            .recv_timeout(TIMEOUT)
            .unwrap_or_else(|_| panic!("{command:?} did not say where it serves"));
        let url = line
            .trim_end()
            .strip_prefix("Serving on http://")
            .unwrap_or_else(|| {
                panic!(
                    "unexpected first line {line:?}; stderr: {}",
                    server.stderr()
                )
            });
        server.address = url.parse().unwrap();
        server
    }

    /// A client connection with read and write timeouts.
    pub fn connect(&self) -> TcpStream {
        super::http::connect(self.address)
    }

    /// Sends `request` (with `Connection: close`) and returns the whole
    /// response.
    pub fn request(&self, request: &str) -> String {
        let response = super::http::exchange(self.address, request.as_bytes());
        String::from_utf8_lossy(&response).into_owned()
    }

    /// Sends the signal `name` (`TERM`, `INT`, ...) with kill(1).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} failed");
    }

    /// Its stderr so far, each line ended by a newline.
    pub fn stderr(&self) -> String {
        let lines = self.stderr.lock().unwrap();
        lines.iter().map(|line| format!("{line}\n")).collect()
    }

    /// How many lines it has written to stderr so far.
    pub fn stderr_lines(&self) -> usize {
        self.stderr.lock().unwrap().len()
    }

    /// Waits until its stderr contains `text`.
    pub fn wait_for_stderr(&self, text: &str) {
        wait_until(&format!("waitress-serve wrote {text:?}"), || {
            self.stderr().contains(text)
        });
    }

    /// Waits for it to exit (within [`TIMEOUT`]); the status and all of
    /// its stderr.
    pub fn wait(&mut self) -> (ExitStatus, String) {
        let status = wait_for_exit(&mut self.child, TIMEOUT)
            .unwrap_or_else(|| panic!("waitress-serve did not exit in {TIMEOUT:?}"));
        let _ = self.stderr_closed.recv_timeout(TIMEOUT);
        (status, self.stderr())
    }

    /// Sends the signal and waits for the exit: the status and stderr.
    pub fn stop_with(mut self, signal: &str) -> (ExitStatus, String) {
        self.signal(signal);
        self.wait()
    }
}

impl Drop for WaitressServe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Builds these examples (same profile and target directory as the running
/// test) and returns the folder their binaries are in. Tests that run an
/// example as a reader would, as a program of its own, call this once
/// (behind a `OnceLock`).
pub fn build_examples(names: &[&str]) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap(); // target/<profile>
    let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    build
        .args(["build", "--quiet"])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    for name in names {
        build.args(["--example", name]);
    }
    if profile_dir.ends_with("release") {
        build.arg("--release");
    }
    assert!(
        build.status().unwrap().success(),
        "the examples {names:?} build"
    );
    profile_dir.join("examples")
}

/// `nginx` from PATH, or from /usr/sbin (not in a normal user's PATH).
pub fn nginx_binary() -> Option<std::path::PathBuf> {
    ["nginx", "/usr/sbin/nginx"]
        .into_iter()
        .map(std::path::PathBuf::from)
        .find(|candidate| {
            Command::new(candidate)
                .arg("-v")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        })
}

/// Starts `binary` (nginx) in the foreground with the prefix `prefix` and
/// the configuration file `conf`, logging errors to a piped stderr.
pub fn spawn_nginx(
    binary: &std::path::Path,
    prefix: &std::path::Path,
    conf: &std::path::Path,
) -> Child {
    Command::new(binary)
        .arg("-p")
        .arg(prefix)
        .arg("-c")
        .arg(conf)
        .args(["-e", "stderr"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nginx starts")
}
