//! The six proxy headers by name: what the `trusted_proxy_headers`
//! setting lists, and what the readers of `forwarded.rs` look for.
#![forbid(unsafe_code)]

// ANCHOR: proxy_header_enum
/// One of the six headers a proxy uses to describe the client's request.
///
/// ```
/// use waitress::apps::proxy_headers::ProxyHeader;
///
/// let header = ProxyHeader::from_setting("x-forwarded-for").unwrap();
/// assert_eq!(header, ProxyHeader::XForwardedFor);
/// assert_eq!(header.name(), "X-Forwarded-For");
/// assert_eq!(header.environ_key(), "HTTP_X_FORWARDED_FOR");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProxyHeader {
    /// `Forwarded` (RFC 7239): `for`, `by`, `host` and `proto` in one header.
    Forwarded,
    /// `X-Forwarded-By`: the proxy's own address; passed on, never used.
    XForwardedBy,
    /// `X-Forwarded-For`: the client, then every proxy but the last.
    XForwardedFor,
    /// `X-Forwarded-Host`: the `Host` the client sent.
    XForwardedHost,
    /// `X-Forwarded-Port`: the port the client connected to.
    XForwardedPort,
    /// `X-Forwarded-Proto`: `http` or `https`, as the client connected.
    XForwardedProto,
}
// ANCHOR_END: proxy_header_enum

impl ProxyHeader {
    /// All six, in the order their names sort (the order of the log line).
    pub const ALL: [ProxyHeader; 6] = [
        ProxyHeader::Forwarded,
        ProxyHeader::XForwardedBy,
        ProxyHeader::XForwardedFor,
        ProxyHeader::XForwardedHost,
        ProxyHeader::XForwardedPort,
        ProxyHeader::XForwardedProto,
    ];

    /// The header's name as it is usually written, e.g. `X-Forwarded-Proto`.
    pub fn name(self) -> &'static str {
        match self {
            ProxyHeader::Forwarded => "Forwarded",
            ProxyHeader::XForwardedBy => "X-Forwarded-By",
            ProxyHeader::XForwardedFor => "X-Forwarded-For",
            ProxyHeader::XForwardedHost => "X-Forwarded-Host",
            ProxyHeader::XForwardedPort => "X-Forwarded-Port",
            ProxyHeader::XForwardedProto => "X-Forwarded-Proto",
        }
    }

    /// The environ key the header arrives under, e.g. `HTTP_X_FORWARDED_PROTO`.
    pub fn environ_key(self) -> &'static str {
        match self {
            ProxyHeader::Forwarded => "HTTP_FORWARDED",
            ProxyHeader::XForwardedBy => "HTTP_X_FORWARDED_BY",
            ProxyHeader::XForwardedFor => "HTTP_X_FORWARDED_FOR",
            ProxyHeader::XForwardedHost => "HTTP_X_FORWARDED_HOST",
            ProxyHeader::XForwardedPort => "HTTP_X_FORWARDED_PORT",
            ProxyHeader::XForwardedProto => "HTTP_X_FORWARDED_PROTO",
        }
    }

    /// The header a `trusted_proxy_headers` entry names (`x-forwarded-for`,
    /// `forwarded`, …, in any case), if it names one.
    pub fn from_setting(name: &str) -> Option<ProxyHeader> {
        ProxyHeader::ALL
            .into_iter()
            .find(|header| header.name().eq_ignore_ascii_case(name.trim()))
    }
}
