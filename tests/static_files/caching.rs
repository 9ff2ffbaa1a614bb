//! Cache validators: the weak `ETag`, `If-None-Match` (and its precedence
//! over `If-Modified-Since` and `Range`), `Cache-Control`, and
//! `waitress-serve --cache-control`.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use waitress::gateway::testing::{TestRequest, TestResponse};
use waitress::http::date::format_http_date;

use super::support::{WaitressServe, split_response};
use super::{Fixture, get, get_with, modified};

fn etag_of(app: &waitress::apps::StaticFiles, target: &str) -> String {
    get(app, target)
        .header("ETag")
        .expect("an ETag")
        .to_string()
}

fn set_mtime(path: &Path, time: SystemTime) {
    let file = File::options().write(true).open(path).unwrap();
    file.set_modified(time).unwrap();
}

/// A `304` carries the validators and nothing about a body.
fn assert_not_modified(response: &TestResponse, etag: &str) {
    assert_eq!(response.status, "304 Not Modified");
    assert!(response.body.is_empty());
    assert_eq!(response.header("ETag"), Some(etag));
    assert!(response.header("Last-Modified").is_some());
    for absent in ["Content-Length", "Content-Type", "Content-Range"] {
        assert_eq!(response.header(absent), None, "{absent}");
    }
}

#[test]
fn a_file_has_a_weak_etag_from_its_length_and_modification_time() {
    let fixture = Fixture::new("etag");
    let app = fixture.app();
    let path = fixture.root.join("hello.txt");
    let time = UNIX_EPOCH + Duration::from_secs(0x6543_2100);
    set_mtime(&path, time);
    assert_eq!(etag_of(&app, "/hello.txt"), "W/\"c-65432100\"");
    assert_eq!(etag_of(&app, "/hello.txt"), "W/\"c-65432100\"", "stable");
    // The index of a directory has its own.
    assert!(etag_of(&app, "/sub/").starts_with("W/\"c-"));

    set_mtime(&path, time + Duration::from_secs(1));
    assert_eq!(etag_of(&app, "/hello.txt"), "W/\"c-65432101\"");
    std::fs::write(&path, "Hello, longer file!").unwrap();
    set_mtime(&path, time);
    assert_eq!(etag_of(&app, "/hello.txt"), "W/\"13-65432100\"");
}

#[test]
fn if_none_match_with_the_etag_gives_304_with_the_validators() {
    let fixture = Fixture::new("inm");
    let app = fixture.app();
    let etag = etag_of(&app, "/hello.txt");
    let strong = etag.trim_start_matches("W/").to_string();
    for header in [
        etag.clone(),
        strong.clone(),
        format!("\"other\", {etag}"),
        format!("W/\"x\",{strong} , \"y\""),
        "*".to_string(),
    ] {
        let response = get_with(&app, "/hello.txt", "If-None-Match", &header);
        assert_not_modified(&response, &etag);
    }
    let head = TestRequest::head("/hello.txt")
        .header("If-None-Match", &etag)
        .call(&app)
        .unwrap();
    assert_not_modified(&head, &etag);
}

#[test]
fn if_none_match_with_other_tags_gives_the_file() {
    let fixture = Fixture::new("inm-other");
    let app = fixture.app();
    let etag = etag_of(&app, "/hello.txt");
    let unquoted = etag.trim_start_matches("W/").trim_matches('"').to_string();
    for header in [
        "\"other\"".to_string(),
        "W/\"c-0\"".to_string(),
        unquoted,                           // not an entity tag
        etag[..etag.len() - 1].to_string(), // unterminated
        "\"x\", *".to_string(),
        String::new(),
    ] {
        let response = get_with(&app, "/hello.txt", "If-None-Match", &header);
        assert_eq!(response.status, "200 OK", "{header}");
        assert_eq!(response.text(), "Hello, file!", "{header}");
    }
    // The tag of another file does not match this one.
    let other = etag_of(&app, "/page.html");
    let response = get_with(&app, "/hello.txt", "If-None-Match", &other);
    assert_eq!(response.status_code(), 200);
}

#[test]
fn if_none_match_takes_precedence_over_if_modified_since() {
    let fixture = Fixture::new("precedence");
    let app = fixture.app();
    let etag = etag_of(&app, "/hello.txt");
    let mtime = modified(&fixture.root.join("hello.txt"));
    let later = format_http_date(mtime + Duration::from_secs(3600));
    let earlier = format_http_date(mtime - Duration::from_secs(3600));
    // A date that alone gives a 304, with a tag that does not match: 200.
    let response = TestRequest::get("/hello.txt")
        .header("If-None-Match", "\"stale\"")
        .header("If-Modified-Since", &later)
        .call(&app)
        .unwrap();
    assert_eq!(response.status, "200 OK");
    assert_eq!(response.text(), "Hello, file!");
    // A date that alone gives a 200, with the matching tag: 304.
    let response = TestRequest::get("/hello.txt")
        .header("If-None-Match", &etag)
        .header("If-Modified-Since", &earlier)
        .call(&app)
        .unwrap();
    assert_not_modified(&response, &etag);
    // If-Modified-Since alone still works, and its 304 has the ETag too.
    let response = get_with(&app, "/hello.txt", "If-Modified-Since", &later);
    assert_not_modified(&response, &etag);
}

#[test]
fn a_304_wins_over_a_range() {
    let fixture = Fixture::new("304-range");
    let app = fixture.app();
    let etag = etag_of(&app, "/data.bin");
    let mtime = format_http_date(modified(&fixture.root.join("data.bin")));
    for (name, value) in [("If-None-Match", &etag), ("If-Modified-Since", &mtime)] {
        let response = TestRequest::get("/data.bin")
            .header("Range", "bytes=0-9")
            .header(name, value)
            .call(&app)
            .unwrap();
        assert_not_modified(&response, &etag);
        // Nor does a range past the end turn it into a 416.
        let response = TestRequest::get("/data.bin")
            .header("Range", "bytes=5000-")
            .header(name, value)
            .call(&app)
            .unwrap();
        assert_eq!(response.status_code(), 304, "{name}");
    }
    // A stale tag: the range is served.
    let response = TestRequest::get("/data.bin")
        .header("Range", "bytes=0-9")
        .header("If-None-Match", "\"stale\"")
        .call(&app)
        .unwrap();
    assert_eq!(response.status_code(), 206);
    assert_eq!(response.body, &fixture.data()[..10]);
    assert_eq!(response.header("ETag"), Some(etag.as_str()));
}

#[test]
fn if_range_with_the_weak_etag_gives_the_whole_file() {
    // If-Range compares strongly (RFC 9110 §13.1.5): a weak tag never
    // matches, so the client gets the whole file rather than a range that
    // might belong to other bytes.
    let fixture = Fixture::new("ifrange-etag");
    let app = fixture.app();
    let etag = etag_of(&app, "/data.bin");
    for if_range in [etag.clone(), etag.trim_start_matches("W/").to_string()] {
        let response = TestRequest::get("/data.bin")
            .header("Range", "bytes=0-9")
            .header("If-Range", &if_range)
            .call(&app)
            .unwrap();
        assert_eq!(response.status, "200 OK", "{if_range}");
        assert_eq!(response.body.len(), 1000);
    }
}

#[test]
fn cache_control_is_sent_only_when_configured() {
    let fixture = Fixture::new("cache-control");
    let plain = fixture.app();
    assert_eq!(get(&plain, "/hello.txt").header("Cache-Control"), None);

    let app = fixture.app().cache_control(" max-age=60, public ").unwrap();
    let etag = etag_of(&app, "/hello.txt");
    let ok = get(&app, "/hello.txt");
    let partial = get_with(&app, "/hello.txt", "Range", "bytes=0-1");
    let cached = get_with(&app, "/hello.txt", "If-None-Match", &etag);
    for response in [&ok, &partial, &cached] {
        assert_eq!(
            response.header("Cache-Control"),
            Some("max-age=60, public"),
            "{}",
            response.status
        );
    }
    assert_eq!((partial.status_code(), cached.status_code()), (206, 304));
    // Errors and redirects are not files: no caching instructions.
    for target in ["/missing", "/sub", "/.env"] {
        assert_eq!(get(&app, target).header("Cache-Control"), None, "{target}");
    }
    // An empty value sends none again.
    let none = fixture.app().cache_control("no-cache").unwrap();
    let none = none.cache_control("").unwrap();
    assert_eq!(get(&none, "/hello.txt").header("Cache-Control"), None);
}

#[test]
fn cache_control_refuses_values_that_would_split_the_header() {
    let fixture = Fixture::new("cache-control-bad");
    for value in ["no-cache\r\nSet-Cookie: a=b", "a\nb", "x\0", "caf\u{e9}"] {
        let error = fixture.app().cache_control(value).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput, "{value:?}");
    }
}

#[test]
fn waitress_serve_cache_control_flag_sets_the_header() {
    let fixture = Fixture::new("serve-cache-control");
    let server = WaitressServe::start(&[
        "--cache-control=no-cache",
        "--log-level=error",
        &format!("static:{}", fixture.root.display()),
    ]);
    let response =
        server.request("GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let (head, body) = split_response(response.as_bytes());
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("\r\nCache-Control: no-cache\r\n"), "{head}");
    assert_eq!(body, b"Hello, file!");
    let etag = head
        .lines()
        .find_map(|line| line.strip_prefix("ETag: "))
        .expect("an ETag")
        .to_string();

    let request = format!(
        "GET /hello.txt HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\nConnection: close\r\n\r\n"
    );
    let response = server.request(&request);
    let (head, body) = split_response(response.as_bytes());
    assert!(head.starts_with("HTTP/1.1 304 Not Modified\r\n"), "{head}");
    assert!(head.contains(&format!("\r\nETag: {etag}\r\n")), "{head}");
    assert!(head.contains("\r\nCache-Control: no-cache\r\n"), "{head}");
    assert!(body.is_empty(), "a 304 has no body");
    let (status, _) = server.stop_with("TERM");
    assert_eq!(status.code(), Some(0));
}
