//! Cookies: reading the `Cookie` request header and writing `Set-Cookie`.
//!
//! Reading follows RFC 6265 §5.4 (what a user agent sends:
//! `name=value; name2=value2`) leniently, since the server cannot ask the
//! client again: pairs are split on `;`, spaces and tabs around names and
//! values are trimmed, a value in double quotes loses its quotes, and a
//! malformed pair (no `=`, or an empty name) is skipped. The header's bytes
//! are read as UTF-8, an invalid sequence becoming U+FFFD. Nothing a client
//! sends makes it fail or panic.
//!
//! Writing is strict, because a `Set-Cookie` value built from user input is
//! a classic way to split a response: [`SetCookie::build`] refuses a name
//! that is not an RFC 6265 token, a value with anything but `cookie-octet`s
//! (so no control character, whitespace, `"`, `,`, `;`, `\` or non-ASCII),
//! and an attribute value with `;` or a control character. The value is
//! written as given, never encoded: encode binary or free text yourself
//! (hex, or percent-encoding), and decode it when it comes back.
#![forbid(unsafe_code)]

use std::fmt;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use super::Environ;
use super::form::environ_bytes;
use crate::http::date::format_http_date;
use crate::http::grammar::is_token_byte;

// ANCHOR: parse_cookies
/// Parses a `Cookie` header value to ordered `(name, value)` pairs.
///
/// ```
/// use waitress::gateway::parse_cookie_header;
///
/// let cookies = parse_cookie_header(r#"session=abc123; theme="dark" ; junk; =x; lang=en"#);
/// assert_eq!(cookies, [
///     ("session".to_string(), "abc123".to_string()),
///     ("theme".to_string(), "dark".to_string()),
///     ("lang".to_string(), "en".to_string()),
/// ]);
/// ```
pub fn parse_cookie_header(header: &str) -> Vec<(String, String)> {
    let bytes = environ_bytes(header);
    bytes
        .split(|&byte| byte == b';')
        .filter_map(|pair| {
            let equals = pair.iter().position(|&byte| byte == b'=')?;
            let name = trim(&pair[..equals]);
            if name.is_empty() {
                return None;
            }
            let mut value = trim(&pair[equals + 1..]);
            if let [b'"', inner @ .., b'"'] = value {
                value = inner;
            }
            Some((
                String::from_utf8_lossy(name).into_owned(),
                String::from_utf8_lossy(value).into_owned(),
            ))
        })
        .collect()
}
// ANCHOR_END: parse_cookies

fn trim(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// The request's cookies: [`parse_cookie_header`] of `HTTP_COOKIE` (none
/// when the header is absent).
///
/// ```
/// use waitress::gateway::{cookies, first_value};
/// use waitress::gateway::testing::TestRequest;
/// use waitress::logging::Logger;
///
/// let environ = TestRequest::get("/").header("Cookie", "a=1; b=2").environ(Logger::default());
/// assert_eq!(first_value(&cookies(&environ), "b"), Some("2"));
/// ```
pub fn cookies(environ: &Environ) -> Vec<(String, String)> {
    parse_cookie_header(environ.get("HTTP_COOKIE").unwrap_or(""))
}

/// The `SameSite` attribute: whether a browser sends the cookie with
/// requests that other sites start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SameSite {
    /// Only with requests from the same site.
    Strict,
    /// Also with top-level navigations from other sites (browsers' default).
    Lax,
    /// With every request; browsers require `Secure` with it, and so does
    /// [`SetCookie::build`].
    None,
}

impl SameSite {
    fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
    }
}

/// Why [`SetCookie::build`] refused to write a cookie.
///
/// ```
/// use waitress::gateway::{CookieError, SetCookie};
/// let error = SetCookie::new("id", "a;b").build().unwrap_err();
/// assert_eq!(error, CookieError::InvalidValue);
/// assert_eq!(error.to_string(), "a cookie value may hold only cookie-octets (no control character, whitespace, '\"', ',', ';', '\\' or non-ASCII)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CookieError {
    /// The name is empty or not an RFC 6265 token.
    InvalidName,
    /// The value has a character outside RFC 6265's `cookie-octet`.
    InvalidValue,
    /// An attribute value (`Path`, `Domain`) has `;`, a control character or
    /// non-ASCII.
    InvalidAttribute {
        /// The attribute, e.g. `Path`.
        attribute: &'static str,
    },
    /// `SameSite=None` without `Secure`, which browsers reject.
    SameSiteNoneWithoutSecure,
}

impl fmt::Display for CookieError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CookieError::InvalidName => f.write_str("a cookie name must be a non-empty token"),
            CookieError::InvalidValue => f.write_str(
                "a cookie value may hold only cookie-octets (no control character, \
                 whitespace, '\"', ',', ';', '\\' or non-ASCII)",
            ),
            CookieError::InvalidAttribute { attribute } => write!(
                f,
                "the cookie's {attribute} may not hold ';', a control character or non-ASCII"
            ),
            CookieError::SameSiteNoneWithoutSecure => {
                f.write_str("SameSite=None needs Secure, or browsers drop the cookie")
            }
        }
    }
}

impl std::error::Error for CookieError {}

// ANCHOR: set_cookie
/// A `Set-Cookie` header value, built attribute by attribute and checked
/// by [`SetCookie::build`].
///
/// ```
/// use std::time::Duration;
/// use waitress::gateway::{SameSite, SetCookie};
///
/// let value = SetCookie::new("session", "abc123")
///     .path("/")
///     .max_age(Duration::from_secs(3600))
///     .secure()
///     .http_only()
///     .same_site(SameSite::Lax)
///     .build()?;
/// assert_eq!(value, "session=abc123; Path=/; Max-Age=3600; Secure; HttpOnly; SameSite=Lax");
///
/// // A value that would split the header is refused, not written.
/// assert!(SetCookie::new("session", "x\r\nLocation: /evil").build().is_err());
/// # Ok::<(), waitress::gateway::CookieError>(())
/// ```
#[derive(Clone, Debug)]
pub struct SetCookie {
    name: String,
    value: String,
    path: Option<String>,
    domain: Option<String>,
    max_age: Option<Duration>,
    expires: Option<SystemTime>,
    secure: bool,
    http_only: bool,
    same_site: Option<SameSite>,
}
// ANCHOR_END: set_cookie

impl SetCookie {
    /// A cookie with a name and a value and no attributes (a session
    /// cookie, kept until the browser closes).
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> SetCookie {
        SetCookie {
            name: name.into(),
            value: value.into(),
            path: None,
            domain: None,
            max_age: None,
            expires: None,
            secure: false,
            http_only: false,
            same_site: None,
        }
    }

    /// A cookie that tells the browser to delete `name`: an empty value
    /// and `Max-Age=0`. Give it the `Path` and `Domain` the cookie was set
    /// with.
    ///
    /// ```
    /// use waitress::gateway::SetCookie;
    /// assert_eq!(SetCookie::removal("session").path("/").build().unwrap(),
    ///            "session=; Path=/; Max-Age=0");
    /// ```
    pub fn removal(name: impl Into<String>) -> SetCookie {
        SetCookie::new(name, "").max_age(Duration::ZERO)
    }

    /// `Path`: the URL path (and those below it) the cookie is sent for.
    pub fn path(mut self, path: impl Into<String>) -> SetCookie {
        self.path = Some(path.into());
        self
    }

    /// `Domain`: the host (and its subdomains) the cookie is sent to.
    pub fn domain(mut self, domain: impl Into<String>) -> SetCookie {
        self.domain = Some(domain.into());
        self
    }

    /// `Max-Age`, in whole seconds: how long the cookie lives (zero deletes it).
    pub fn max_age(mut self, max_age: Duration) -> SetCookie {
        self.max_age = Some(max_age);
        self
    }

    /// `Expires`: when the cookie ends, for clients that ignore `Max-Age`.
    pub fn expires(mut self, expires: SystemTime) -> SetCookie {
        self.expires = Some(expires);
        self
    }

    /// `Secure`: sent over HTTPS only.
    pub fn secure(mut self) -> SetCookie {
        self.secure = true;
        self
    }

    /// `HttpOnly`: hidden from scripts in the page.
    pub fn http_only(mut self) -> SetCookie {
        self.http_only = true;
        self
    }

    /// `SameSite`.
    pub fn same_site(mut self, same_site: SameSite) -> SetCookie {
        self.same_site = Some(same_site);
        self
    }

    /// The `Set-Cookie` header value, or why it cannot be written. The
    /// value never holds CR, LF, any other control character, or a `;`
    /// that is not an attribute separator.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use waitress::gateway::{CookieError, SetCookie};
    ///
    /// let at = UNIX_EPOCH + Duration::from_secs(784_111_777);
    /// assert_eq!(SetCookie::new("a", "1").expires(at).domain("example.com").build(),
    ///            Ok("a=1; Domain=example.com; Expires=Sun, 06 Nov 1994 08:49:37 GMT".to_string()));
    /// assert_eq!(SetCookie::new("a b", "1").build(), Err(CookieError::InvalidName));
    /// assert_eq!(SetCookie::new("a", "1").path("/; Domain=evil").build(),
    ///            Err(CookieError::InvalidAttribute { attribute: "Path" }));
    /// ```
    // ANCHOR: build_fn
    pub fn build(&self) -> Result<String, CookieError> {
        if self.name.is_empty() || !self.name.bytes().all(is_token_byte) {
            return Err(CookieError::InvalidName);
        }
        if !self.value.bytes().all(is_cookie_octet) {
            return Err(CookieError::InvalidValue);
        }
        if self.same_site == Some(SameSite::None) && !self.secure {
            return Err(CookieError::SameSiteNoneWithoutSecure);
        }
        let mut header = format!("{}={}", self.name, self.value);
        for (attribute, value) in [("Path", &self.path), ("Domain", &self.domain)] {
            if let Some(value) = value {
                if !value.bytes().all(is_attribute_byte) {
                    return Err(CookieError::InvalidAttribute { attribute });
                }
                let _ = write!(header, "; {attribute}={value}");
            }
        }
        if let Some(max_age) = self.max_age {
            let _ = write!(header, "; Max-Age={}", max_age.as_secs());
        }
        if let Some(expires) = self.expires {
            let _ = write!(header, "; Expires={}", format_http_date(expires));
        }
        if self.secure {
            header.push_str("; Secure");
        }
        if self.http_only {
            header.push_str("; HttpOnly");
        }
        if let Some(same_site) = self.same_site {
            let _ = write!(header, "; SameSite={}", same_site.as_str());
        }
        Ok(header)
    }
    // ANCHOR_END: build_fn
}

/// RFC 6265 §4.1.1 `cookie-octet`: `%x21 / %x23-2B / %x2D-3A / %x3C-5B /
/// %x5D-7E`, US-ASCII but control characters, whitespace, `"`, `,`, `;`
/// and `\`.
fn is_cookie_octet(byte: u8) -> bool {
    matches!(byte, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

/// RFC 6265 §4.1.1 `av-octet` (any CHAR but CTLs or `;`), and ASCII only.
fn is_attribute_byte(byte: u8) -> bool {
    matches!(byte, 0x20..=0x7E) && byte != b';'
}

// The tests are in tests/forms_and_cookies.rs: they need only the public API.
