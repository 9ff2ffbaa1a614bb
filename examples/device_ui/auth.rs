//! HTTP Basic authentication (RFC 7617) as a middleware: an [`Application`]
//! that wraps an [`Application`], as WSGI middleware does. Without valid
//! credentials the inner application never runs; with them, it runs with
//! `REMOTE_USER` set, as CGI servers set it.
//!
//! Basic authentication sends the password with every request, only
//! base64-encoded: on anything but a closed network, put TLS in front (a
//! reverse proxy, see the book's chapter on operating the server).

use waitress::gateway::{AppResult, Application, Body, Environ, StartResponse, headers};

// ANCHOR: basic_auth
/// Serves `inner` to clients that send `user` and `password`; answers
/// `401 Unauthorized` with a `WWW-Authenticate` challenge to the others.
pub struct BasicAuth<A> {
    pub realm: String,
    pub user: String,
    pub password: String,
    pub inner: A,
}

impl<A: Application> Application for BasicAuth<A> {
    fn call(&self, environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        let supplied = environ.get("HTTP_AUTHORIZATION").and_then(credentials);
        let Some((user, password)) = supplied.filter(|(user, password)| {
            // Both compared, always: an early exit would tell which was wrong.
            let user_ok = constant_time_eq(user.as_bytes(), self.user.as_bytes());
            let password_ok = constant_time_eq(password.as_bytes(), self.password.as_bytes());
            user_ok & password_ok
        }) else {
            let challenge = format!("Basic realm=\"{}\"", self.realm);
            start_response.start_response(
                "401 Unauthorized",
                headers(&[
                    ("Content-Type", "text/plain; charset=utf-8"),
                    ("WWW-Authenticate", &challenge),
                    ("Cache-Control", "no-store"),
                ]),
                None,
            )?;
            return Ok(Body::from("Authentication required.\n"));
        };
        drop(password);
        environ.insert("REMOTE_USER", user);
        self.inner.call(environ, start_response)
    }
}
// ANCHOR_END: basic_auth

/// The user and password of an `Authorization: Basic <base64>` value; `None`
/// for another scheme, bad base64, text that is not UTF-8, or no `:`.
pub fn credentials(header: &str) -> Option<(String, String)> {
    let (scheme, token) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let text = String::from_utf8(base64_decode(token.trim())?).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// Whether `supplied` equals `expected`, in a time that depends only on the
/// length of `supplied` (the client's): every byte is compared, and the
/// differences are gathered without a branch, so the time taken does not
/// say how many leading bytes were right.
pub fn constant_time_eq(supplied: &[u8], expected: &[u8]) -> bool {
    let mut difference = supplied.len() ^ expected.len();
    for (i, byte) in supplied.iter().enumerate() {
        let other = expected.get(i).copied().unwrap_or(0);
        difference |= usize::from(byte ^ other);
    }
    std::hint::black_box(difference) == 0
}

/// Decodes standard base64 (RFC 4648 §4: `A-Z a-z 0-9 + /`), with or
/// without its `=` padding. `None` for any other character, misplaced or
/// excess padding, a length no encoding has, or nonzero unused bits (so each
/// byte string has exactly one accepted encoding, with or without padding).
///
/// ```text
/// base64_decode("QWxhZGRpbjpvcGVuIHNlc2FtZQ==") == Some(b"Aladdin:open sesame")
/// ```
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let data = text.trim_end_matches('=');
    let padding = text.len() - data.len();
    if padding > 2 || (padding > 0 && text.len() % 4 != 0) || data.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() / 4 * 3 + 2);
    let (mut bits, mut count) = (0u32, 0u32);
    for byte in data.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    (bits == 0).then_some(out)
}
