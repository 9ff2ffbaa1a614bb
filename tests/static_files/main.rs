//! The static-file application: every rule of `waitress::apps::StaticFiles`,
//! in-process with `TestRequest` (microseconds each), and once over a real
//! socket through the server. The cache validators (`ETag`, `If-None-Match`,
//! `Cache-Control` and the `waitress-serve` flag) are in `caching.rs`.

#[path = "../support/mod.rs"]
mod support;

mod caching;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use support::{TestServer, exchange, split_response};

use waitress::apps::StaticFiles;
use waitress::gateway::testing::{TestRequest, TestResponse};
use waitress::http::date::format_http_date;

/// A directory tree under the temp dir, removed on drop:
///
/// ```text
/// ROOT/hello.txt           "Hello, file!"
/// ROOT/page.html, style.css, logo.png, data.bin (1000 bytes), Makefile
/// ROOT/a b.txt, café.txt
/// ROOT/.env                hidden
/// ROOT/sub/index.html      "<h1>sub</h1>"
/// ROOT/empty-dir/          no index
/// ROOT/inside -> hello.txt
/// ROOT/outside -> ../secret.txt   (out of the root)
/// ROOT/fifo                a named pipe
/// BASE/secret.txt          next to ROOT, never served
/// ```
struct Fixture {
    base: PathBuf,
    root: PathBuf,
}

impl Fixture {
    fn new(name: &str) -> Fixture {
        let base =
            std::env::temp_dir().join(format!("waitress-static-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let root = base.join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::create_dir_all(root.join("empty-dir")).unwrap();
        let write = |path: &str, bytes: &[u8]| std::fs::write(root.join(path), bytes).unwrap();
        write("hello.txt", b"Hello, file!");
        write("page.html", b"<p>page</p>");
        write("style.css", b"p {}");
        write("logo.png", b"\x89PNG");
        write("Makefile", b"all:");
        write("a b.txt", b"space");
        write("caf\u{e9}.txt", b"utf-8 name");
        write(".env", b"SECRET=1");
        write("sub/index.html", b"<h1>sub</h1>");
        let data: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        write("data.bin", &data);
        std::fs::write(base.join("secret.txt"), b"top secret").unwrap();
        std::os::unix::fs::symlink("hello.txt", root.join("inside")).unwrap();
        std::os::unix::fs::symlink("../secret.txt", root.join("outside")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("etc-link")).unwrap();
        let _ = std::process::Command::new("mkfifo")
            .arg(root.join("fifo"))
            .status();
        Fixture { base, root }
    }

    fn app(&self) -> StaticFiles {
        StaticFiles::new(&self.root).unwrap()
    }

    fn data(&self) -> Vec<u8> {
        std::fs::read(self.root.join("data.bin")).unwrap()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

fn get(app: &StaticFiles, target: &str) -> TestResponse {
    TestRequest::get(target).call(app).unwrap()
}

fn get_with(app: &StaticFiles, target: &str, name: &str, value: &str) -> TestResponse {
    TestRequest::get(target)
        .header(name, value)
        .call(app)
        .unwrap()
}

fn modified(path: &Path) -> SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

#[test]
fn a_file_comes_with_its_type_length_date_and_ranges() {
    let fixture = Fixture::new("file");
    let response = get(&fixture.app(), "/hello.txt");
    assert_eq!(response.status, "200 OK");
    assert_eq!(response.text(), "Hello, file!");
    assert_eq!(
        response.header("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(response.header("Content-Length"), Some("12"));
    assert_eq!(response.header("Accept-Ranges"), Some("bytes"));
    let last_modified = format_http_date(modified(&fixture.root.join("hello.txt")));
    assert_eq!(
        response.header("Last-Modified"),
        Some(last_modified.as_str())
    );
}

#[test]
fn content_type_follows_the_extension() {
    let fixture = Fixture::new("types");
    let app = fixture.app();
    for (target, expected) in [
        ("/page.html", "text/html; charset=utf-8"),
        ("/style.css", "text/css; charset=utf-8"),
        ("/logo.png", "image/png"),
        ("/data.bin", "application/octet-stream"),
        ("/Makefile", "application/octet-stream"),
    ] {
        assert_eq!(get(&app, target).header("Content-Type"), Some(expected));
    }
}

#[test]
fn head_gives_the_same_headers() {
    let fixture = Fixture::new("head");
    let app = fixture.app();
    let head = TestRequest::head("/hello.txt").call(&app).unwrap();
    let get = get(&app, "/hello.txt");
    assert_eq!(head.status, "200 OK");
    assert_eq!(head.headers, get.headers);
}

#[test]
fn names_with_spaces_and_non_ascii_bytes_are_found() {
    let fixture = Fixture::new("names");
    let app = fixture.app();
    assert_eq!(get(&app, "/a%20b.txt").text(), "space");
    // é in UTF-8 is %C3%A9; PATH_INFO holds those bytes, as the disk does.
    assert_eq!(get(&app, "/caf%C3%A9.txt").text(), "utf-8 name");
}

#[test]
fn a_directory_serves_its_index_html() {
    let fixture = Fixture::new("index");
    let response = get(&fixture.app(), "/sub/");
    assert_eq!(response.status, "200 OK");
    assert_eq!(response.text(), "<h1>sub</h1>");
    assert_eq!(
        response.header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
}

#[test]
fn a_directory_without_its_slash_is_redirected() {
    let fixture = Fixture::new("redirect");
    let app = fixture.app();
    let response = get(&app, "/sub?x=1");
    assert_eq!(response.status, "301 Moved Permanently");
    assert_eq!(response.header("Location"), Some("/sub/?x=1"));
    // Mounted under a prefix, the Location keeps the prefix.
    let response = TestRequest::get("/static/sub")
        .url_prefix("/static")
        .call(&app)
        .unwrap();
    assert_eq!(response.header("Location"), Some("/static/sub/"));
    let response = TestRequest::get("/static")
        .url_prefix("/static")
        .call(&app)
        .unwrap();
    assert_eq!(response.header("Location"), Some("/static/"));
}

#[test]
fn a_directory_without_index_is_not_listed() {
    let fixture = Fixture::new("noindex");
    assert_eq!(get(&fixture.app(), "/empty-dir/").status_code(), 404);
}

#[test]
fn a_file_with_a_trailing_slash_is_not_found() {
    let fixture = Fixture::new("fileslash");
    assert_eq!(get(&fixture.app(), "/hello.txt/").status_code(), 404);
}

#[test]
fn if_modified_since_gives_304_when_the_file_is_not_newer() {
    let fixture = Fixture::new("ims");
    let app = fixture.app();
    let mtime = modified(&fixture.root.join("hello.txt"));
    let same = format_http_date(mtime);
    let response = get_with(&app, "/hello.txt", "If-Modified-Since", &same);
    assert_eq!(response.status, "304 Not Modified");
    assert!(response.body.is_empty());
    assert_eq!(response.header("Last-Modified"), Some(same.as_str()));
    assert_eq!(response.header("Content-Length"), None);

    let later = format_http_date(mtime + Duration::from_secs(3600));
    let response = get_with(&app, "/hello.txt", "If-Modified-Since", &later);
    assert_eq!(response.status_code(), 304);

    let earlier = format_http_date(mtime - Duration::from_secs(3600));
    let response = get_with(&app, "/hello.txt", "If-Modified-Since", &earlier);
    assert_eq!(response.status_code(), 200);
    assert_eq!(response.text(), "Hello, file!");

    let response = get_with(&app, "/hello.txt", "If-Modified-Since", "yesterday");
    assert_eq!(response.status_code(), 200);
}

#[test]
fn a_byte_range_gives_206_with_content_range() {
    let fixture = Fixture::new("range");
    let app = fixture.app();
    let data = fixture.data();
    let response = get_with(&app, "/data.bin", "Range", "bytes=10-19");
    assert_eq!(response.status, "206 Partial Content");
    assert_eq!(response.header("Content-Range"), Some("bytes 10-19/1000"));
    assert_eq!(response.header("Content-Length"), Some("10"));
    assert_eq!(response.body, &data[10..20]);

    let response = get_with(&app, "/data.bin", "Range", "bytes=990-");
    assert_eq!(response.header("Content-Range"), Some("bytes 990-999/1000"));
    assert_eq!(response.body, &data[990..]);

    let response = get_with(&app, "/data.bin", "Range", "bytes=-5");
    assert_eq!(response.header("Content-Range"), Some("bytes 995-999/1000"));
    assert_eq!(response.body, &data[995..]);

    // An end past the file means the end of the file.
    let response = get_with(&app, "/data.bin", "Range", "bytes=998-5000");
    assert_eq!(response.header("Content-Range"), Some("bytes 998-999/1000"));
    assert_eq!(response.body, &data[998..]);
}

#[test]
fn a_range_past_the_end_gives_416() {
    let fixture = Fixture::new("416");
    let response = get_with(&fixture.app(), "/data.bin", "Range", "bytes=1000-");
    assert_eq!(response.status, "416 Range Not Satisfiable");
    assert_eq!(response.header("Content-Range"), Some("bytes */1000"));
}

#[test]
fn several_ranges_or_a_malformed_one_give_the_whole_file() {
    let fixture = Fixture::new("multi");
    let app = fixture.app();
    for range in ["bytes=0-1,5-6", "bytes=5-2", "bytes=abc", "pages=1-2"] {
        let response = get_with(&app, "/data.bin", "Range", range);
        assert_eq!(response.status, "200 OK", "{range}");
        assert_eq!(response.body.len(), 1000, "{range}");
        assert_eq!(response.header("Content-Range"), None);
    }
}

#[test]
fn if_range_with_another_date_gives_the_whole_file() {
    let fixture = Fixture::new("ifrange");
    let app = fixture.app();
    let mtime = modified(&fixture.root.join("data.bin"));
    let response = TestRequest::get("/data.bin")
        .header("Range", "bytes=0-9")
        .header("If-Range", &format_http_date(mtime))
        .call(&app)
        .unwrap();
    assert_eq!(response.status_code(), 206);
    let response = TestRequest::get("/data.bin")
        .header("Range", "bytes=0-9")
        .header(
            "If-Range",
            &format_http_date(mtime - Duration::from_secs(60)),
        )
        .call(&app)
        .unwrap();
    assert_eq!(response.status_code(), 200);
    assert_eq!(response.body.len(), 1000);
}

#[test]
fn dot_dot_segments_cannot_escape() {
    let fixture = Fixture::new("dotdot");
    let app = fixture.app();
    for target in [
        "/../secret.txt",
        "/sub/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/sub/%2e%2e/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/sub%2f..%2f..%2fsecret.txt",
        "/../../../../../../etc/passwd",
    ] {
        let response = get(&app, target);
        assert_eq!(response.status_code(), 404, "{target}");
        assert!(!response.text().contains("top secret"), "{target}");
    }
}

#[test]
fn backslashes_are_refused() {
    let fixture = Fixture::new("backslash");
    let app = fixture.app();
    for target in ["/..%5csecret.txt", "/sub\\..\\..\\secret.txt", "/a%5cb"] {
        assert_eq!(get(&app, target).status_code(), 404, "{target}");
    }
}

#[test]
fn a_nul_byte_is_a_bad_request() {
    let fixture = Fixture::new("nul");
    let response = get(&fixture.app(), "/hello.txt%00.html");
    assert_eq!(response.status_code(), 400);
}

#[test]
fn symlinks_may_point_inside_the_root_but_not_out_of_it() {
    let fixture = Fixture::new("symlinks");
    let app = fixture.app();
    assert_eq!(get(&app, "/inside").text(), "Hello, file!");
    assert_eq!(get(&app, "/outside").status_code(), 404);
    assert_eq!(get(&app, "/etc-link/passwd").status_code(), 404);
    assert_eq!(get(&app, "/etc-link/").status_code(), 404);
}

#[test]
fn hidden_files_are_not_served() {
    let fixture = Fixture::new("hidden");
    let app = fixture.app();
    assert_eq!(get(&app, "/.env").status_code(), 404);
    assert_eq!(get(&app, "/sub/./index.html").status_code(), 200);
}

#[test]
fn special_files_are_not_opened() {
    let fixture = Fixture::new("fifo");
    if !fixture.root.join("fifo").exists() {
        eprintln!("note: mkfifo is not available; skipping the FIFO case");
        return;
    }
    // Opening a FIFO for reading would block the worker forever.
    assert_eq!(get(&fixture.app(), "/fifo").status_code(), 404);
}

#[test]
fn only_get_and_head_are_allowed() {
    let fixture = Fixture::new("methods");
    let app = fixture.app();
    for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
        let response = TestRequest::new(method, "/hello.txt").call(&app).unwrap();
        assert_eq!(response.status, "405 Method Not Allowed", "{method}");
        assert_eq!(response.header("Allow"), Some("GET, HEAD"));
    }
}

#[test]
fn the_root_must_be_a_directory() {
    let fixture = Fixture::new("root");
    assert!(StaticFiles::new(fixture.root.join("hello.txt")).is_err());
    assert!(StaticFiles::new(fixture.root.join("missing")).is_err());
}

#[test]
fn over_a_socket_files_ranges_and_escapes_behave_the_same() {
    let fixture = Fixture::new("socket");
    // A file bigger than the output buffers, to stream it in blocks.
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(fixture.root.join("big.bin"), &big).unwrap();
    let server = TestServer::start(fixture.app(), |b| b.threads(2));

    let (head, body) = split_response(&exchange(
        server.address,
        b"GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ));
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("\r\nContent-Length: 3000000"), "{head}");
    assert!(body == big, "the whole file, byte for byte");

    let (head, body) = split_response(&exchange(
        server.address,
        b"GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=1000000-1000009\r\nConnection: close\r\n\r\n",
    ));
    assert!(
        head.starts_with("HTTP/1.1 206 Partial Content\r\n"),
        "{head}"
    );
    assert!(
        head.contains("\r\nContent-Range: bytes 1000000-1000009/3000000"),
        "{head}"
    );
    assert_eq!(body, &big[1_000_000..1_000_010]);

    let (head, body) = split_response(&exchange(
        server.address,
        b"HEAD /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ));
    assert!(head.contains("\r\nContent-Length: 3000000"), "{head}");
    assert!(body.is_empty(), "HEAD has no body");

    // The raw request line, not a client's normalised one.
    for target in ["/../secret.txt", "/%2e%2e/secret.txt", "/outside"] {
        let request = format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let response = exchange(server.address, request.as_bytes());
        let (head, body) = split_response(&response);
        assert!(head.starts_with("HTTP/1.1 404 "), "{target}: {head}");
        assert!(!String::from_utf8_lossy(&body).contains("top secret"));
    }

    server.stop();
}
