//! Real clients against the server: `curl` (HTTP/1.0 and 1.1, keep-alive,
//! an upload with `Expect: 100-continue`, a chunked upload, a rate-limited
//! download) and Python's `http.client`. The server runs in-process on
//! 127.0.0.1:0; every client has a time limit.
//!
//! Each test needs its tool, so each is `#[ignore]`d: `cargo test` lists
//! them as ignored rather than passing them unrun. CI (`.ci/run`) installs
//! curl and python3 and runs them with `cargo test --test clients --
//! --ignored`; run with `--ignored`, a test fails if its tool is missing.

mod support;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::{TempDir, TestServer, run_with_timeout};
use waitress::apps::{StaticFiles, echo};
use waitress::gateway::{AppResult, Application, Body, Environ, StartResponse, headers};

const TIMEOUT: Duration = Duration::from_secs(20);

/// Fails the test, naming the package to install, unless `tool` runs.
fn require(tool: &str, package: &str) {
    let found = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    assert!(
        found,
        "{tool} is not installed (apt-get install {package}): this test cannot run"
    );
}

/// Runs a command to its end, killing it after [`TIMEOUT`].
fn run(command: &mut Command) -> Output {
    run_with_timeout(command, TIMEOUT)
}

/// 1 MiB of a pattern a short or shifted transfer cannot reproduce.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

/// `/port`: the client's port (the same port means the same connection);
/// `/big`: 1 MiB of [`pattern`]; `/files/…`: a directory; anything else: echo.
struct Routes {
    files: StaticFiles,
}

impl Application for Routes {
    fn call(&self, environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        let path = environ.path_info().to_string();
        if path == "/port" {
            let port = format!("{}\n", environ.get("REMOTE_PORT").unwrap_or(""));
            start_response.start_response(
                "200 OK",
                headers(&[("Content-Type", "text/plain")]),
                None,
            )?;
            return Ok(Body::from(port));
        }
        if path == "/big" {
            start_response.start_response(
                "200 OK",
                headers(&[("Content-Type", "application/octet-stream")]),
                None,
            )?;
            // Chunks of unknown total: chunked on HTTP/1.1, close on 1.0.
            let chunks: Vec<Vec<u8>> = pattern(1 << 20)
                .chunks(64 * 1024)
                .map(<[u8]>::to_vec)
                .collect();
            return Ok(Body::from_chunks(chunks));
        }
        if let Some(rest) = path.strip_prefix("/files") {
            environ.insert("SCRIPT_NAME", "/files");
            environ.insert("PATH_INFO", rest.to_string());
            return self.files.call(environ, start_response);
        }
        echo(environ, start_response)
    }
}

/// The server under test, serving [`Routes`] with files from a directory
/// of its own.
struct Peer {
    server: TestServer,
    dir: TempDir,
}

impl Peer {
    fn start(name: &str) -> Peer {
        let dir = TempDir::new(&format!("clients-{name}"));
        std::fs::create_dir_all(dir.join("www")).unwrap();
        std::fs::write(dir.join("www/data.bin"), pattern(100_000)).unwrap();
        std::fs::write(dir.join("www/half.bin"), pattern(512 * 1024)).unwrap();
        let files = StaticFiles::new(dir.join("www")).unwrap();
        let server = TestServer::start(Routes { files }, |b| b);
        Peer { server, dir }
    }

    fn url(&self, path: &str) -> String {
        self.server.url(path)
    }
}

fn curl(args: &[&str]) -> Output {
    let output = run(Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "15"])
        .args(args));
    assert!(
        output.status.success(),
        "curl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
#[ignore = "needs curl: apt-get install curl; run with --ignored"]
fn curl_http_1_0_and_1_1() {
    require("curl", "curl");
    let peer = Peer::start("curl-versions");
    let output = curl(&["--http1.0", "--include", &peer.url("/files/data.bin")]);
    let response = text(&output.stdout);
    assert!(response.starts_with("HTTP/1.0 200 OK\r\n"), "{response}");
    assert!(
        response.contains("\r\nContent-Length: 100000\r\n"),
        "{response}"
    );

    let output = curl(&[
        "--http1.1",
        "--include",
        "--range",
        "10-19",
        &peer.url("/files/data.bin"),
    ]);
    let (head, body) = output.stdout.split_at(
        output
            .stdout
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap()
            + 4,
    );
    let head = text(head);
    assert!(
        head.starts_with("HTTP/1.1 206 Partial Content\r\n"),
        "{head}"
    );
    assert_eq!(body, &pattern(100_000)[10..20]);

    // HTTP/1.0 with a body of unknown length: the end of the connection
    // ends the body, and curl gets all of it.
    let output = curl(&["--http1.0", &peer.url("/big")]);
    assert!(output.stdout == pattern(1 << 20), "1 MiB, close-delimited");
    // HTTP/1.1: chunked.
    let output = curl(&["--http1.1", "--include", &peer.url("/big")]);
    assert!(text(&output.stdout[..200]).contains("Transfer-Encoding: chunked"));
}

#[test]
#[ignore = "needs curl: apt-get install curl; run with --ignored"]
fn curl_reuses_one_connection_for_two_requests() {
    require("curl", "curl");
    let peer = Peer::start("curl-keepalive");
    let output = curl(&["--verbose", &peer.url("/port"), &peer.url("/port")]);
    let ports = text(&output.stdout);
    let ports: Vec<&str> = ports.lines().collect();
    assert_eq!(ports.len(), 2);
    assert_eq!(ports[0], ports[1], "the same client port: one connection");
    assert!(text(&output.stderr).contains("Re-using existing connection"));
}

#[test]
#[ignore = "needs curl: apt-get install curl; run with --ignored"]
fn curl_upload_with_expect_100_continue() {
    require("curl", "curl");
    let peer = Peer::start("curl-expect");
    // 2 MiB: curl sends `Expect: 100-continue` by itself above 1 MiB; the
    // header is also given, so older and newer curls behave alike.
    let upload = peer.dir.join("upload.bin");
    std::fs::write(&upload, pattern(2 << 20)).unwrap();
    let output = curl(&[
        "--verbose",
        "-H",
        "Expect: 100-continue",
        "-H",
        "Content-Type: application/x-test",
        "--data-binary",
        &format!("@{}", upload.display()),
        &peer.url("/echo"),
    ]);
    let trace = text(&output.stderr);
    assert!(trace.contains("> Expect: 100-continue"), "{trace}");
    assert!(trace.contains("< HTTP/1.1 100 Continue"), "{trace}");
    // Had the server not answered 100 in time, curl would have given up
    // waiting after a second, sent the body anyway, and said so.
    assert!(!trace.contains("Done waiting for 100-continue"), "{trace}");
    assert!(
        output.stdout == pattern(2 << 20),
        "the upload came back whole"
    );
}

#[test]
#[ignore = "needs curl: apt-get install curl; run with --ignored"]
fn curl_chunked_upload() {
    require("curl", "curl");
    let peer = Peer::start("curl-chunked");
    let upload = peer.dir.join("upload.bin");
    std::fs::write(&upload, pattern(300_000)).unwrap();
    let output = curl(&[
        "--verbose",
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        &format!("@{}", upload.display()),
        &peer.url("/echo"),
    ]);
    let trace = text(&output.stderr);
    assert!(trace.contains("> Transfer-Encoding: chunked"), "{trace}");
    assert!(
        output.stdout == pattern(300_000),
        "the chunked upload came back whole"
    );
}

#[test]
#[ignore = "needs curl: apt-get install curl; run with --ignored"]
fn curl_slow_download_with_limit_rate() {
    require("curl", "curl");
    let peer = Peer::start("curl-slow");
    // 512 KiB at 256 KiB/s: a reader slower than the server, which must
    // wait for it rather than drop data. (curl 7.88 enforces the rate
    // loosely on loopback, so the duration is printed, not asserted.)
    let started = Instant::now();
    let output = curl(&["--limit-rate", "256K", &peer.url("/files/half.bin")]);
    eprintln!("512 KiB at --limit-rate 256K took {:?}", started.elapsed());
    assert!(output.stdout == pattern(512 * 1024), "every byte, in order");
}

const PYTHON_CLIENT: &str = r#"
import http.client, sys
host, port = sys.argv[1], int(sys.argv[2])
conn = http.client.HTTPConnection(host, port, timeout=10)

conn.request("GET", "/port")
first = conn.getresponse()
first_port = first.read().decode().strip()
print("status", first.status, first.version)

conn.request("POST", "/echo", body=b"x" * 100000, headers={"Content-Type": "application/x-py"})
echoed = conn.getresponse()
body = echoed.read()
print("echo", echoed.status, len(body), body == b"x" * 100000, echoed.getheader("Content-Type"))

def chunks():
    for i in range(10):
        yield b"%d," % i
conn.request("POST", "/echo", body=chunks(), encode_chunked=True)
chunked = conn.getresponse()
print("chunked", chunked.read().decode())

conn.request("GET", "/files/data.bin", headers={"Range": "bytes=-10"})
ranged = conn.getresponse()
print("range", ranged.status, ranged.getheader("Content-Range"), len(ranged.read()))

conn.request("HEAD", "/files/data.bin")
head = conn.getresponse()
print("head", head.status, head.getheader("Content-Length"), len(head.read()))

conn.request("GET", "/port")
print("same-connection", conn.getresponse().read().decode().strip() == first_port)
conn.close()
"#;

#[test]
#[ignore = "needs python3: apt-get install python3; run with --ignored"]
fn python_http_client() {
    require("python3", "python3");
    let peer = Peer::start("python");
    let output = run(Command::new("python3").args([
        "-c",
        PYTHON_CLIENT,
        &peer.server.address.ip().to_string(),
        &peer.server.address.port().to_string(),
    ]));
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", text(&output.stderr));
    assert_eq!(
        stdout,
        "status 200 11\n\
         echo 200 100000 True application/x-py\n\
         chunked 0,1,2,3,4,5,6,7,8,9,\n\
         range 206 bytes 99990-99999/100000 10\n\
         head 200 100000 0\n\
         same-connection True\n"
    );
}
