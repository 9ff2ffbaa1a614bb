//! A strict, incremental parser of request heads: it is given the bytes
//! received so far and never reads a socket (course stage 3).

/// The most bytes a request head may take, request line included.
pub const MAX_HEAD: usize = 8 * 1024;

// ANCHOR: types
/// The outcome of a parse that did not fail.
pub enum Status<T> {
    Complete(T),
    /// The bytes so far are a valid beginning: call again with more.
    Partial,
}

/// A request the server refuses, with the status to answer it with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpError {
    pub status: u16,
    pub reason: &'static str,
}

pub const BAD_REQUEST: HttpError = HttpError::new(400, "Bad Request");
pub const TOO_LARGE: HttpError = HttpError::new(413, "Content Too Large");
pub const HEAD_TOO_LARGE: HttpError = HttpError::new(431, "Request Header Fields Too Large");
pub const NOT_IMPLEMENTED: HttpError = HttpError::new(501, "Not Implemented");

/// A parsed request head. Header names are lower-cased.
#[derive(Debug)]
pub struct Request {
    pub method: String,
    pub target: String,
    pub minor_version: u8,
    pub headers: Vec<(String, String)>,
}
// ANCHOR_END: types

impl HttpError {
    pub const fn new(status: u16, reason: &'static str) -> HttpError {
        HttpError { status, reason }
    }
}

// ANCHOR: request
impl Request {
    /// Every value of the header `name` (lower case), in order.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let fields = self.headers.iter().filter(move |(n, _)| n == name);
        fields.map(|(_, value)| value.as_str())
    }

    /// The first value of the header `name` (lower case).
    pub fn header<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        self.values(name).next()
    }

    /// HTTP/1.1 keeps the connection unless `Connection: close`; we close
    /// HTTP/1.0 connections always.
    pub fn keep_alive(&self) -> bool {
        let mut options = self.values("connection").flat_map(|v| v.split(','));
        self.minor_version >= 1 && !options.any(|o| o.trim().eq_ignore_ascii_case("close"))
    }
}
// ANCHOR_END: request

// ANCHOR: head_lines
/// Parses the head at the start of `buf`: a request line, header lines and
/// an empty line, each ending in CRLF, in at most `MAX_HEAD` bytes.
pub fn parse_head(buf: &[u8]) -> Result<Status<(Request, usize)>, HttpError> {
    let head = &buf[..buf.len().min(MAX_HEAD)];
    let mut lines = Vec::new();
    let mut start = 0;
    loop {
        let Some(found) = head[start..].iter().position(|&b| b == b'\n') else {
            return match buf.len() > MAX_HEAD {
                true => Err(HEAD_TOO_LARGE), // and still no end of the head
                false => Ok(Status::Partial),
            };
        };
        let end = start + found; // the LF
        // A bare LF is refused (CVE-2019-16785).
        let line = head[start..end].strip_suffix(b"\r").ok_or(BAD_REQUEST)?;
        start = end + 1;
        match (line.is_empty(), lines.is_empty()) {
            (true, true) => continue, // RFC 9112 §2.2: ignore CRLFs before a request
            (true, false) => break,   // the empty line that ends the head
            (false, _) => lines.push(line),
        }
    }
    // ANCHOR_END: head_lines
    // ANCHOR: head_request
    let mut request = request_line(lines[0])?;
    for line in &lines[1..] {
        request.headers.push(parse_field(line)?);
    }
    // RFC 9112 §3.2: an HTTP/1.1 request has exactly one Host.
    if request.minor_version >= 1 && request.values("host").count() != 1 {
        return Err(BAD_REQUEST);
    }
    Ok(Status::Complete((request, start)))
}
// ANCHOR_END: head_request

/// RFC 9110 §5.6.2: a token is one or more of these characters.
pub fn is_token(text: &[u8]) -> bool {
    let is_tchar = |b: &u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b);
    !text.is_empty() && text.iter().all(is_tchar)
}

/// `METHOD SP TARGET SP HTTP/1.x`, single spaces, as in stage 1.
fn request_line(line: &[u8]) -> Result<Request, HttpError> {
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(BAD_REQUEST);
    };
    let minor_version = match version.strip_prefix(b"HTTP/1.") {
        Some(&[minor]) if minor.is_ascii_digit() => minor - b'0',
        _ => return Err(BAD_REQUEST),
    };
    if !is_token(method) || target.is_empty() || !target.iter().all(u8::is_ascii_graphic) {
        return Err(BAD_REQUEST);
    }
    let text = |bytes| String::from_utf8_lossy(bytes).into_owned();
    let (method, target, headers) = (text(method), text(target), Vec::new());
    Ok(Request {
        method,
        target,
        minor_version,
        headers,
    })
}

// ANCHOR: parse_field
/// `name: value`: a token, a colon at once, the value without the
/// whitespace around it. Stage 4 reads chunked trailers with it too.
pub fn parse_field(line: &[u8]) -> Result<(String, String), HttpError> {
    // A line that starts with whitespace (obs-fold) has no token before
    // its colon, and neither has `Host : x`: both are a 400 (RFC 9112 §5).
    let colon = line.iter().position(|&b| b == b':').ok_or(BAD_REQUEST)?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    if !is_token(name) {
        return Err(BAD_REQUEST);
    }
    // Only SP and HTAB are trimmed, and no control character may remain.
    let is_ows = |b: &&u8| **b == b' ' || **b == b'\t';
    let start = value.iter().take_while(is_ows).count();
    let end = value.len() - value.iter().rev().take_while(is_ows).count();
    let value = &value[start..end.max(start)];
    if value.iter().any(|&b| b.is_ascii_control() && b != b'\t') {
        return Err(BAD_REQUEST);
    }
    let name = String::from_utf8_lossy(name).to_ascii_lowercase();
    Ok((name, String::from_utf8_lossy(value).into_owned()))
}
// ANCHOR_END: parse_field
