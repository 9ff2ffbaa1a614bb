//! The exercises of chapter 18: Configuration and waitress-serve.
use std::fs;
use std::time::Duration;

use waitress::apps::StaticFiles;
use waitress::gateway::testing::TestRequest;

use super::static_root;

// ---------------------------------------------------------------------------
// Chapter 18: Configuration and waitress-serve
// ---------------------------------------------------------------------------

/// `hello.txt` under a fresh root, last modified in 2020 (long settled).
fn settled_static_root(name: &str) -> std::path::PathBuf {
    let root = static_root(name);
    let file = fs::File::options()
        .write(true)
        .open(root.join("hello.txt"))
        .unwrap();
    let year_2020 = std::time::UNIX_EPOCH + Duration::from_secs(1_577_836_800);
    file.set_modified(year_2020).unwrap();
    root
}

#[test]
#[ignore = "exercise: chapter 18"]
fn ch18_a_settled_file_gets_a_strong_etag() {
    let root = settled_static_root("strong-etag");
    let app = StaticFiles::new(&root).unwrap();
    let response = TestRequest::get("/hello.txt").call(&app).unwrap();
    let etag = response.header("ETag").expect("an ETag").to_string();
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong: {etag}"
    );
    let again = TestRequest::get("/hello.txt").call(&app).unwrap();
    assert_eq!(again.header("ETag"), Some(etag.as_str()), "stable");
    let cached = TestRequest::get("/hello.txt")
        .header("If-None-Match", &format!("\"other\", {etag}"))
        .call(&app)
        .unwrap();
    assert_eq!(cached.status_code(), 304, "If-None-Match still works");
    // Written just now: within the second, so the tag stays weak.
    fs::write(root.join("hello.txt"), "Hello, longer file!").unwrap();
    let fresh = TestRequest::get("/hello.txt").call(&app).unwrap();
    let fresh_etag = fresh.header("ETag").expect("an ETag");
    assert!(fresh_etag.starts_with("W/\""), "weak: {fresh_etag}");
    let _ = fs::remove_dir_all(root);
}

#[test]
#[ignore = "exercise: chapter 18"]
fn ch18_if_range_accepts_a_strong_etag() {
    let root = settled_static_root("if-range");
    let app = StaticFiles::new(&root).unwrap();
    let first = TestRequest::get("/hello.txt").call(&app).unwrap();
    let etag = first.header("ETag").expect("an ETag").to_string();
    let range = |if_range: &str| {
        TestRequest::get("/hello.txt")
            .header("Range", "bytes=0-4")
            .header("If-Range", if_range)
            .call(&app)
            .unwrap()
    };
    let partial = range(&etag);
    assert_eq!(partial.status_code(), 206, "{etag}");
    assert_eq!(partial.text(), "Hello");
    let changed = range("\"other\"");
    assert_eq!(
        (changed.status_code(), changed.text().as_str()),
        (200, "Hello, file!")
    );
    let weak = range(&format!("W/{etag}"));
    assert_eq!(weak.status_code(), 200, "If-Range compares strongly");
    let _ = fs::remove_dir_all(root);
}
