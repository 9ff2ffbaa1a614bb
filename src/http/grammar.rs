//! The byte-level grammar of HTTP/1.1 that the rest of the server shares:
//! the strict readings of tokens and decimal numbers that the parser, the
//! gateway's response checks and the configuration all use.
#![forbid(unsafe_code)]

/// tchar (RFC 9110 §5.6.2), for callers outside the parser (the gateway
/// checks response header names with it); the same class as the parser's
/// `TCHAR` table, as a test there checks.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_parsing_refuses_signs_and_overflow() {
        assert_eq!(parse_decimal("0"), Some(0));
        assert_eq!(parse_decimal("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_decimal("18446744073709551616"), None);
        assert_eq!(parse_decimal("+3"), None);
        assert_eq!(parse_decimal(""), None);
    }
}
