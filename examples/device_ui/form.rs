//! Reading an `application/x-www-form-urlencoded` body, bounded.
//!
//! Replaced by waitress::gateway::parse_form once available: this module is
//! the example's own minimal decoder, kept apart so that the swap touches
//! one file.

use std::io::Read;

use waitress::gateway::Environ;

/// The largest form body read: a settings form is a few hundred bytes.
pub const FORM_LIMIT: u64 = 16 * 1024;

/// Why a form could not be read, with the status to answer.
#[derive(Debug)]
pub enum FormError {
    /// Over [`FORM_LIMIT`]: `413 Content Too Large`.
    TooLarge,
    /// Not `application/x-www-form-urlencoded`: `415 Unsupported Media Type`.
    WrongType,
    /// The body could not be read (a spool file failed): `500`.
    Unreadable,
}

/// The form in the request body: ordered `(name, value)` pairs.
pub fn read_form(environ: &mut Environ) -> Result<Vec<(String, String)>, FormError> {
    let content_type = environ.get("CONTENT_TYPE").unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(FormError::WrongType);
    }
    let input = environ.input();
    if input.len() > FORM_LIMIT {
        return Err(FormError::TooLarge);
    }
    let mut body = Vec::new();
    (input.take(FORM_LIMIT + 1))
        .read_to_end(&mut body)
        .map_err(|_| FormError::Unreadable)?;
    if body.len() as u64 > FORM_LIMIT {
        return Err(FormError::TooLarge);
    }
    Ok(decode_form(&body))
}

/// Splits on `&` and the first `=`, then decodes `+` as a space and `%XX`
/// escapes; an invalid escape stays as written, and invalid UTF-8 becomes
/// U+FFFD. Empty pieces (`a=1&&b=2`) are skipped.
pub fn decode_form(body: &[u8]) -> Vec<(String, String)> {
    let decode = |piece: &[u8]| {
        let mut out = Vec::with_capacity(piece.len());
        let mut i = 0;
        while i < piece.len() {
            let hex = |at: usize| piece.get(at).and_then(|&b| (b as char).to_digit(16));
            match (piece[i], hex(i + 1), hex(i + 2)) {
                (b'%', Some(high), Some(low)) => {
                    out.push((high * 16 + low) as u8);
                    i += 3;
                    continue;
                }
                (b'+', _, _) => out.push(b' '),
                (byte, _, _) => out.push(byte),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    (body.split(|&b| b == b'&'))
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let at = piece.iter().position(|&b| b == b'=').unwrap_or(piece.len());
            let value = piece.get(at + 1..).unwrap_or(&[]);
            (decode(&piece[..at]), decode(value))
        })
        .collect()
}
