//! Latin-1 (ISO 8859-1), the encoding of text on the HTTP wire and in the
//! environ: PEP 3333's "native strings" carry the request's bytes one for
//! one as the characters U+0000 to U+00FF. An application that wants the
//! bytes a client sent (a path in UTF-8, a header with obs-text) encodes
//! the environ's text back to latin-1 and decodes the bytes as it likes.
#![forbid(unsafe_code)]

/// Bytes read as latin-1: each byte becomes the character with that code.
/// Never fails.
///
/// ```
/// use waitress::gateway::from_latin1;
/// assert_eq!(from_latin1(b"caf\xe9"), "caf\u{e9}");
/// ```
pub fn from_latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// Text written as latin-1: each character U+0000 to U+00FF becomes the
/// byte with that code. `None` if a character is above U+00FF, which
/// latin-1 cannot carry (environ values never hold one).
///
/// ```
/// use waitress::gateway::to_latin1;
/// // A UTF-8 path arrives as one character per byte: get the bytes back.
/// let path_info = "/caf\u{c3}\u{a9}"; // what the environ says for /café
/// let bytes = to_latin1(path_info).unwrap();
/// assert_eq!(String::from_utf8(bytes).unwrap(), "/café");
/// assert_eq!(to_latin1("\u{20ac}"), None); // the euro sign is not latin-1
/// ```
pub fn to_latin1(text: &str) -> Option<Vec<u8>> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_round_trips() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(to_latin1(&from_latin1(&bytes)), Some(bytes));
    }
}
