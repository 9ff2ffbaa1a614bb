//! The device UI example (`examples/device_ui/`), run as a user runs it: a
//! child process on a free port, spoken to over TCP. Its base64 decoder and
//! escaping are checked here too, in process.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::Duration;

use proptest::prelude::*;

#[allow(dead_code)]
#[path = "../examples/device_ui/auth.rs"]
mod auth;

const TIMEOUT: Duration = Duration::from_secs(10);
const ADMIN: &str = "Basic YWRtaW46c2VjcmV0"; // admin:secret

/// The example's binary, built once (same profile and target directory as
/// this test) and found next to this test's own binary.
fn example() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| support::build_examples(&["device_ui"]).join("device_ui"))
}

/// The example running on a free port; killed when dropped, even when a
/// check fails.
struct Device {
    child: Child,
    port: u16,
    data_dir: PathBuf,
    /// Leaves the data directory when dropped (to start again on it).
    keep_files: bool,
}

impl Device {
    /// Starts the example with `admin`/`secret` and a data directory of its
    /// own (named after `test`, emptied first).
    fn start(test: &str) -> Device {
        let data_dir = std::env::temp_dir().join(format!(
            "waitress-device-ui-test-{}-{test}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&data_dir);
        Device::start_in(data_dir)
    }

    fn start_in(data_dir: PathBuf) -> Device {
        let mut child = Command::new(example())
            .args(["--port", "0", "--user", "admin", "--password", "secret"])
            .arg("--data-dir")
            .arg(&data_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // "Serving on http://127.0.0.1:PORT", read on a thread: bounded wait.
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        let mut device = Device {
            child,
            port: 0,
            data_dir,
            keep_files: false,
        };
        let line = receiver.recv_timeout(TIMEOUT).expect("the example starts");
        let port = line.strip_prefix("Serving on http://127.0.0.1:");
        device.port = port.and_then(|p| p.parse().ok()).expect(&line);
        device
    }

    /// Sends `head` (request line and fields, without the blank line) and
    /// `body`, and returns the status code, the head and the body.
    fn request(&self, head: &str, body: &[u8]) -> (u16, String, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(TIMEOUT)).unwrap();
        let head = format!(
            "{head}\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        let response = String::from_utf8(response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").expect(&response);
        let code = head[9..12].parse().expect(head);
        (code, head.to_string(), body.to_string())
    }

    fn get(&self, path: &str) -> (u16, String, String) {
        self.request(
            &format!("GET {path} HTTP/1.1\r\nAuthorization: {ADMIN}"),
            b"",
        )
    }

    fn post(&self, path: &str, form: &str) -> (u16, String, String) {
        let head = format!(
            "POST {path} HTTP/1.1\r\nAuthorization: {ADMIN}\r\n\
             Content-Type: application/x-www-form-urlencoded"
        );
        self.request(&head, form.as_bytes())
    }

    fn saved(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("settings.conf")).unwrap_or_default()
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !self.keep_files && !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

/// The value of a header in a response head (names are case-insensitive).
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (field, value) = line.split_once(':')?;
        field.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

const GOOD_FORM: &str =
    "device_name=Boiler+room%20sensor&ntp_server=time.example.org&log_level=debug";

#[test]
fn without_credentials_every_page_answers_401_with_a_basic_challenge() {
    let device = Device::start("no-credentials");
    for path in ["/", "/settings", "/status.json", "/nowhere"] {
        let (code, head, _) = device.request(&format!("GET {path} HTTP/1.1"), b"");
        assert_eq!(code, 401, "{path}");
        assert_eq!(
            header(&head, "WWW-Authenticate"),
            Some("Basic realm=\"device\"")
        );
    }
    let wrong = "GET /settings HTTP/1.1\r\nAuthorization: Basic YWRtaW46c2VjcmVU"; // admin:secreT
    assert_eq!(device.request(wrong, b"").0, 401, "a wrong password");
    let garbage = "GET /settings HTTP/1.1\r\nAuthorization: Basic !!!!";
    assert_eq!(device.request(garbage, b"").0, 401, "bad base64");
    let (code, _, _) = device.post("/settings", GOOD_FORM.replace("debug", "x").as_str());
    assert_eq!(
        code, 400,
        "the same request with credentials reaches the app"
    );
}

#[test]
fn with_credentials_the_form_shows_the_current_settings() {
    let device = Device::start("form");
    let (code, head, page) = device.get("/settings");
    assert_eq!(code, 200, "{head}");
    assert!(
        header(&head, "Content-Type")
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(header(&head, "Cache-Control"), Some("no-store"));
    assert!(page.contains("<form method=\"post\""), "{page}");
    assert!(
        page.contains("name=\"device_name\" value=\"waitress-device\""),
        "{page}"
    );
    assert!(page.contains("<option selected>info</option>"), "{page}");
    let (code, head, _) = device.get("/");
    assert_eq!((code, header(&head, "Location")), (302, Some("/settings")));
}

#[test]
fn a_valid_post_saves_the_file_and_redirects_to_the_form() {
    let device = Device::start("save");
    let (code, head, _) = device.post("/settings", GOOD_FORM);
    assert_eq!(code, 303, "{head}");
    assert_eq!(header(&head, "Location"), Some("/settings"));
    assert_eq!(
        device.saved(),
        "device_name=Boiler room sensor\nntp_server=time.example.org\nlog_level=debug\n"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&device.data_dir).unwrap().collect();
    assert_eq!(
        leftovers.len(),
        1,
        "no temporary file is left: {leftovers:?}"
    );
    let (_, _, page) = device.get("/settings");
    assert!(page.contains("value=\"Boiler room sensor\""), "{page}");
    assert!(page.contains("<option selected>debug</option>"), "{page}");
}

#[test]
fn saved_settings_survive_a_restart() {
    let mut device = Device::start("restart");
    assert_eq!(device.post("/settings", GOOD_FORM).0, 303);
    device.keep_files = true;
    let data_dir = device.data_dir.clone();
    drop(device);
    let again = Device::start_in(data_dir);
    let (_, _, status) = again.get("/status.json");
    assert!(
        status.contains("\"device_name\":\"Boiler room sensor\""),
        "{status}"
    );
}

#[test]
fn the_status_is_json_with_the_version_uptime_and_escaped_settings() {
    let device = Device::start("status");
    let form = "device_name=say+%22hi%22+%5C+bye&ntp_server=192.0.2.1&log_level=warn";
    assert_eq!(device.post("/settings", form).0, 303);
    let (code, head, status) = device.get("/status.json");
    assert_eq!(code, 200);
    assert_eq!(header(&head, "Content-Type"), Some("application/json"));
    let version = format!(
        "{{\"version\":\"{}\",\"uptime_seconds\":",
        env!("CARGO_PKG_VERSION")
    );
    assert!(status.starts_with(&version), "{status}");
    let settings = r#""settings":{"device_name":"say \"hi\" \\ bye","ntp_server":"192.0.2.1","log_level":"warn"}}"#;
    assert!(status.trim_end().ends_with(settings), "{status}");
}

#[test]
fn an_invalid_post_shows_the_form_again_with_400_and_saves_nothing() {
    let device = Device::start("invalid");
    let (code, _, page) = device.post(
        "/settings",
        "device_name=ok&ntp_server=not+a+host!&log_level=loud",
    );
    assert_eq!(code, 400);
    assert!(page.contains("NTP server: a host name"), "{page}");
    assert!(
        page.contains("Log level: one of error, warn, info, debug."),
        "{page}"
    );
    assert!(
        page.contains("value=\"not a host!\""),
        "the value is shown again: {page}"
    );
    assert!(
        !page.contains("Device name:"),
        "a valid field has no message: {page}"
    );
    assert_eq!(device.saved(), "", "nothing was saved");
    let (code, _, _) = device.post("/settings", "log_level=info");
    assert_eq!(code, 400, "missing fields");
}

#[test]
fn an_oversized_or_foreign_post_is_refused_before_it_is_decoded() {
    let device = Device::start("oversized");
    let form = format!(
        "device_name={}&ntp_server=a&log_level=info",
        "x".repeat(16 * 1024)
    );
    assert_eq!(device.post("/settings", &form).0, 413);
    let json = "POST /settings HTTP/1.1\r\nAuthorization: Basic YWRtaW46c2VjcmV0\r\n\
                Content-Type: application/json";
    assert_eq!(device.request(json, b"{}").0, 415);
    let cross = "POST /settings HTTP/1.1\r\nAuthorization: Basic YWRtaW46c2VjcmV0\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nOrigin: http://evil.example";
    assert_eq!(device.request(cross, GOOD_FORM.as_bytes()).0, 403);
    assert_eq!(device.saved(), "", "nothing was saved");
    let (code, head, _) = device.request(
        "DELETE /settings HTTP/1.1\r\nAuthorization: Basic YWRtaW46c2VjcmV0",
        b"",
    );
    assert_eq!(
        (code, header(&head, "Allow")),
        (405, Some("GET, HEAD, POST"))
    );
}

#[test]
fn values_are_escaped_in_the_html_page() {
    let device = Device::start("escaping");
    let name = "%3Cscript%3Ealert(%27x%27)%3C%2Fscript%3E+%22%26";
    let form = format!("device_name={name}&ntp_server=pool.ntp.org&log_level=info");
    assert_eq!(device.post("/settings", &form).0, 303);
    let (_, _, page) = device.get("/settings");
    assert!(!page.contains("<script>"), "{page}");
    let escaped = "value=\"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &quot;&amp;\"";
    assert!(page.contains(escaped), "{page}");
    // And in a page showing a refused value.
    let form = "device_name=a&ntp_server=%3Cscript%3E&log_level=info";
    let (code, _, page) = device.post("/settings", form);
    assert_eq!(code, 400);
    assert!(
        !page.contains("<script>") && page.contains("value=\"&lt;script&gt;\""),
        "{page}"
    );
}

/// Standard base64 with padding, to check the decoder against.
fn encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            let sextet = (n >> (18 - 6 * i)) & 63;
            out.push(if i <= chunk.len() {
                ALPHABET[sextet as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

#[test]
fn base64_decodes_the_rfc_7617_example_and_refuses_bad_text() {
    let decoded = auth::base64_decode("QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    assert_eq!(decoded.as_deref(), Some(&b"Aladdin:open sesame"[..]));
    assert_eq!(
        auth::base64_decode("QWxhZGRpbjpvcGVuIHNlc2FtZQ").unwrap(),
        b"Aladdin:open sesame"
    );
    for bad in [
        "Q", "QQ=", "QQ===", "Q=Q=", "QR==", "QWx!", "QWxh\n", "====", "é",
    ] {
        assert_eq!(auth::base64_decode(bad), None, "{bad:?}");
    }
    assert_eq!(
        auth::credentials("basic  YWRtaW46c2VjcmV0 "),
        Some(("admin".to_string(), "secret".to_string()))
    );
    assert_eq!(auth::credentials("Bearer YWRtaW46c2VjcmV0"), None);
    assert_eq!(
        auth::credentials("Basic YWRtaW4="),
        None,
        "admin, without a colon"
    );
}

#[test]
fn constant_time_eq_is_equality() {
    assert!(auth::constant_time_eq(b"secret", b"secret"));
    assert!(!auth::constant_time_eq(b"secreT", b"secret"));
    assert!(!auth::constant_time_eq(b"secret", b"secret!"));
    assert!(!auth::constant_time_eq(b"secret\0", b"secret"));
    assert!(!auth::constant_time_eq(b"", b"secret"));
    assert!(auth::constant_time_eq(b"", b""));
}

proptest! {
    #[test]
    fn base64_decoding_inverts_encoding(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let padded = encode(&bytes);
        prop_assert_eq!(auth::base64_decode(&padded), Some(bytes.clone()));
        prop_assert_eq!(auth::base64_decode(padded.trim_end_matches('=')), Some(bytes));
    }

    #[test]
    fn base64_decoding_never_panics_and_accepts_only_canonical_text(text in "[A-Za-z0-9+/=!é ]{0,24}") {
        if let Some(bytes) = auth::base64_decode(&text) {
            let encoded = encode(&bytes);
            prop_assert_eq!(encoded.trim_end_matches('='), text.trim_end_matches('='));
        }
    }

    #[test]
    fn constant_time_eq_agrees_with_eq(a in proptest::collection::vec(0u8..4, 0..6), b in proptest::collection::vec(0u8..4, 0..6)) {
        prop_assert_eq!(auth::constant_time_eq(&a, &b), a == b);
    }
}
