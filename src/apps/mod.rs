//! Built-in applications: [`hello`], [`echo`] and [`StaticFiles`].
//!
//! Rust cannot import an application by name at run time the way
//! `waitress-serve myapp:app` does in Python, so `waitress-serve` serves one
//! of these, chosen by its APP argument (see [`crate::cli::AppChoice`]).
//! A real application builds its own binary around
//! [`serve`](crate::server::serve) instead (`examples/my_app_binary.rs`).
//!
//! [`StaticFiles`] is the one with rules worth reading: it serves a directory
//! through `wsgi.file_wrapper` and refuses every path that could leave it.
//!
//! | request | answer |
//! |---|---|
//! | a file | `200`, `Content-Type` from the extension, `Content-Length`, `Last-Modified`, `Accept-Ranges: bytes` |
//! | a directory, with a trailing `/` | its `index.html`, or `404` (no listings) |
//! | a directory, without the `/` | `301` to the same path with the `/` |
//! | `If-Modified-Since` not older than the file | `304`, no body |
//! | `Range: bytes=a-b`, `a-` or `-n` (one range) | `206` with `Content-Range` |
//! | a range that starts past the end | `416` with `Content-Range: bytes */LEN` |
//! | several ranges, or a malformed `Range` | the whole file, `200` (RFC 9110 lets a server ignore `Range`) |
//! | `..`, a backslash, a hidden name (`.git`), a symlink out of the root, a FIFO or device | `404` |
//! | a NUL byte in the path (`%00`) | `400` |
//! | a method other than `GET` and `HEAD` | `405` with `Allow: GET, HEAD` |
//!
//! ```
//! use waitress::apps::StaticFiles;
//! use waitress::gateway::testing::TestRequest;
//!
//! let root = std::env::temp_dir().join(format!("waitress-apps-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&root).unwrap();
//! std::fs::write(root.join("hello.txt"), "Hello, file!").unwrap();
//! let app = StaticFiles::new(&root).unwrap();
//!
//! let response = TestRequest::get("/hello.txt").call(&app).unwrap();
//! assert_eq!(response.status_code(), 200);
//! assert_eq!(response.header("Content-Type"), Some("text/plain; charset=utf-8"));
//! assert_eq!(response.text(), "Hello, file!");
//!
//! let escape = TestRequest::get("/%2e%2e/etc/passwd").call(&app).unwrap();
//! assert_eq!(escape.status_code(), 404);
//! # std::fs::remove_dir_all(&root).unwrap();
//! ```
#![forbid(unsafe_code)]

pub mod access_log;
pub mod proxy_headers;

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::gateway::{AppResult, Application, Body, Environ, StartResponse, headers};
use crate::http::date::{format_http_date, parse_http_date};

// ANCHOR: hello
/// `GET /` answers `Hello, world!`; `GET /big` answers 1 MiB of `x` (the two
/// pages the benchmark harness asks for).
///
/// ```
/// use waitress::gateway::testing::TestRequest;
/// let response = TestRequest::get("/").call(&waitress::apps::hello).unwrap();
/// assert_eq!(response.text(), "Hello, world!");
/// ```
pub fn hello(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    // Built once, like the benchmark's other peers: the page is served from
    // the same bytes every time, without copying them.
    static BIG: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let body: Body = if environ.path_info() == "/big" {
        Body::from(BIG.get_or_init(|| vec![b'x'; 1 << 20]).as_slice())
    } else {
        Body::from("Hello, world!")
    };
    let length = body.content_length().unwrap_or(0).to_string();
    start_response.start_response(
        "200 OK",
        headers(&[("Content-Type", "text/plain"), ("Content-Length", &length)]),
        None,
    )?;
    Ok(body)
}
// ANCHOR_END: hello

// ANCHOR: echo
/// Any method to any path sends the request body back with the request's
/// `Content-Type`; `GET /environ` lists the environ's string keys, one
/// `KEY: value` per line.
///
/// ```
/// use waitress::gateway::testing::TestRequest;
/// let response = TestRequest::post("/", "ping").call(&waitress::apps::echo).unwrap();
/// assert_eq!(response.text(), "ping");
/// let environ = TestRequest::get("/environ?x=1").call(&waitress::apps::echo).unwrap();
/// assert!(environ.text().contains("QUERY_STRING: x=1\n"));
/// ```
pub fn echo(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    if environ.path_info() == "/environ" {
        let listing: String = environ
            .iter()
            .map(|(key, value)| format!("{key}: {value}\n"))
            .collect();
        start_response.start_response(
            "200 OK",
            headers(&[("Content-Type", "text/plain; charset=utf-8")]),
            None,
        )?;
        return Ok(Body::from(listing));
    }
    let content_type = environ
        .get("CONTENT_TYPE")
        .unwrap_or("application/octet-stream")
        .to_string();
    let input = environ.take_input();
    let length = input.len().to_string();
    start_response.start_response(
        "200 OK",
        headers(&[("Content-Type", &content_type), ("Content-Length", &length)]),
        None,
    )?;
    // The body streams from wsgi.input, in memory or spooled to a file.
    Ok(Body::reader(input, 64 * 1024))
}
// ANCHOR_END: echo

/// Serves the files under one directory (`waitress-serve static:DIR`).
///
/// The rules are in the [module documentation](self). The root is resolved
/// (symlinks followed) once, when the application is made; every request's
/// file is resolved again and must still lie under it.
///
/// ```no_run
/// use waitress::config::Adjustments;
/// use waitress::apps::StaticFiles;
///
/// let files = StaticFiles::new("/srv/www")?;
/// waitress::server::serve(files, Adjustments::default())?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct StaticFiles {
    root: PathBuf,
    block_size: usize,
}

/// Why a path is not served.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    /// `400`: the path cannot name a file at all (a NUL byte).
    BadRequest,
    /// `404`: no such file, or one the application will not show.
    NotFound,
}

/// What a request's path resolves to.
#[derive(Debug, PartialEq, Eq)]
enum Resolved {
    /// A regular file under the root, by its canonical path.
    File(PathBuf),
    /// A directory asked for without its trailing slash.
    AddSlash,
}

/// What a `Range` header asks of a file of known length (see
/// [`parse_range`]).
///
/// ```
/// use waitress::apps::{parse_range, ByteRange};
/// let ByteRange::Part { start, end } = parse_range("bytes=2-5", 10) else { panic!() };
/// assert_eq!(end - start + 1, 4); // Content-Length of the 206
/// ```
#[derive(Debug, PartialEq, Eq)]
pub enum ByteRange {
    /// No usable range: send the whole file (absent, malformed, several
    /// ranges, or a unit other than `bytes`).
    Whole,
    /// Bytes `start..=end` (inclusive, as `Content-Range` writes them).
    Part {
        /// The first byte.
        start: u64,
        /// The last byte, included.
        end: u64,
    },
    /// The range starts past the end of the file: `416`.
    Unsatisfiable,
}

impl StaticFiles {
    /// Serves `root`, which must be a directory.
    ///
    /// ```
    /// use waitress::apps::StaticFiles;
    /// assert!(StaticFiles::new("/definitely/not/here").is_err());
    /// assert!(StaticFiles::new(std::env::temp_dir()).is_ok());
    /// ```
    pub fn new(root: impl AsRef<Path>) -> io::Result<StaticFiles> {
        let root = root.as_ref();
        let canonical = std::fs::canonicalize(root)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", root.display())))?;
        if !canonical.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a directory", root.display()),
            ));
        }
        Ok(StaticFiles {
            root: canonical,
            block_size: crate::gateway::DEFAULT_BLOCK_SIZE,
        })
    }

    /// The directory served, with symlinks resolved.
    ///
    /// ```
    /// let files = waitress::apps::StaticFiles::new("/").unwrap();
    /// assert_eq!(files.root(), std::path::Path::new("/"));
    /// ```
    pub fn root(&self) -> &Path {
        &self.root
    }

    // ANCHOR: resolve
    /// Maps a decoded `PATH_INFO` to a file under the root, or refuses it.
    ///
    /// The server has already percent-decoded the path (`%2e%2e` is `..`
    /// here, `%2f` is `/`), so the checks run on what the file system will
    /// see. The last check is the one that matters: whatever the segments
    /// were, the resolved path must start with the root.
    fn resolve(&self, path_info: &str) -> Result<Resolved, Refusal> {
        if path_info.contains('\0') {
            return Err(Refusal::BadRequest);
        }
        let mut candidate = self.root.clone();
        for segment in path_info.split('/') {
            if segment.is_empty() || segment == "." {
                continue;
            }
            // `..` climbs; a backslash is a separator on Windows and has no
            // business in a URL path; a leading dot hides `.git`, `.env`.
            if segment.starts_with('.') || segment.contains('\\') {
                return Err(Refusal::NotFound);
            }
            candidate.push(os_str_from_latin1(segment).ok_or(Refusal::NotFound)?);
        }
        let resolved = std::fs::canonicalize(&candidate).map_err(|_| Refusal::NotFound)?;
        if !resolved.starts_with(&self.root) {
            return Err(Refusal::NotFound); // a symlink out of the root
        }
        let metadata = std::fs::metadata(&resolved).map_err(|_| Refusal::NotFound)?;
        if metadata.is_dir() {
            if !path_info.ends_with('/') {
                return Ok(Resolved::AddSlash);
            }
            let index = std::fs::canonicalize(resolved.join("index.html"))
                .map_err(|_| Refusal::NotFound)?;
            if !index.starts_with(&self.root) || !index.is_file() {
                return Err(Refusal::NotFound);
            }
            return Ok(Resolved::File(index));
        }
        // Only regular files: opening a FIFO would block the worker.
        if !metadata.is_file() || path_info.ends_with('/') {
            return Err(Refusal::NotFound);
        }
        Ok(Resolved::File(resolved))
    }
    // ANCHOR_END: resolve

    fn serve_file(
        &self,
        path: &Path,
        environ: &mut Environ,
        start_response: &mut dyn StartResponse,
    ) -> AppResult {
        let mut file = match File::open(path) {
            Ok(file) => file,
            Err(_) => return plain_response(start_response, "404 Not Found", &[]),
        };
        let metadata = file.metadata()?;
        let length = metadata.len();
        let modified = metadata.modified().ok().map(whole_seconds);
        let mut response_headers = headers(&[
            ("Content-Type", content_type_for(path)),
            ("Accept-Ranges", "bytes"),
            ("X-Content-Type-Options", "nosniff"),
        ]);
        if let Some(modified) = modified {
            response_headers.push(("Last-Modified".to_string(), format_http_date(modified)));
        }
        // ANCHOR: conditional
        if let (Some(modified), Some(since)) = (
            modified,
            environ
                .get("HTTP_IF_MODIFIED_SINCE")
                .and_then(parse_http_date),
        ) {
            if modified <= since {
                response_headers.retain(|(name, _)| name == "Last-Modified");
                start_response.start_response("304 Not Modified", response_headers, None)?;
                return Ok(Body::empty());
            }
        }
        let range_applies = match environ.get("HTTP_IF_RANGE") {
            None => true,
            // Only a date can match: this application sends no ETag.
            Some(date) => modified.is_some() && parse_http_date(date) == modified,
        };
        let range = match environ.get("HTTP_RANGE") {
            Some(header) if range_applies => parse_range(header, length),
            _ => ByteRange::Whole,
        };
        // ANCHOR_END: conditional
        match range {
            ByteRange::Whole => {
                response_headers.push(("Content-Length".to_string(), length.to_string()));
                start_response.start_response("200 OK", response_headers, None)?;
                Ok(environ.file_wrapper(file, self.block_size))
            }
            ByteRange::Part { start, end } => {
                let part_length = end - start + 1;
                response_headers.push(("Content-Length".to_string(), part_length.to_string()));
                response_headers.push((
                    "Content-Range".to_string(),
                    format!("bytes {start}-{end}/{length}"),
                ));
                start_response.start_response("206 Partial Content", response_headers, None)?;
                file.seek(SeekFrom::Start(start))?;
                let slice = FileSlice {
                    file,
                    start,
                    len: part_length,
                    position: 0,
                };
                Ok(environ.file_wrapper(slice, self.block_size))
            }
            ByteRange::Unsatisfiable => {
                let content_range = format!("bytes */{length}");
                plain_response(
                    start_response,
                    "416 Range Not Satisfiable",
                    &[("Content-Range", &content_range)],
                )
            }
        }
    }
}

impl Application for StaticFiles {
    fn call(&self, environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        if !matches!(environ.method(), "GET" | "HEAD") {
            return plain_response(
                start_response,
                "405 Method Not Allowed",
                &[("Allow", "GET, HEAD")],
            );
        }
        match self.resolve(environ.path_info()) {
            Ok(Resolved::File(path)) => self.serve_file(&path, environ, start_response),
            Ok(Resolved::AddSlash) => {
                let mut location = percent_encode_path(&format!(
                    "{}{}/",
                    environ.get("SCRIPT_NAME").unwrap_or(""),
                    environ.path_info()
                ));
                if let Some(query) = environ.get("QUERY_STRING").filter(|q| !q.is_empty()) {
                    location.push('?');
                    location.push_str(query);
                }
                plain_response(
                    start_response,
                    "301 Moved Permanently",
                    &[("Location", &location)],
                )
            }
            Err(Refusal::BadRequest) => plain_response(start_response, "400 Bad Request", &[]),
            Err(Refusal::NotFound) => plain_response(start_response, "404 Not Found", &[]),
        }
    }
}

/// A short `text/plain` response whose body is the status line.
fn plain_response(
    start_response: &mut dyn StartResponse,
    status: &str,
    extra: &[(&str, &str)],
) -> AppResult {
    let body = format!("{status}\n");
    let length = body.len().to_string();
    let mut response_headers = headers(&[
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", &length),
    ]);
    response_headers.extend(headers(extra));
    start_response.start_response(status, response_headers, None)?;
    Ok(Body::from(body))
}

// ANCHOR: parse_range
/// Reads a `Range` header for a file of `length` bytes.
///
/// Only one range is served; several (`bytes=0-1,5-6`) give the whole file,
/// which RFC 9110 §14.2 allows and which spares a `multipart/byteranges` body.
///
/// ```
/// use waitress::apps::{parse_range, ByteRange};
/// assert_eq!(parse_range("bytes=0-9", 100), ByteRange::Part { start: 0, end: 9 });
/// assert_eq!(parse_range("bytes=90-", 100), ByteRange::Part { start: 90, end: 99 });
/// assert_eq!(parse_range("bytes=-10", 100), ByteRange::Part { start: 90, end: 99 });
/// assert_eq!(parse_range("bytes=100-", 100), ByteRange::Unsatisfiable);
/// assert_eq!(parse_range("bytes=0-1,5-6", 100), ByteRange::Whole);
/// assert_eq!(parse_range("lines=1-2", 100), ByteRange::Whole);
/// ```
pub fn parse_range(header: &str, length: u64) -> ByteRange {
    let Some((unit, set)) = header.trim().split_once('=') else {
        return ByteRange::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || set.contains(',') {
        return ByteRange::Whole;
    }
    let Some((first, last)) = set.trim().split_once('-') else {
        return ByteRange::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    match (digits(first), digits(last)) {
        // `-n`: the last n bytes.
        (None, Some(suffix)) if first.is_empty() => {
            if suffix == 0 || length == 0 {
                ByteRange::Unsatisfiable
            } else {
                ByteRange::Part {
                    start: length.saturating_sub(suffix),
                    end: length - 1,
                }
            }
        }
        // `a-`: from a to the end.
        (Some(start), None) if last.is_empty() => {
            if start >= length {
                ByteRange::Unsatisfiable
            } else {
                ByteRange::Part {
                    start,
                    end: length - 1,
                }
            }
        }
        // `a-b`, with b past the end meaning the end.
        (Some(start), Some(end)) if start <= end => {
            if start >= length {
                ByteRange::Unsatisfiable
            } else {
                ByteRange::Part {
                    start,
                    end: end.min(length - 1),
                }
            }
        }
        _ => ByteRange::Whole,
    }
}
// ANCHOR_END: parse_range

/// A decimal number of ASCII digits; one too large for `u64` saturates,
/// which makes it "past the end" rather than "malformed".
fn digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.bytes().fold(0u64, |total, b| {
        total.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    }))
}

/// The `Content-Type` for a file, from its extension (a small table; the
/// rest is `application/octet-stream`, which browsers download rather than
/// render).
///
/// ```
/// use std::path::Path;
/// use waitress::apps::content_type_for;
/// assert_eq!(content_type_for(Path::new("a/index.HTML")), "text/html; charset=utf-8");
/// assert_eq!(content_type_for(Path::new("photo.jpeg")), "image/jpeg");
/// assert_eq!(content_type_for(Path::new("Makefile")), "application/octet-stream");
/// ```
pub fn content_type_for(path: &Path) -> &'static str {
    let extension = path
        .extension()
        .and_then(OsStr::to_str)
        .unwrap_or("")
        .to_ascii_lowercase();
    match extension.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "txt" | "text" | "log" => "text/plain; charset=utf-8",
        "md" => "text/markdown; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "pdf" => "application/pdf",
        "wasm" => "application/wasm",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "mp3" => "audio/mpeg",
        "ogg" => "audio/ogg",
        "wav" => "audio/wav",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "tar" => "application/x-tar",
        _ => "application/octet-stream",
    }
}

/// `PATH_INFO` holds one character per decoded byte (latin-1); the file
/// system wants those bytes back.
fn os_str_from_latin1(segment: &str) -> Option<OsString> {
    let bytes = segment
        .chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect::<Option<Vec<u8>>>()?;
    Some(OsStr::from_bytes(&bytes).to_os_string())
}

/// Percent-encodes a latin-1 path for a `Location` header: everything but
/// unreserved characters, `/` and a few safe sub-delimiters.
fn percent_encode_path(path: &str) -> String {
    let mut encoded = String::with_capacity(path.len());
    for c in path.chars() {
        let byte = u32::from(c);
        let safe = c.is_ascii_alphanumeric() || "/-._~!$&'()*+,;=:@".contains(c);
        if safe {
            encoded.push(c);
        } else if byte <= 0xFF {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// HTTP dates have whole seconds: compare and send modification times so.
fn whole_seconds(time: SystemTime) -> SystemTime {
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    UNIX_EPOCH + Duration::from_secs(seconds)
}

/// A window `start..start+len` of a file, seekable within the window, so
/// that `wsgi.file_wrapper` sends exactly one range and knows its length.
struct FileSlice {
    file: File,
    start: u64,
    len: u64,
    /// Relative to `start`.
    position: u64,
}

impl Read for FileSlice {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.len.saturating_sub(self.position);
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let read = self.file.read(&mut buf[..want])?;
        self.position += read as u64;
        Ok(read)
    }
}

impl Seek for FileSlice {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(offset) => Some(offset),
            SeekFrom::End(delta) => self.len.checked_add_signed(delta),
            SeekFrom::Current(delta) => self.position.checked_add_signed(delta),
        };
        let target = target.ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "seek outside the file slice")
        })?;
        self.file
            .seek(SeekFrom::Start(self.start.saturating_add(target)))?;
        self.position = target;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slice_reports_its_own_length_to_the_file_wrapper() {
        let path = std::env::temp_dir().join(format!("waitress-slice-{}", std::process::id()));
        std::fs::write(&path, b"0123456789").unwrap();
        let mut file = File::open(&path).unwrap();
        file.seek(SeekFrom::Start(3)).unwrap();
        let slice = FileSlice {
            file,
            start: 3,
            len: 4,
            position: 0,
        };
        let body = Body::file(slice, 2);
        assert_eq!(body.content_length(), Some(4));
        let bytes: Vec<u8> = body.flat_map(Result::unwrap).collect();
        assert_eq!(bytes, b"3456");
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn ranges_follow_rfc_9110() {
        assert_eq!(parse_range("bytes=5-2", 10), ByteRange::Whole);
        assert_eq!(
            parse_range("bytes=0-999", 10),
            ByteRange::Part { start: 0, end: 9 }
        );
        assert_eq!(
            parse_range("bytes=-999", 10),
            ByteRange::Part { start: 0, end: 9 }
        );
        assert_eq!(parse_range("bytes=-0", 10), ByteRange::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-", 0), ByteRange::Unsatisfiable);
        assert_eq!(
            parse_range("bytes=99999999999999999999999-", 10),
            ByteRange::Unsatisfiable
        );
        assert_eq!(parse_range("bytes=x-1", 10), ByteRange::Whole);
        assert_eq!(parse_range("bytes", 10), ByteRange::Whole);
        assert_eq!(parse_range("bytes=-", 10), ByteRange::Whole);
        assert_eq!(
            parse_range(" Bytes = 2 - 3 ", 10),
            ByteRange::Part { start: 2, end: 3 }
        );
    }

    #[test]
    fn locations_are_percent_encoded() {
        assert_eq!(percent_encode_path("/a b/é/"), "/a%20b/%E9/");
        assert_eq!(percent_encode_path("/x?y#z"), "/x%3Fy%23z");
    }
}
