//! The end of the head: what depends on several fields.
//!
//! Once the empty line arrives, the fields are grouped and the request is
//! checked as a whole: Host (and an absolute-form target's host, which
//! replaces it), how the body is framed (Transfer-Encoding or
//! Content-Length, RFC 9112 §6.3), whether the connection stays open, and
//! `Expect: 100-continue`.
#![forbid(unsafe_code)]

use super::request::{FieldName, HeaderField, Span};
use super::{
    BodyReceiver, CONNECTION, CONTENT_LENGTH, EXPECT, HOST, RequestParser, State,
    TRANSFER_ENCODING, Version,
};
use crate::http::buffers::OverflowableBuffer;
use crate::http::error::ParseError;
use crate::http::grammar::trim_whitespace;
use crate::http::receiver::{ChunkedReceiver, FixedStreamReceiver};
use crate::http::uri;

impl RequestParser {
    // ANCHOR: use_target_host
    /// RFC 9112 §3.2.2: *"When an origin server receives a request with an
    /// absolute-form of request-target, the origin server MUST ignore the
    /// received Host header field (if any) and instead use the host
    /// information of the request-target."* The Host field takes the
    /// target's `host[:port]` (a span of the text already: nothing is
    /// copied), so every later stage sees one Host. Without a Host field
    /// (HTTP/1.0) one is added, first, where clients put it.
    fn use_target_host(&mut self, value: Span) {
        let fields = &mut self.request.fields;
        match self.known_fields[usize::from(HOST)] {
            Some(index) => fields[index].value = value,
            None => {
                let name = FieldName::Known(HOST);
                fields.insert(0, HeaderField { name, value });
                for index in self.known_fields.iter_mut().flatten() {
                    *index += 1;
                }
                self.known_fields[usize::from(HOST)] = Some(0);
            }
        }
    }
    // ANCHOR_END: use_target_host

    /// The value of a common field, once the head is complete.
    fn header(&self, known: u8) -> Option<&str> {
        let field = self.request.fields[self.known_fields[usize::from(known)]?];
        Some(&self.request.text[field.value.range()])
    }

    // ANCHOR: end_of_head
    /// The header section is complete: join repeated fields, check what
    /// depends on several fields and decide how the body is framed
    /// (RFC 9112 §6.3).
    pub(super) fn end_of_head(&mut self) -> Result<(), ParseError> {
        self.partial_line = Vec::new(); // the head is done: free its buffer
        self.group_fields();
        self.request.text = into_string(std::mem::take(&mut self.text));
        match self.header(HOST) {
            None if self.version == Version::Http11 => return Err(ParseError::MissingHost),
            Some(host) => check_host(host)?,
            None => {}
        }
        if let Some(target_host) = self.target_host {
            self.use_target_host(target_host);
        }

        let chunked = match self.header(TRANSFER_ENCODING) {
            Some(_) if self.version == Version::Http10 => {
                return Err(ParseError::TransferEncodingInHttp10);
            }
            Some(codings) => {
                check_transfer_codings(codings)?;
                true
            }
            None => false,
        };
        if chunked && self.content_length.is_some() {
            // Both framings: chunked wins, and a connection that carried an
            // ambiguous message is not reused (RFC 9112 §6.1).
            self.content_length = None;
            self.request.close_after = true;
        }
        // ANCHOR_END: end_of_head

        let connection = self.header(CONNECTION).unwrap_or("");
        self.request.close_after |= match self.version {
            Version::Http11 => has_token(connection, "close"),
            Version::Http10 => {
                has_token(connection, "close") || !has_token(connection, "keep-alive")
            }
        };

        let expects_continue = match self.header(EXPECT).map(trim_whitespace) {
            None | Some("") => false,
            Some(value) if value.eq_ignore_ascii_case("100-continue") => {
                // RFC 9110 §10.1.1: ignore it from an HTTP/1.0 client.
                self.version == Version::Http11
            }
            Some(_) => return Err(ParseError::UnsupportedExpectation),
        };

        let limits = self.limits;
        self.body = if chunked {
            // The application sees the decoded body and its length (added
            // when it is complete), not the framing. (This moves fields:
            // `known_fields` is not used after it.)
            self.request.fields.retain(|field| {
                !matches!(
                    field.name,
                    FieldName::Known(TRANSFER_ENCODING | CONTENT_LENGTH)
                )
            });
            let buffer = OverflowableBuffer::new(limits.inbuf_overflow);
            Some(BodyReceiver::Chunked(ChunkedReceiver::new(buffer, &limits)))
        } else {
            match self.content_length {
                Some(length) if length >= limits.max_body_size && length > 0 => {
                    return Err(ParseError::BodyTooLarge {
                        limit: limits.max_body_size,
                    });
                }
                Some(length) if length > 0 => {
                    let buffer = OverflowableBuffer::new(limits.inbuf_overflow);
                    Some(BodyReceiver::Fixed(FixedStreamReceiver::new(
                        length, buffer,
                    )))
                }
                _ => None,
            }
        };
        // A bodiless request is answered at once, with or without Expect
        // (Waitress waits forever for a body here: its quirk Q5).
        self.request.expect_continue = expects_continue && self.body.is_some();
        self.state = State::Body;
        Ok(())
    }
}

/// The head's text as a `String`. It is UTF-8 by construction (ASCII, and
/// latin-1 characters `push_value` encoded), so this only checks it, once.
fn into_string(text: Vec<u8>) -> String {
    String::from_utf8(text)
        .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned())
}

// ANCHOR: transfer_encoding
/// Checks a Transfer-Encoding list (all its field lines, joined): `chunked`
/// must be the last coding, exactly once, and no other coding is supported.
fn check_transfer_codings(codings: &str) -> Result<(), ParseError> {
    let mut chunked_count = 0;
    let mut other_coding = false;
    let mut last_is_chunked = false;
    for coding in codings.split(',').map(trim_whitespace) {
        if coding.is_empty() {
            continue; // RFC 9110 §5.6.1: empty list elements are ignored.
        }
        last_is_chunked = coding.eq_ignore_ascii_case("chunked");
        if last_is_chunked {
            chunked_count += 1;
        } else {
            other_coding = true;
        }
    }
    if chunked_count > 1 || (chunked_count == 1 && !last_is_chunked) {
        // The length cannot be determined reliably (RFC 9112 §6.3).
        Err(ParseError::InvalidTransferEncoding)
    } else if other_coding {
        Err(ParseError::UnsupportedTransferCoding)
    } else if chunked_count == 0 {
        Err(ParseError::InvalidTransferEncoding) // an empty list
    } else {
        Ok(())
    }
}
// ANCHOR_END: transfer_encoding

// ANCHOR: connection
/// Whether a comma-separated list (such as `Connection`) holds `token`,
/// compared case-insensitively.
fn has_token(list: &str, token: &str) -> bool {
    list.split(',')
        .any(|element| trim_whitespace(element).eq_ignore_ascii_case(token))
}
// ANCHOR_END: connection

// ANCHOR: check_host
/// A Host value: `uri-host [":" port]` (RFC 9110 §7.2), checked as the
/// authority of an absolute-form target is; or empty, which a client sends
/// when the target has no authority.
fn check_host(value: &str) -> Result<(), ParseError> {
    if value.is_empty() {
        return Ok(());
    }
    match uri::parse_authority(value) {
        Ok(_) => Ok(()),
        Err(reason) => Err(ParseError::InvalidHost(reason)),
    }
}
// ANCHOR_END: check_host

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_coding_lists() {
        assert_eq!(check_transfer_codings("chunked"), Ok(()));
        assert_eq!(check_transfer_codings(" ,ChUnKeD "), Ok(()));
        assert_eq!(
            check_transfer_codings("gzip, chunked"),
            Err(ParseError::UnsupportedTransferCoding)
        );
        assert_eq!(
            check_transfer_codings("chunked, gzip"),
            Err(ParseError::InvalidTransferEncoding)
        );
        assert_eq!(
            check_transfer_codings("chunked, chunked"),
            Err(ParseError::InvalidTransferEncoding)
        );
        assert_eq!(
            check_transfer_codings(""),
            Err(ParseError::InvalidTransferEncoding)
        );
    }
}
