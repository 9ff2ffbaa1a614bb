//! Query strings and `application/x-www-form-urlencoded` bodies, decoded to
//! an ordered list of `(name, value)` pairs.
//!
//! The reference is the WHATWG URL Standard's
//! [`application/x-www-form-urlencoded` parser](https://url.spec.whatwg.org/#urlencoded-parsing),
//! the rule browsers use to build what they send:
//!
//! * the input splits on `&`; an empty piece (`a=1&&b=2`, a trailing `&`) is
//!   skipped;
//! * a piece splits at its first `=`; a piece without one (`flag`) is the
//!   name with an empty value;
//! * in name and value `+` is a space, then `%XX` (two hex digits, either
//!   case) is the byte `XX`;
//! * **an invalid escape stays literal**: `%zz`, a lone `%` and `%4` at the
//!   end are kept as they are, never an error;
//! * the bytes are read as UTF-8, and **an invalid UTF-8 sequence becomes
//!   U+FFFD** (`%FF` decodes to `"\u{fffd}"`), never an error.
//!
//! So decoding never fails and never panics, whatever the client sends.
//! Repeated names are kept, in order: `tag=a&tag=b` is two pairs, and
//! [`first_value`] finds the first.
#![forbid(unsafe_code)]

use std::fmt;
use std::io::{self, Read};

use super::Environ;

/// Decodes `application/x-www-form-urlencoded` bytes (a query string or a
/// form body) to ordered `(name, value)` pairs, by the WHATWG rules above.
///
/// ```
/// use waitress::gateway::parse_urlencoded;
///
/// let pairs = parse_urlencoded(b"a=1&b=x+y&&a=%C3%A9&flag&bad=%zz%");
/// assert_eq!(pairs, [
///     ("a".to_string(), "1".to_string()),
///     ("b".to_string(), "x y".to_string()),
///     ("a".to_string(), "é".to_string()),
///     ("flag".to_string(), String::new()),
///     ("bad".to_string(), "%zz%".to_string()),
/// ]);
/// // Invalid UTF-8 becomes U+FFFD.
/// assert_eq!(parse_urlencoded(b"x=%FF")[0].1, "\u{fffd}");
/// ```
// ANCHOR: decode_fns
pub fn parse_urlencoded(input: &[u8]) -> Vec<(String, String)> {
    input
        .split(|&byte| byte == b'&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (name, value) = match piece.iter().position(|&byte| byte == b'=') {
                Some(equals) => (&piece[..equals], &piece[equals + 1..]),
                None => (piece, &[][..]),
            };
            (decode_component(name), decode_component(value))
        })
        .collect()
}

/// `+` to space, then `%XX` to a byte (an invalid escape stays literal),
/// then UTF-8 with U+FFFD for invalid sequences.
fn decode_component(raw: &[u8]) -> String {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&byte) = raw.get(i) {
        let escape = match (byte, raw.get(i + 1), raw.get(i + 2)) {
            (b'%', Some(&high), Some(&low)) => hex_value(high).zip(hex_value(low)),
            _ => None,
        };
        match escape {
            Some((high, low)) => {
                bytes.push(high << 4 | low);
                i += 3;
            }
            None => {
                bytes.push(if byte == b'+' { b' ' } else { byte });
                i += 1;
            }
        }
    }
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(invalid) => String::from_utf8_lossy(invalid.as_bytes()).into_owned(),
    }
}
// ANCHOR_END: decode_fns

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// The bytes an environ string stands for: PEP 3333 strings carry one byte
/// per character U+0000–U+00FF. A character above U+00FF (which only an
/// application or middleware can put there) counts as its UTF-8 bytes.
pub(crate) fn environ_bytes(text: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(text.len());
    for c in text.chars() {
        match u8::try_from(u32::from(c)) {
            Ok(byte) => bytes.push(byte),
            Err(_) => bytes.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    bytes
}

/// Decodes a query string as it is in the environ (`QUERY_STRING`, whose
/// characters are the request's bytes, PEP 3333's "bytes-as-latin-1"):
/// the characters go back to bytes, then [`parse_urlencoded`] decodes them.
///
/// ```
/// use waitress::gateway::parse_query;
///
/// // `?q=caf%C3%A9` and `?q=café` sent raw (UTF-8 bytes, which the environ
/// // holds as the two characters U+00C3 U+00A9) decode alike.
/// assert_eq!(parse_query("q=caf%C3%A9"), [("q".to_string(), "café".to_string())]);
/// assert_eq!(parse_query("q=caf\u{c3}\u{a9}"), [("q".to_string(), "café".to_string())]);
/// ```
pub fn parse_query(query_string: &str) -> Vec<(String, String)> {
    parse_urlencoded(&environ_bytes(query_string))
}

// ANCHOR: query_pairs
/// The request's query string, decoded: [`parse_query`] of `QUERY_STRING`
/// (no pairs when the key is absent).
///
/// ```
/// use waitress::gateway::{query_pairs, first_value};
/// use waitress::gateway::testing::TestRequest;
/// use waitress::logging::Logger;
///
/// let environ = TestRequest::get("/search?q=rust+http&page=2").environ(Logger::default());
/// let query = query_pairs(&environ);
/// assert_eq!(first_value(&query, "q"), Some("rust http"));
/// assert_eq!(first_value(&query, "page"), Some("2"));
/// ```
pub fn query_pairs(environ: &Environ) -> Vec<(String, String)> {
    parse_query(environ.get("QUERY_STRING").unwrap_or(""))
}
// ANCHOR_END: query_pairs

/// The value of the first pair named `name`, if any.
///
/// ```
/// use waitress::gateway::{first_value, parse_query};
/// let pairs = parse_query("tag=a&tag=b");
/// assert_eq!(first_value(&pairs, "tag"), Some("a"));
/// assert_eq!(first_value(&pairs, "none"), None);
/// ```
pub fn first_value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// The media type [`read_form`] accepts.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// Why [`read_form`] refused a request body.
///
/// Each error names the response that fits it ([`FormError::status`]), so
/// an application can answer with it:
///
/// ```
/// use waitress::gateway::FormError;
/// assert_eq!(FormError::TooLarge { limit: 10 }.status(), "413 Content Too Large");
/// assert_eq!(
///     FormError::TooLarge { limit: 10 }.to_string(),
///     "the form body is larger than 10 bytes"
/// );
/// ```
#[derive(Debug)]
pub enum FormError {
    /// The body is longer than the limit given to [`read_form`]; nothing
    /// past `limit + 1` bytes was read.
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The `Content-Type` is not `application/x-www-form-urlencoded`
    /// (`multipart/form-data` is not decoded here); `None` when absent.
    UnsupportedContentType {
        /// The `Content-Type` the request had, if any.
        found: Option<String>,
    },
    /// Reading `wsgi.input` failed.
    Io(io::Error),
}

impl FormError {
    /// The status line that answers this error: `413 Content Too Large`,
    /// `415 Unsupported Media Type` or `400 Bad Request`.
    pub fn status(&self) -> &'static str {
        match self {
            FormError::TooLarge { .. } => "413 Content Too Large",
            FormError::UnsupportedContentType { .. } => "415 Unsupported Media Type",
            FormError::Io(_) => "400 Bad Request",
        }
    }
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormError::TooLarge { limit } => {
                write!(f, "the form body is larger than {limit} bytes")
            }
            FormError::UnsupportedContentType { found: Some(found) } => {
                write!(
                    f,
                    "a form needs Content-Type {FORM_CONTENT_TYPE}, not {found:?}"
                )
            }
            FormError::UnsupportedContentType { found: None } => {
                write!(
                    f,
                    "a form needs Content-Type {FORM_CONTENT_TYPE}, and it is missing"
                )
            }
            FormError::Io(error) => write!(f, "reading the form body failed: {error}"),
        }
    }
}

impl std::error::Error for FormError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FormError::Io(error) => Some(error),
            _ => None,
        }
    }
}

impl From<io::Error> for FormError {
    fn from(error: io::Error) -> FormError {
        FormError::Io(error)
    }
}

/// Reads a form body from `wsgi.input` and decodes it with
/// [`parse_urlencoded`].
///
/// The `Content-Type` must be `application/x-www-form-urlencoded` (its
/// parameters, such as `charset`, are ignored: the body is read as UTF-8,
/// as browsers send it). At most `limit + 1` bytes are read: a longer body
/// is [`FormError::TooLarge`], so a client cannot make the application hold
/// more than `limit` bytes.
///
/// ```
/// use waitress::gateway::{read_form, first_value, FormError};
/// use waitress::gateway::testing::TestRequest;
/// use waitress::logging::Logger;
///
/// let mut environ = TestRequest::post("/settings", "name=pump+1&interval=30")
///     .header("Content-Type", "application/x-www-form-urlencoded")
///     .environ(Logger::default());
/// let form = read_form(&mut environ, 4096).unwrap();
/// assert_eq!(first_value(&form, "name"), Some("pump 1"));
///
/// let mut big = TestRequest::post("/settings", "x=".repeat(100))
///     .header("Content-Type", "application/x-www-form-urlencoded")
///     .environ(Logger::default());
/// assert!(matches!(read_form(&mut big, 64), Err(FormError::TooLarge { limit: 64 })));
/// ```
// ANCHOR: read_form_fn
pub fn read_form(environ: &mut Environ, limit: u64) -> Result<Vec<(String, String)>, FormError> {
    let content_type = environ.get("CONTENT_TYPE").unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("");
    if !media_type
        .trim_matches([' ', '\t'])
        .eq_ignore_ascii_case(FORM_CONTENT_TYPE)
    {
        let found = (!content_type.is_empty()).then(|| content_type.to_string());
        return Err(FormError::UnsupportedContentType { found });
    }
    let mut body = Vec::new();
    environ
        .input()
        .take(limit.saturating_add(1))
        .read_to_end(&mut body)?;
    if body.len() as u64 > limit {
        return Err(FormError::TooLarge { limit });
    }
    Ok(parse_urlencoded(&body))
}
// ANCHOR_END: read_form_fn

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::Input;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    fn form_environ(content_type: Option<&str>, body: &[u8]) -> Environ {
        let mut environ = Environ::new();
        if let Some(content_type) = content_type {
            environ.insert("CONTENT_TYPE", content_type);
        }
        environ.set_input(Input::from_bytes(body.to_vec()));
        environ
    }

    #[test]
    fn pairs_keep_their_order_and_repeated_names() {
        assert_eq!(
            parse_urlencoded(b"a=1&b=2&a=3"),
            pairs(&[("a", "1"), ("b", "2"), ("a", "3")])
        );
    }

    #[test]
    fn plus_is_a_space_and_an_escaped_plus_is_a_plus() {
        assert_eq!(
            parse_urlencoded(b"b=x+y&c=1%2B1&d+e=f"),
            pairs(&[("b", "x y"), ("c", "1+1"), ("d e", "f")])
        );
    }

    #[test]
    fn escapes_decode_to_utf8_bytes_in_either_case() {
        assert_eq!(
            parse_urlencoded(b"a=%C3%A9&b=%c3%a9&%26=%3D"),
            pairs(&[("a", "é"), ("b", "é"), ("&", "=")])
        );
    }

    #[test]
    fn invalid_escapes_stay_literal() {
        assert_eq!(
            parse_urlencoded(b"a=%zz&b=%&c=%4&d=%%41&e=%4g"),
            pairs(&[
                ("a", "%zz"),
                ("b", "%"),
                ("c", "%4"),
                ("d", "%A"),
                ("e", "%4g")
            ])
        );
    }

    #[test]
    fn invalid_utf8_becomes_the_replacement_character() {
        assert_eq!(
            parse_urlencoded(b"a=%FF&b=%C3&c=x%E9y"),
            pairs(&[("a", "\u{fffd}"), ("b", "\u{fffd}"), ("c", "x\u{fffd}y")])
        );
        // Raw (unescaped) invalid bytes too.
        assert_eq!(parse_urlencoded(b"a=\xff"), pairs(&[("a", "\u{fffd}")]));
    }

    #[test]
    fn empty_pieces_are_skipped_and_a_bare_name_has_an_empty_value() {
        assert_eq!(
            parse_urlencoded(b"&&a&b=&=c&&"),
            pairs(&[("a", ""), ("b", ""), ("", "c")])
        );
        assert_eq!(parse_urlencoded(b""), pairs(&[]));
    }

    #[test]
    fn only_the_first_equals_sign_splits() {
        assert_eq!(parse_urlencoded(b"a=b=c"), pairs(&[("a", "b=c")]));
    }

    #[test]
    fn a_query_string_from_the_environ_is_read_as_its_bytes() {
        // A raw UTF-8 query arrives as latin-1 characters.
        assert_eq!(parse_query("q=\u{c3}\u{a9}+x"), pairs(&[("q", "é x")]));
        // A character above U+00FF (put there by middleware) is its UTF-8.
        assert_eq!(parse_query("q=\u{20ac}"), pairs(&[("q", "\u{20ac}")]));
    }

    #[test]
    fn query_pairs_of_an_environ_without_a_query_is_empty() {
        assert_eq!(query_pairs(&Environ::new()), pairs(&[]));
    }

    #[test]
    fn a_form_body_is_decoded() {
        let mut environ = form_environ(
            Some("Application/X-WWW-Form-Urlencoded ; charset=UTF-8"),
            b"a=1&b=x+y",
        );
        assert_eq!(
            read_form(&mut environ, 9).unwrap(),
            pairs(&[("a", "1"), ("b", "x y")])
        );
    }

    #[test]
    fn a_form_body_over_the_limit_is_refused() {
        let mut environ = form_environ(Some(FORM_CONTENT_TYPE), b"a=1&b=x+y");
        let error = read_form(&mut environ, 8).unwrap_err();
        assert!(
            matches!(error, FormError::TooLarge { limit: 8 }),
            "{error:?}"
        );
        assert_eq!(error.status(), "413 Content Too Large");
        assert_eq!(error.to_string(), "the form body is larger than 8 bytes");
    }

    #[test]
    fn a_form_with_another_content_type_is_refused() {
        let mut environ = form_environ(Some("multipart/form-data; boundary=x"), b"a=1");
        let error = read_form(&mut environ, 100).unwrap_err();
        assert!(
            matches!(&error, FormError::UnsupportedContentType { found: Some(found) }
                if found == "multipart/form-data; boundary=x"),
            "{error:?}"
        );
        assert_eq!(error.status(), "415 Unsupported Media Type");
        let mut environ = form_environ(None, b"a=1");
        let error = read_form(&mut environ, 100).unwrap_err();
        assert!(matches!(
            error,
            FormError::UnsupportedContentType { found: None }
        ));
        assert!(error.to_string().contains("missing"), "{error}");
    }

    #[test]
    fn a_lookalike_content_type_is_refused() {
        for content_type in [
            "application/x-www-form-urlencodedx",
            "text/plain",
            "application/json",
        ] {
            let mut environ = form_environ(Some(content_type), b"a=1");
            assert!(
                matches!(
                    read_form(&mut environ, 100),
                    Err(FormError::UnsupportedContentType { .. })
                ),
                "{content_type}"
            );
        }
    }
}
