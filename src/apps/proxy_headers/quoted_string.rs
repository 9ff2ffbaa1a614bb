//! Quoted-strings (RFC 9110 §5.6.4) in proxy header values: [`undquote`],
//! Waitress's `utilities.undquote`, and its error, [`InvalidQuoting`].
//!
//! Apart from the readers because it is a grammar of its own, the one place
//! where a value's bytes are unescaped, and is tested on its own.
#![forbid(unsafe_code)]

use std::fmt;

/// A value that starts or ends with `"` but is not one valid quoted-string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidQuoting;

impl fmt::Display for InvalidQuoting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Invalid quoting in value")
    }
}

impl std::error::Error for InvalidQuoting {}

/// Removes the quotes of an RFC 9110 quoted-string and unescapes its
/// quoted-pairs; a value that neither starts nor ends with `"` is returned
/// as it is. Waitress's `utilities.undquote`.
///
/// ```
/// use waitress::apps::proxy_headers::undquote;
///
/// assert_eq!(undquote("plain").unwrap(), "plain");
/// assert_eq!(undquote(r#""[2001:db8::1]:80""#).unwrap(), "[2001:db8::1]:80");
/// assert_eq!(undquote(r#""say \"hi\"""#).unwrap(), r#"say "hi""#);
/// assert!(undquote(r#""unterminated"#).is_err());
/// assert!(undquote(r#""two" "strings""#).is_err());
/// ```
// ANCHOR: undquote_fn
pub fn undquote(value: &str) -> Result<String, InvalidQuoting> {
    let starts = value.starts_with('"');
    let ends = value.ends_with('"');
    if !starts && !ends {
        return Ok(value.to_string());
    }
    if !(starts && ends) || value.len() < 2 {
        return Err(InvalidQuoting);
    }
    let inside = &value[1..value.len() - 1];
    let mut unquoted = String::with_capacity(inside.len());
    let mut chars = inside.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped) if is_quoted_pair_char(escaped) => unquoted.push(escaped),
                _ => return Err(InvalidQuoting),
            },
            // A `"` before the end closes the string early: what follows
            // is outside any quoted-string.
            '"' => return Err(InvalidQuoting),
            c if is_qdtext(c) => unquoted.push(c),
            _ => return Err(InvalidQuoting),
        }
    }
    Ok(unquoted)
}
// ANCHOR_END: undquote_fn

/// qdtext: HTAB, SP, VCHAR except `"` and `\`, obs-text (latin-1's upper half).
fn is_qdtext(c: char) -> bool {
    c != '"' && c != '\\' && is_quoted_pair_char(c)
}

/// What may follow `\` in a quoted-pair: HTAB, SP, VCHAR, obs-text.
fn is_quoted_pair_char(c: char) -> bool {
    matches!(c, '\t' | ' '..='~' | '\u{80}'..='\u{ff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undquote_leaves_unquoted_values_alone() {
        assert_eq!(undquote("").unwrap(), "");
        assert_eq!(undquote("a b\\c").unwrap(), "a b\\c");
        assert_eq!(undquote("mid\"dle").unwrap(), "mid\"dle");
    }

    #[test]
    fn undquote_removes_quotes_and_unescapes_quoted_pairs() {
        assert_eq!(undquote("\"\"").unwrap(), "");
        assert_eq!(undquote("\"a,b;c\"").unwrap(), "a,b;c");
        assert_eq!(undquote(r#""\\""#).unwrap(), "\\");
        assert_eq!(undquote(r#""\a\ \"""#).unwrap(), "a \"");
        assert_eq!(undquote("\"tab\there\"").unwrap(), "tab\there");
        assert_eq!(undquote("\"caf\u{e9}\"").unwrap(), "caf\u{e9}");
    }

    #[test]
    fn undquote_refuses_half_quoted_and_broken_strings() {
        for bad in [
            "\"",
            "\"abc",
            "abc\"",
            r#""abc\""#,
            r#""a"b""#,
            "\"new\nline\"",
            "\"nul\0\"",
            "\"beyond latin-1 \u{100}\"",
            "\"del\u{7f}\"",
        ] {
            assert_eq!(undquote(bad), Err(InvalidQuoting), "{bad:?}");
        }
    }

    #[test]
    fn undquote_error_reads_like_waitress() {
        assert_eq!(InvalidQuoting.to_string(), "Invalid quoting in value");
    }
}
