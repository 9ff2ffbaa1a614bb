//! Properties of the parser, chunked bodies included, checked on generated
//! input with proptest. Everything goes through the public `RequestParser`:
//! the body receivers and buffers behind it are internal.
//!
//! 1. Any partition of a valid request parses exactly like the whole.
//! 2. Arbitrary bytes never panic, always end in need-more, complete or
//!    error, and never make the parser buffer more than its limits.
//! 3. Chunked encode → decode round-trips any body and chunk sizes.
//! 4. A generated request, serialised and parsed back, gives the same
//!    method, target, headers and body.
//! 5. Chunk extensions with any BWS around `;` and `=` decode to the same
//!    body as no extensions at all.

use std::io::Read;

use proptest::prelude::*;
use waitress::http::parser::{Limits, Request, RequestParser, Status, Version};

/// A request as a test generates it, before serialisation.
#[derive(Clone, Debug)]
struct Spec {
    method: String,
    target: String,
    version: Version,
    /// Field names and values as sent (no Host, no framing fields).
    fields: Vec<(String, String)>,
    body: Vec<u8>,
    /// `Some(chunk sizes)` for a chunked body.
    chunks: Option<Vec<usize>>,
}

impl Spec {
    fn serialise(&self) -> Vec<u8> {
        let mut wire = format!("{} {} {}\r\n", self.method, self.target, self.version);
        if self.version == Version::Http11 {
            wire.push_str("Host: example.com:8080\r\n");
        }
        for (name, value) in &self.fields {
            wire.push_str(&format!("{name}:{value}\r\n"));
        }
        let mut wire = wire.into_bytes();
        match &self.chunks {
            Some(sizes) => {
                wire.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                wire.extend_from_slice(&encode_chunked(&self.body, sizes, true));
            }
            None => {
                if !self.body.is_empty() {
                    wire.extend_from_slice(
                        format!("Content-Length: {}\r\n", self.body.len()).as_bytes(),
                    );
                }
                wire.extend_from_slice(b"\r\n");
                wire.extend_from_slice(&self.body);
            }
        }
        wire
    }

    /// The CGI-keyed headers the parser should produce.
    fn expected_headers(&self) -> Vec<(String, String)> {
        let mut expected: Vec<(String, String)> = Vec::new();
        // An absolute-form target's authority is the Host (RFC 9112 §3.2.2),
        // sent or not.
        if let Some(authority) = self.target.strip_prefix("http://") {
            let end = authority.find('/').unwrap_or(authority.len());
            expected.push(("HOST".into(), authority[..end].into()));
        } else if self.version == Version::Http11 {
            expected.push(("HOST".into(), "example.com:8080".into()));
        }
        for (name, value) in &self.fields {
            let cgi = name.to_ascii_uppercase().replace('-', "_");
            let value = value.trim_matches([' ', '\t']).to_string();
            match expected.iter_mut().find(|(n, _)| *n == cgi) {
                Some((_, existing)) => {
                    existing.push_str(", ");
                    existing.push_str(&value);
                }
                None => expected.push((cgi, value)),
            }
        }
        if !self.body.is_empty() || self.chunks.is_some() {
            expected.push(("CONTENT_LENGTH".into(), self.body.len().to_string()));
        }
        expected
    }
}

/// The head of a chunked POST; the chunked body follows it.
const CHUNKED_HEAD: &[u8] =
    b"POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";

/// Limits under which a body above 256 bytes is spooled to a file.
fn spooling() -> Limits {
    Limits {
        inbuf_overflow: 256,
        ..Limits::default()
    }
}

/// Parses `CHUNKED_HEAD` followed by `body_wire` (a chunked body and
/// whatever comes after it), fed to the parser in pieces of `step` bytes.
/// Returns how many bytes of `body_wire` were consumed and the request;
/// `None` when the parser refuses it or wants more.
fn parse_chunked(body_wire: &[u8], step: usize) -> Option<(usize, Request)> {
    let wire = [CHUNKED_HEAD, body_wire].concat();
    let cuts: Vec<usize> = (step..wire.len()).step_by(step).collect();
    let (consumed, _, request) = feed_pieces(&wire, &cuts, spooling());
    let request = request?;
    Some((consumed - CHUNKED_HEAD.len(), request))
}

/// Decodes a whole chunked body fed in pieces of `step` bytes; `None` when
/// the parser refuses it or wants more.
fn decode_chunked(body_wire: &[u8], step: usize) -> Option<Vec<u8>> {
    let (_, mut request) = parse_chunked(body_wire, step)?;
    let mut decoded = Vec::new();
    request.body.read_to_end(&mut decoded).ok()?;
    Some(decoded)
}

/// Chunk extensions with BWS (SP/HTAB, RFC 9110 §5.6.3) wherever RFC 9112
/// §7.1.1 allows it: before `;`, after `;`, and around `=`.
fn bws_extension() -> impl Strategy<Value = String> {
    let bws = || "[ \t]{0,3}";
    let value = prop_oneof![
        Just(String::new()),
        token().prop_map(|token| format!("={token}")),
        "[ !#-\\[\\]-~]{0,6}".prop_map(|text| format!("=\"{text}\"")),
    ];
    prop::collection::vec((bws(), bws(), token(), bws(), bws(), value), 0..3).prop_map(|parts| {
        parts
            .into_iter()
            .map(|(before, after, name, before_eq, after_eq, value)| {
                match value.strip_prefix('=') {
                    Some(value) => format!("{before};{after}{name}{before_eq}={after_eq}{value}"),
                    None => format!("{before};{after}{name}"),
                }
            })
            .collect()
    })
}

/// Encodes `body` in chunks of the given sizes (cycled; 0 is skipped), with
/// an extension on some chunks and a trailer when `decorate`.
fn encode_chunked(body: &[u8], sizes: &[usize], decorate: bool) -> Vec<u8> {
    let mut wire = Vec::new();
    let mut rest = body;
    let mut index = 0;
    while !rest.is_empty() {
        let size = sizes
            .get(index % sizes.len().max(1))
            .copied()
            .unwrap_or(1)
            .max(1)
            .min(rest.len());
        let extension = if decorate && index % 3 == 1 {
            ";name=\"v a\";x"
        } else {
            ""
        };
        wire.extend_from_slice(format!("{size:X}{extension}\r\n").as_bytes());
        wire.extend_from_slice(&rest[..size]);
        wire.extend_from_slice(b"\r\n");
        rest = &rest[size..];
        index += 1;
    }
    wire.extend_from_slice(if decorate {
        b"0\r\nX-Trailer: t\r\n\r\n"
    } else {
        b"0\r\n\r\n"
    });
    wire
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+.^`|~-]{1,8}"
}

fn field_name() -> impl Strategy<Value = String> {
    // A small pool so that repeats (joined with ", ") happen often; `X-` and
    // no `_` keeps clear of the fields with special meaning.
    prop_oneof![
        Just("X-A".to_string()),
        Just("x-a".to_string()),
        Just("Accept".to_string()),
        "X-[A-Za-z0-9!#$%&'*+.^`|~-]{1,10}",
    ]
}

fn field_value() -> impl Strategy<Value = String> {
    // VCHAR and SP/HTAB, with optional whitespace around.
    "[ \t]{0,2}([!-~]([ !-~\t]{0,20}[!-~])?)?[ \t]{0,2}"
}

fn target() -> impl Strategy<Value = String> {
    prop_oneof![
        "/[A-Za-z0-9%._~/-]{0,30}(\\?[A-Za-z0-9%=&+]{0,20})?",
        "http://[a-z]{1,10}(:[0-9]{1,4})?/[a-z0-9/]{0,10}",
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        prop_oneof![Just("GET".to_string()), Just("POST".to_string()), token()],
        target(),
        prop_oneof![Just(Version::Http10), Just(Version::Http11)],
        prop::collection::vec((field_name(), field_value()), 0..8),
        prop::collection::vec(any::<u8>(), 0..300),
        prop::option::of(prop::collection::vec(1usize..70, 1..5)),
    )
        .prop_map(|(method, target, version, fields, body, chunks)| Spec {
            method: if method == "CONNECT" {
                "GET".into()
            } else {
                method
            },
            target,
            version,
            fields,
            body,
            // chunked needs HTTP/1.1
            chunks: chunks.filter(|_| version == Version::Http11),
        })
}

/// Feeds `wire` in the pieces that `cuts` (sorted offsets) delimit; returns
/// the consumed count and a description of the outcome.
fn feed_pieces(wire: &[u8], cuts: &[usize], limits: Limits) -> (usize, String, Option<Request>) {
    let mut parser = RequestParser::new(limits);
    let mut consumed = 0;
    let mut boundaries: Vec<usize> = cuts.iter().map(|&c| c.min(wire.len())).collect();
    boundaries.push(wire.len());
    boundaries.sort_unstable();
    let mut next = 0;
    loop {
        let end = boundaries[next].max(consumed);
        let received = parser.received(&wire[consumed..end]);
        assert!(received.consumed <= end - consumed);
        consumed += received.consumed;
        assert!(parser.buffered_capacity() <= limits.max_header_size + limits.inbuf_overflow);
        match received.status {
            Status::ExpectContinue => {}
            Status::NeedMore if next + 1 < boundaries.len() => next += 1,
            Status::NeedMore => return (consumed, "need more".into(), None),
            Status::Complete(request) => return (consumed, "complete".into(), Some(request)),
            Status::Error { error, version } => {
                return (consumed, format!("error {error:?} {version:?}"), None);
            }
        }
    }
}

fn describe(request: &mut Request) -> String {
    let mut body = Vec::new();
    request.body.read_to_end(&mut body).unwrap();
    format!(
        "{} {} {:?} {:?} {} {} {:?}",
        request.method(),
        request.target(),
        request.version,
        request.headers().collect::<Vec<_>>(),
        request.close_after,
        request.expect_continue,
        body
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// (1) Any partition of a valid request parses exactly like the whole.
    #[test]
    fn any_partition_parses_like_the_whole(
        spec in spec(),
        cuts in prop::collection::vec(0usize..2000, 0..12),
    ) {
        let wire = spec.serialise();
        let limits = Limits { inbuf_overflow: 64, ..Limits::default() };
        let (whole_consumed, whole, whole_request) = feed_pieces(&wire, &[], limits);
        let (split_consumed, split, split_request) = feed_pieces(&wire, &cuts, limits);
        prop_assert_eq!(&whole, "complete");
        prop_assert_eq!(whole, split);
        prop_assert_eq!(whole_consumed, wire.len());
        prop_assert_eq!(split_consumed, wire.len());
        let (mut a, mut b) = (whole_request.unwrap(), split_request.unwrap());
        prop_assert_eq!(describe(&mut a), describe(&mut b));
    }

    /// (4) Serialised and parsed back: same method, target, headers, body.
    #[test]
    fn serialised_request_parses_back(spec in spec()) {
        let wire = spec.serialise();
        let (_, outcome, request) = feed_pieces(&wire, &[], Limits::default());
        prop_assert_eq!(outcome, "complete");
        let mut request = request.unwrap();
        prop_assert_eq!(request.method(), spec.method.as_str());
        prop_assert_eq!(request.target(), spec.target.as_str());
        prop_assert_eq!(request.version, spec.version);
        let headers: Vec<(String, String)> =
            request.headers().map(|(n, v)| (n.to_string(), v.to_string())).collect();
        prop_assert_eq!(&headers, &spec.expected_headers());
        let mut body = Vec::new();
        request.body.read_to_end(&mut body).unwrap();
        prop_assert_eq!(body, spec.body);
        prop_assert_eq!(request.close_after, spec.version == Version::Http10);
    }

    /// (2) Arbitrary bytes, alone or after a plausible start, in arbitrary
    /// pieces and with small limits: no panic, a defined outcome, memory
    /// within the limits (checked inside `feed_pieces`).
    #[test]
    fn arbitrary_bytes_never_panic_and_stay_within_limits(
        prefix in prop_oneof![
            Just(&b""[..]),
            Just(&b"GET / HTTP/1.1\r\nHost: h\r\n"[..]),
            Just(&b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"[..]),
            Just(&b"POST / HTTP/1.0\r\nContent-Length: 40\r\n\r\n"[..]),
        ],
        noise in prop::collection::vec(
            prop_oneof![any::<u8>(), Just(b'\r'), Just(b'\n'), Just(b':'), Just(b' '), Just(b'0')],
            0..600,
        ),
        cuts in prop::collection::vec(0usize..700, 0..10),
        header_limit in 1usize..300,
        body_limit in 0u64..200,
    ) {
        let wire = [prefix, &noise[..]].concat();
        let limits = Limits { max_header_size: header_limit, max_body_size: body_limit, inbuf_overflow: 32 };
        let (consumed, _, _) = feed_pieces(&wire, &cuts, limits);
        prop_assert!(consumed <= wire.len());
    }

    /// (3) Chunked encode → decode round-trips any body and chunk sizes, in
    /// any split, and leaves the bytes after the body to the next request.
    #[test]
    fn chunked_round_trips(
        body in prop::collection::vec(any::<u8>(), 0..2000),
        sizes in prop::collection::vec(1usize..600, 1..6),
        decorate in any::<bool>(),
        step in 1usize..64,
    ) {
        let mut wire = encode_chunked(&body, &sizes, decorate);
        wire.extend_from_slice(b"NEXT");
        let parsed = parse_chunked(&wire, step);
        prop_assert!(parsed.is_some(), "refused or incomplete");
        let (consumed, mut request) = parsed.unwrap();
        prop_assert_eq!(&wire[consumed..], b"NEXT");
        prop_assert_eq!(request.body.len(), body.len() as u64);
        let content_length = body.len().to_string();
        prop_assert_eq!(request.header("CONTENT_LENGTH"), Some(content_length.as_str()));
        prop_assert_eq!(request.body.is_file(), body.len() > 256);
        let mut decoded = Vec::new();
        request.body.read_to_end(&mut decoded).unwrap();
        prop_assert_eq!(decoded, body);
    }

    /// (5) BWS around `;` and `=` changes nothing: the extensions are
    /// ignored and the body decodes as if they were not there.
    #[test]
    fn chunk_extensions_with_any_bws_decode_the_same(
        body in prop::collection::vec(any::<u8>(), 1..200),
        size in 1usize..64,
        extensions in prop::collection::vec(bws_extension(), 1..8),
        step in 1usize..16,
    ) {
        // Every size line, the last one's too, gets an extension.
        let mut wire = Vec::new();
        let pieces = body.chunks(size).map(Some).chain([None]);
        for (piece, extension) in pieces.zip(extensions.iter().cycle()) {
            let len = piece.map_or(0, <[u8]>::len);
            wire.extend_from_slice(format!("{len:X}{extension}\r\n").as_bytes());
            wire.extend_from_slice(piece.unwrap_or_default());
            wire.extend_from_slice(b"\r\n");
        }
        prop_assert_eq!(decode_chunked(&wire, step), Some(body));
    }
}
