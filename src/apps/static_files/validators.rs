//! Cache validators of a static file (RFC 9110 §8.8): the weak `ETag` made
//! from its length and modification time, and reading `If-None-Match`.
//!
//! Apart from the path rules because they are about a file already found:
//! whether the copy a client holds is still this one.
#![forbid(unsafe_code)]

// ANCHOR: etag
/// The weak entity tag of a file of `length` bytes modified at `mtime_secs`
/// (seconds since the epoch): `W/"<length hex>-<mtime hex>"`, as nginx
/// makes it. Weak because a length and a time in whole seconds cannot promise
/// the same bytes (two writes of the same length within one second); a cache
/// may revalidate with it, and `If-Range` never matches it.
pub(super) fn weak_etag(length: u64, mtime_secs: u64) -> String {
    format!("W/\"{length:x}-{mtime_secs:x}\"")
}

/// Whether an `If-None-Match` header matches `etag` with the weak
/// comparison (RFC 9110 §8.8.3.2: the `W/` prefixes are ignored): `*`, or
/// a comma-separated list of entity tags one of which is `etag`.
///
/// A malformed list is read up to the fault; what follows it matches
/// nothing, so a garbled header costs a full response, never a wrong `304`.
pub(super) fn none_match(header: &str, etag: &str) -> bool {
    if header.trim() == "*" {
        return true;
    }
    let ours = opaque(etag);
    let mut rest = header;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return false;
        }
        let tag = rest.strip_prefix("W/").unwrap_or(rest);
        let Some(quoted) = tag.strip_prefix('"') else {
            return false;
        };
        let Some(close) = quoted.find('"') else {
            return false;
        };
        if Some(&quoted[..close]) == ours {
            return true;
        }
        rest = &quoted[close + 1..];
    }
}
// ANCHOR_END: etag

/// The opaque tag between the quotes, without a `W/` prefix.
fn opaque(etag: &str) -> Option<&str> {
    let tag = etag.strip_prefix("W/").unwrap_or(etag);
    tag.strip_prefix('"')?.strip_suffix('"')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_etag_is_weak_and_changes_with_length_and_time() {
        assert_eq!(weak_etag(12, 0x6500_0000), "W/\"c-65000000\"");
        assert_ne!(weak_etag(12, 1), weak_etag(13, 1));
        assert_ne!(weak_etag(12, 1), weak_etag(12, 2));
    }

    #[test]
    fn if_none_match_compares_weakly_in_a_list_or_star() {
        let etag = weak_etag(12, 1);
        assert!(none_match("W/\"c-1\"", &etag));
        assert!(none_match("\"c-1\"", &etag), "the W/ is ignored");
        assert!(none_match("\"x\", W/\"c-1\"", &etag));
        assert!(none_match("\"x\",W/\"c-1\" , \"y\"", &etag));
        assert!(none_match(" * ", &etag));
        assert!(!none_match("\"c-2\"", &etag));
        assert!(!none_match("\"c-1", &etag), "unterminated");
        assert!(!none_match("c-1", &etag), "unquoted");
        assert!(!none_match("", &etag));
        assert!(!none_match("\"x\", *", &etag), "* is alone or nothing");
        assert!(!none_match("\"a,\"c-1\"\"", &etag), "a comma inside a tag");
        assert!(none_match("\"a,b\", \"c-1\"", &etag));
        assert!(!none_match("\"x\", garbage \"c-1\"", &etag));
    }

    proptest::proptest! {
        #[test]
        fn any_header_is_read_without_panicking(header in "\\PC{0,40}") {
            let _ = none_match(&header, &weak_etag(1, 2));
        }

        #[test]
        fn our_tag_is_found_anywhere_in_a_well_formed_list(
            before in proptest::collection::vec("[a-z0-9,-]{0,6}", 0..4),
            after in proptest::collection::vec("[a-z0-9,-]{0,6}", 0..4),
            weak in proptest::bool::ANY,
        ) {
            let etag = weak_etag(0x3e8, 0x1234);
            let quote = |tag: &String| format!("{}\"{tag}\"", if weak { "W/" } else { "" });
            let mut list: Vec<String> = before.iter().map(quote).collect();
            list.push("\"3e8-1234\"".to_string());
            list.extend(after.iter().map(quote));
            proptest::prop_assert!(none_match(&list.join(", "), &etag));
        }
    }
}
