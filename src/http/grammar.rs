//! The byte-level grammar of HTTP/1.1 that the parser and the body
//! receivers share.
//!
//! Byte classes (tchar, field-value bytes, …) as tables, and scans over
//! them that look at eight bytes at a time; the field line, which appears
//! in the header section and again in a chunked body's trailer section;
//! and the strict readings of tokens and decimal numbers that the rest of
//! the server (the gateway's response checks, the configuration) uses too.
//! It sits below the parser and the receivers so that both read it from one
//! place and the receivers never import the parser.
#![forbid(unsafe_code)]

use crate::http::error::ParseError;

/// tchar (RFC 9110 §5.6.2), for callers outside the parser (the gateway
/// checks response header names with it); the same class as [`TCHAR`], as
/// a test below checks.
pub(crate) fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// A non-empty run of ASCII digits that fits in a u64 (never `str::parse`,
/// which accepts a leading `+`).
pub(crate) fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.bytes().try_fold(0u64, |total, byte| {
        if !byte.is_ascii_digit() {
            return None;
        }
        total.checked_mul(10)?.checked_add(u64::from(byte - b'0'))
    })
}

/// A header or trailer field line, checked and split.
pub(crate) struct Field<'a> {
    /// The name, a token.
    pub(crate) name: &'a [u8],
    /// The value without leading and trailing SP/HTAB.
    pub(crate) value: &'a [u8],
    /// Whether the value is all ASCII (else it is read as latin-1).
    pub(crate) ascii: bool,
}

// ANCHOR: field_line
/// `field-name ":" OWS field-value OWS` (RFC 9112 §5), CRLF already removed.
pub(crate) fn parse_field_line(line: &[u8]) -> Result<Field<'_>, ParseError> {
    if matches!(line.first(), Some(b' ' | b'\t')) {
        return Err(ParseError::ObsoleteLineFolding);
    }
    let name_len = count_while(line, &TCHAR);
    match line.get(name_len) {
        Some(b':') if name_len > 0 => {}
        Some(b' ' | b'\t') if name_len > 0 => return Err(ParseError::WhitespaceBeforeColon),
        Some(b'\r') => return Err(ParseError::BareCarriageReturn),
        _ => return Err(ParseError::InvalidHeaderName),
    }
    let value = &line[name_len + 1..];
    let ascii = check_field_value(value)?;
    Ok(Field {
        name: &line[..name_len],
        value: trim_whitespace_bytes(value),
        ascii,
    })
}
// ANCHOR_END: field_line

// ANCHOR: field_value
/// Checks that every byte of a field value is HTAB, SP, VCHAR or obs-text;
/// returns whether all of them are ASCII.
///
/// Values are most of a header section, so this looks at eight bytes at a
/// time: `(x - 0x20…) & !x & 0x80…` is non-zero exactly when some byte is
/// below 0x20 (a control character, or an HTAB that is fine), and the same
/// trick on `x ^ 0x7f…` finds DEL. A word with either goes to the byte loop.
fn check_field_value(value: &[u8]) -> Result<bool, ParseError> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut all_bits = 0;
    let mut checked = 0;
    for chunk in value.chunks_exact(8) {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(chunk);
        let word = u64::from_le_bytes(bytes);
        let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
        let delete = (word ^ (ONES * 0x7f)).wrapping_sub(ONES) & !(word ^ (ONES * 0x7f)) & HIGHS;
        if below_space | delete != 0 {
            break;
        }
        all_bits |= word;
        checked += 8;
    }
    for &byte in &value[checked..] {
        if !FIELD_VALUE_CHAR[usize::from(byte)] {
            return Err(if byte == b'\r' {
                ParseError::BareCarriageReturn
            } else {
                ParseError::InvalidHeaderValue
            });
        }
        all_bits |= u64::from(byte);
    }
    Ok(all_bits & HIGHS == 0)
}
// ANCHOR_END: field_value

/// Trims SP and HTAB only: never Unicode whitespace such as U+0085 or
/// U+00A0, which `str::trim` would remove (CVE-2019-16789).
pub(crate) fn trim_whitespace(text: &str) -> &str {
    text.trim_matches([' ', '\t'])
}

fn trim_whitespace_bytes(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// How many leading bytes of `bytes` the table accepts.
///
/// Eight bytes at a time are looked up without a branch between them (`&`,
/// not `&&`): one test per eight bytes instead of one per byte.
pub(crate) fn count_while(bytes: &[u8], table: &[bool; 256]) -> usize {
    let mut count = 0;
    for chunk in bytes.chunks_exact(8) {
        if !chunk
            .iter()
            .fold(true, |all, &b| all & table[usize::from(b)])
        {
            break;
        }
        count += 8;
    }
    count
        + bytes[count..]
            .iter()
            .position(|&b| !table[usize::from(b)])
            .unwrap_or(bytes.len() - count)
}

// ANCHOR: find_byte
/// The index of the first `needle` in `haystack`, eight bytes at a time.
///
/// XOR turns matching bytes into zero bytes; `(x - 0x01…) & !x & 0x80…`
/// sets the high bit of the first zero byte (bits above it may be wrong,
/// but the lowest set bit is exact), so `trailing_zeros / 8` is its index.
pub(crate) fn find_byte(haystack: &[u8], needle: u8) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let pattern = ONES * u64::from(needle);
    let mut chunks = haystack.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ pattern;
        let zero_bytes = x.wrapping_sub(ONES) & !x & HIGHS;
        if zero_bytes != 0 {
            return Some(offset + (zero_bytes.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    let tail = chunks.remainder();
    tail.iter().position(|&b| b == needle).map(|i| offset + i)
}
// ANCHOR_END: find_byte

// ANCHOR: tables
/// tchar (RFC 9110 §5.6.2): method and field names.
pub(crate) static TCHAR: [bool; 256] = byte_table(0);
/// Request-target bytes: visible ASCII, no SP, no CTL, nothing above 0x7E.
pub(crate) static TARGET_CHAR: [bool; 256] = byte_table(1);
/// field-value bytes: HTAB, SP, VCHAR and obs-text (RFC 9110 §5.5).
pub(crate) static FIELD_VALUE_CHAR: [bool; 256] = byte_table(2);
/// URI scheme characters after the first letter (RFC 3986 §3.1).
pub(crate) static SCHEME_CHAR: [bool; 256] = byte_table(3);
/// uri-host and port characters: unreserved, pct-encoded, sub-delims, `:`,
/// and the brackets of an IP literal (RFC 3986 §3.2.2).
pub(crate) static HOST_CHAR: [bool; 256] = byte_table(4);

const fn byte_table(kind: u8) -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let alphanumeric = b.is_ascii_alphanumeric();
        table[i] = match kind {
            0 => alphanumeric || is_in(b, b"!#$%&'*+-.^_`|~"),
            1 => b > 0x20 && b < 0x7f,
            2 => b == b'\t' || (b >= 0x20 && b != 0x7f),
            3 => alphanumeric || is_in(b, b"+-."),
            _ => alphanumeric || is_in(b, b"-._~%!$&'()*+,;=:[]"),
        };
        i += 1;
    }
    table
}

const fn is_in(byte: u8, set: &[u8]) -> bool {
    let mut i = 0;
    while i < set.len() {
        if set[i] == byte {
            return true;
        }
        i += 1;
    }
    false
}
// ANCHOR_END: tables

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_byte_agrees_with_a_plain_search() {
        let haystack: Vec<u8> = (0..100u8).map(|i| i.wrapping_mul(37)).collect();
        for needle in 0..=255u8 {
            for start in 0..20 {
                let expected = haystack[start..].iter().position(|&b| b == needle);
                assert_eq!(find_byte(&haystack[start..], needle), expected);
            }
        }
    }

    #[test]
    fn count_while_agrees_with_a_plain_scan() {
        let bytes = b"Sec-Fetch-Mode: navigate\r\nX-Copy99-Upgrade-Insecure-Requests";
        for start in 0..bytes.len() {
            for end in start..=bytes.len() {
                let slice = &bytes[start..end];
                let expected = slice.iter().take_while(|&&b| TCHAR[usize::from(b)]).count();
                assert_eq!(count_while(slice, &TCHAR), expected);
            }
        }
    }

    #[test]
    fn tchar_table_matches_is_token_byte() {
        for b in 0..=255u8 {
            assert_eq!(TCHAR[usize::from(b)], is_token_byte(b), "byte {b}");
        }
    }

    #[test]
    fn decimal_parsing_refuses_signs_and_overflow() {
        assert_eq!(parse_decimal("0"), Some(0));
        assert_eq!(parse_decimal("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_decimal("18446744073709551616"), None);
        assert_eq!(parse_decimal("+3"), None);
        assert_eq!(parse_decimal(""), None);
    }
}
