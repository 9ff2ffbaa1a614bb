//! A strict, incremental parser of request heads (course stage 3).
//!
//! `parse_head` is given every byte received so far and answers `Partial`
//! (call again with more bytes), the parsed head and its length, or the
//! error to answer with. It never blocks and never reads a socket: the
//! caller decides how bytes arrive (a blocking read in stages 3 and 4, a
//! poll loop in stage 5).

/// The most bytes a request head may take, request line included.
pub const MAX_HEAD: usize = 8 * 1024;

// ANCHOR: types
/// The outcome of a parse that did not fail.
pub enum Status<T> {
    /// Done: the value (and, for a head, how many bytes it took).
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
    /// The first value of the header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut fields = self.headers.iter();
        let found = fields.find(|(n, _)| n.eq_ignore_ascii_case(name));
        found.map(|(_, value)| value.as_str())
    }

    /// Every value of the header `name` (lower case), in order.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let fields = self.headers.iter().filter(move |(n, _)| n == name);
        fields.map(|(_, value)| value.as_str())
    }

    /// Whether the connection stays open after this request: HTTP/1.1
    /// unless `Connection: close`; HTTP/1.0 never (see the chapter).
    pub fn keep_alive(&self) -> bool {
        let mut options = self.values("connection").flat_map(|v| v.split(','));
        self.minor_version >= 1 && !options.any(|o| o.trim().eq_ignore_ascii_case("close"))
    }
}
// ANCHOR_END: request

// ANCHOR: head_lines
/// Parses the head at the start of `buf` (a request line, header lines and
/// an empty line, each ending in CRLF).
pub fn parse_head(buf: &[u8]) -> Result<Status<(Request, usize)>, HttpError> {
    let mut lines = Vec::new();
    let mut start = 0;
    loop {
        let Some(found) = buf[start..].iter().position(|&b| b == b'\n') else {
            // No end of line yet: wait for more, unless it is already too long.
            return match buf.len() > MAX_HEAD {
                true => Err(HEAD_TOO_LARGE),
                false => Ok(Status::Partial),
            };
        };
        let end = start + found; // the LF
        if end >= MAX_HEAD {
            return Err(HEAD_TOO_LARGE);
        }
        // Every line ends in CRLF: a bare LF is refused (CVE-2019-16785).
        let line = buf[start..end].strip_suffix(b"\r").ok_or(BAD_REQUEST)?;
        start = end + 1;
        match (line.is_empty(), lines.is_empty()) {
            (true, true) => continue, // RFC 9112 §2.2: ignore CRLFs before a request
            (true, false) => break,   // the empty line that ends the head
            (false, _) => lines.push(line),
        }
    }
    // ANCHOR_END: head_lines
    // ANCHOR: head_request
    let (method, target, minor_version) = request_line(lines[0])?;
    let headers = lines[1..].iter().map(|line| parse_field(line));
    let headers = headers.collect::<Result<Vec<_>, _>>()?;
    let request = Request {
        method,
        target,
        minor_version,
        headers,
    };
    // RFC 9112 §3.2: an HTTP/1.1 request has exactly one Host.
    if minor_version >= 1 && request.values("host").count() != 1 {
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
fn request_line(line: &[u8]) -> Result<(String, String, u8), HttpError> {
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(BAD_REQUEST);
    };
    let target_ok = !target.is_empty() && target.iter().all(u8::is_ascii_graphic);
    let minor = match version {
        [b'H', b'T', b'T', b'P', b'/', b'1', b'.', minor] if minor.is_ascii_digit() => minor - b'0',
        _ => return Err(BAD_REQUEST),
    };
    if !is_token(method) || !target_ok {
        return Err(BAD_REQUEST);
    }
    let text = |bytes| String::from_utf8_lossy(bytes).into_owned();
    Ok((text(method), text(target), minor))
}

// ANCHOR: parse_field
/// `name: value`: a token, a colon at once, the value without the
/// whitespace around it. Stage 4 reads chunked trailers with it too.
pub fn parse_field(line: &[u8]) -> Result<(String, String), HttpError> {
    // A line that starts with whitespace continues the previous one
    // (obs-fold): RFC 9112 §5.2 lets a server refuse it, and we do.
    let colon = line.iter().position(|&b| b == b':').ok_or(BAD_REQUEST)?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    // `Host : x` has a space in its name, so it is not a token: RFC 9112
    // §5.1 requires a 400, as proxies disagree on what such a name means.
    if !is_token(name) {
        return Err(BAD_REQUEST);
    }
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let first = value.iter().position(|b| !is_ows(b)).unwrap_or(value.len());
    let last = value
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(first, |i| i + 1);
    let value = &value[first..last];
    // Control characters (NUL, a lone CR, ...) are never part of a value.
    if value.iter().any(|&b| b.is_ascii_control() && b != b'\t') {
        return Err(BAD_REQUEST);
    }
    let name = String::from_utf8_lossy(name).to_ascii_lowercase();
    Ok((name, String::from_utf8_lossy(value).into_owned()))
}
// ANCHOR_END: parse_field
