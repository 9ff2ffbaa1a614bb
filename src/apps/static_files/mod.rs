//! The static-file application, [`StaticFiles`]: which paths it serves and
//! which it refuses (the table is in the [`apps`](crate::apps) docs), the
//! conditional requests (`If-None-Match`, `If-Modified-Since`, `If-Range`),
//! `Cache-Control`, and the content types.
//!
//! A folder because the `Range` header and the file window that serves one
//! range are a concern of their own ([`ranges`]), and so are the `ETag` and
//! reading `If-None-Match` ([`validators`]); everything about mapping a
//! URL path onto the file system, the part that must never go wrong, is here.
#![forbid(unsafe_code)]

mod ranges;
mod validators;

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::gateway::{AppResult, Application, Body, Environ, StartResponse, headers};
use crate::http::date::{format_http_date, parse_http_date};

use ranges::FileSlice;
pub use ranges::{ByteRange, parse_range};
use validators::{none_match, weak_etag};

/// Serves the files under one directory (`waitress-serve static:DIR`).
///
/// The rules are in the [module documentation](crate::apps). The root is resolved
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
    cache_control: Option<String>,
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
            cache_control: None,
        })
    }

    // ANCHOR: cache_control
    /// Sends `Cache-Control: VALUE` with every file (and every `304`).
    ///
    /// There is none by default, which leaves the policy to whoever knows the
    /// files: without the header a browser may reuse a file without asking
    /// for a while (heuristic freshness, commonly a tenth of the time since
    /// `Last-Modified`), so a device UI that changes with a firmware update
    /// wants `no-cache` (always revalidate: a `304` thanks to the `ETag`), and
    /// files whose names change with their content want
    /// `max-age=31536000, immutable`. An empty value sends none again; a value
    /// with a control character (a line break would split the header) or a
    /// non-ASCII one is refused.
    ///
    /// ```
    /// use waitress::apps::StaticFiles;
    /// use waitress::gateway::testing::TestRequest;
    ///
    /// let root = std::env::temp_dir().join(format!("waitress-cc-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&root)?;
    /// std::fs::write(root.join("app.js"), "ok();")?;
    /// let files = StaticFiles::new(&root)?.cache_control("no-cache")?;
    /// let response = TestRequest::get("/app.js").call(&files).unwrap();
    /// assert_eq!(response.header("Cache-Control"), Some("no-cache"));
    /// assert!(StaticFiles::new(&root)?.cache_control("no-cache\r\nX: y").is_err());
    /// # std::fs::remove_dir_all(&root)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn cache_control(mut self, value: &str) -> io::Result<StaticFiles> {
        let value = value.trim_matches([' ', '\t']);
        if !value
            .bytes()
            .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("Cache-Control {value:?}: only printable ASCII is allowed"),
            ));
        }
        self.cache_control = (!value.is_empty()).then(|| value.to_string());
        Ok(self)
    }
    // ANCHOR_END: cache_control

    /// The directory served, with symlinks resolved.
    ///
    /// ```
    /// let files = waitress::apps::StaticFiles::new("/").unwrap();
    /// assert_eq!(files.root(), std::path::Path::new("/"));
    /// ```
    pub fn root(&self) -> &Path {
        &self.root
    }

    // ANCHOR: resolve_checks
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
        // ANCHOR_END: resolve_checks
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
        // The validators and Cache-Control: kept in a 304 (RFC 9110 §15.4.5).
        let etag = modified.map(|time| weak_etag(length, seconds_since_epoch(time)));
        if let Some(etag) = &etag {
            response_headers.push(("ETag".to_string(), etag.clone()));
        }
        if let Some(modified) = modified {
            response_headers.push(("Last-Modified".to_string(), format_http_date(modified)));
        }
        if let Some(cache_control) = &self.cache_control {
            response_headers.push(("Cache-Control".to_string(), cache_control.clone()));
        }
        // ANCHOR: preconditions
        // RFC 9110 §13.2.2: If-None-Match first; when it is present,
        // If-Modified-Since is not looked at. Both before Range, so a 304
        // wins over a 206.
        let not_modified = match (environ.get("HTTP_IF_NONE_MATCH"), &etag) {
            (Some(tags), Some(etag)) => none_match(tags, etag),
            (Some(tags), None) => tags.trim() == "*",
            (None, _) => match (modified, environ.get("HTTP_IF_MODIFIED_SINCE")) {
                (Some(modified), Some(since)) => {
                    parse_http_date(since).is_some_and(|since| modified <= since)
                }
                _ => false,
            },
        };
        if not_modified {
            response_headers.retain(|(name, _)| {
                matches!(name.as_str(), "ETag" | "Last-Modified" | "Cache-Control")
            });
            start_response.start_response("304 Not Modified", response_headers, None)?;
            return Ok(Body::empty());
        }
        let range_applies = match environ.get("HTTP_IF_RANGE") {
            None => true,
            // Only a date can match: If-Range compares entity tags strongly
            // (RFC 9110 §13.1.5), and a weak one, like ours, never matches.
            Some(date) => modified.is_some() && parse_http_date(date) == modified,
        };
        // ANCHOR_END: preconditions
        let range = match environ.get("HTTP_RANGE") {
            Some(header) if range_applies => parse_range(header, length),
            _ => ByteRange::Whole,
        };
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
    UNIX_EPOCH + Duration::from_secs(seconds_since_epoch(time))
}

/// Whole seconds since 1970 (0 for a time before it).
fn seconds_since_epoch(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_percent_encoded() {
        assert_eq!(percent_encode_path("/a b/é/"), "/a%20b/%E9/");
        assert_eq!(percent_encode_path("/x?y#z"), "/x%3Fy%23z");
    }
}
