//! Addresses in proxy headers: splitting the port off an address (IPv6 makes
//! that interesting), removing brackets, trimming optional whitespace.
//!
//! Apart from the readers because these small functions decide what
//! `REMOTE_ADDR` and `SERVER_NAME` become, and are tested one by one.
#![forbid(unsafe_code)]

// ANCHOR: addresses
/// An address (a host or a client) and its port, if it has one:
/// `192.0.2.1:80`, `example.com:80`, `[2001:db8::1]:80`, `[2001:db8::1]`,
/// or a bare `2001:db8::1`. Two colons or more without a `[` can only be an
/// IPv6 address without a port, so it is not split at its last colon.
/// (Waitress brackets such X-Forwarded-For hops for the same reason, but
/// also brackets `[2001:db8::1]:80`, which it then takes whole for the
/// address, and splits `::ffff:192.0.2.1` and bare IPv6 hosts.)
pub(super) fn split_address(address: &str) -> (&str, Option<&str>) {
    let bare_ipv6 = !address.starts_with('[') && address.matches(':').count() > 1;
    if bare_ipv6 || address.ends_with(']') {
        return (address, None);
    }
    match address.rsplit_once(':') {
        Some((addr, port)) => (addr, Some(port)),
        None => (address, None),
    }
}

/// `[2001:db8::1]` → `2001:db8::1`; anything else unchanged.
pub(super) fn strip_brackets(addr: &str) -> &str {
    addr.strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(addr)
}
// ANCHOR_END: addresses

/// Trims optional whitespace (RFC 9110's OWS: spaces and tabs).
pub(super) fn trim_ows(text: &str) -> &str {
    text.trim_matches([' ', '\t'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_brackets_only_strips_a_pair() {
        assert_eq!(strip_brackets("[::1]"), "::1");
        assert_eq!(strip_brackets("[::1"), "[::1");
        assert_eq!(strip_brackets("["), "[");
        assert_eq!(strip_brackets("[]"), "");
        assert_eq!(strip_brackets("192.0.2.1"), "192.0.2.1");
    }

    #[test]
    fn addresses_split_at_the_port_only_when_there_is_one() {
        assert_eq!(split_address("192.0.2.1:80"), ("192.0.2.1", Some("80")));
        assert_eq!(split_address("192.0.2.1"), ("192.0.2.1", None));
        assert_eq!(split_address("2001:db8::1"), ("2001:db8::1", None));
        assert_eq!(
            split_address("::ffff:192.0.2.1"),
            ("::ffff:192.0.2.1", None)
        );
        assert_eq!(
            split_address("[2001:db8::1]:80"),
            ("[2001:db8::1]", Some("80"))
        );
        assert_eq!(split_address("[2001:db8::1]"), ("[2001:db8::1]", None));
        assert_eq!(split_address("proxy:80"), ("proxy", Some("80")));
        assert_eq!(split_address("example.com"), ("example.com", None));
        assert_eq!(split_address(""), ("", None));
    }
}
