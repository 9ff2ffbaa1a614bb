//! The table of common header field names.
//!
//! Thirty-odd names (`Host`, `Content-Type`, `User-Agent`, …) make up most
//! field lines. The parser keeps each of them as a small number instead of
//! a converted copy of its name, and the gateway maps the number's CGI name
//! to its environ key (`HOST` → `HTTP_HOST`) without allocating. The table
//! is protocol knowledge, so it lives in the HTTP layer, below both.
#![forbid(unsafe_code)]

/// Common header names: (as sent in lower case, CGI name, environ key).
/// Looking them up saves two allocations per field for most requests.
const KNOWN_FIELDS: [(&str, &str, &str); 31] = [
    ("accept", "ACCEPT", "HTTP_ACCEPT"),
    ("accept-charset", "ACCEPT_CHARSET", "HTTP_ACCEPT_CHARSET"),
    ("accept-encoding", "ACCEPT_ENCODING", "HTTP_ACCEPT_ENCODING"),
    ("accept-language", "ACCEPT_LANGUAGE", "HTTP_ACCEPT_LANGUAGE"),
    ("authorization", "AUTHORIZATION", "HTTP_AUTHORIZATION"),
    ("cache-control", "CACHE_CONTROL", "HTTP_CACHE_CONTROL"),
    ("connection", "CONNECTION", "HTTP_CONNECTION"),
    ("content-length", "CONTENT_LENGTH", "CONTENT_LENGTH"),
    ("content-type", "CONTENT_TYPE", "CONTENT_TYPE"),
    ("cookie", "COOKIE", "HTTP_COOKIE"),
    ("dnt", "DNT", "HTTP_DNT"),
    ("expect", "EXPECT", "HTTP_EXPECT"),
    ("forwarded", "FORWARDED", "HTTP_FORWARDED"),
    ("host", "HOST", "HTTP_HOST"),
    (
        "if-modified-since",
        "IF_MODIFIED_SINCE",
        "HTTP_IF_MODIFIED_SINCE",
    ),
    ("if-none-match", "IF_NONE_MATCH", "HTTP_IF_NONE_MATCH"),
    ("origin", "ORIGIN", "HTTP_ORIGIN"),
    ("pragma", "PRAGMA", "HTTP_PRAGMA"),
    ("range", "RANGE", "HTTP_RANGE"),
    ("referer", "REFERER", "HTTP_REFERER"),
    ("sec-fetch-dest", "SEC_FETCH_DEST", "HTTP_SEC_FETCH_DEST"),
    ("sec-fetch-mode", "SEC_FETCH_MODE", "HTTP_SEC_FETCH_MODE"),
    ("sec-fetch-site", "SEC_FETCH_SITE", "HTTP_SEC_FETCH_SITE"),
    ("sec-fetch-user", "SEC_FETCH_USER", "HTTP_SEC_FETCH_USER"),
    (
        "transfer-encoding",
        "TRANSFER_ENCODING",
        "HTTP_TRANSFER_ENCODING",
    ),
    (
        "upgrade-insecure-requests",
        "UPGRADE_INSECURE_REQUESTS",
        "HTTP_UPGRADE_INSECURE_REQUESTS",
    ),
    ("user-agent", "USER_AGENT", "HTTP_USER_AGENT"),
    ("x-forwarded-for", "X_FORWARDED_FOR", "HTTP_X_FORWARDED_FOR"),
    (
        "x-forwarded-host",
        "X_FORWARDED_HOST",
        "HTTP_X_FORWARDED_HOST",
    ),
    (
        "x-forwarded-proto",
        "X_FORWARDED_PROTO",
        "HTTP_X_FORWARDED_PROTO",
    ),
    (
        "x-requested-with",
        "X_REQUESTED_WITH",
        "HTTP_X_REQUESTED_WITH",
    ),
];

/// How many names the table of common header fields holds.
pub(crate) const KNOWN_FIELD_COUNT: usize = KNOWN_FIELDS.len();

// ANCHOR: known_field
/// The index of a common header field as sent (any case) in the table of
/// common names, if it is one.
///
/// Every field line of every request asks, so this is a hash table built at
/// compile time, not a search: a name goes to its slot, and only the names
/// found from there to the next empty slot (usually one, often none) are
/// compared with it.
pub(crate) fn known_field(sent: &[u8]) -> Option<u8> {
    let [.., second_last, last] = *sent else {
        return None; // every common name is longer
    };
    let mut slot = known_slot(sent.len(), second_last, last);
    loop {
        let index = KNOWN_SLOTS[slot];
        let (lower, _, _) = KNOWN_FIELDS.get(usize::from(index))?; // empty: not common
        if lower.as_bytes().eq_ignore_ascii_case(sent) {
            return Some(index);
        }
        slot = (slot + 1) % KNOWN_SLOTS.len();
    }
}

/// Where a name's search starts in `KNOWN_SLOTS`: from its length and its
/// last two bytes, lower-cased (`| 0x20` leaves `-` and digits alone).
const fn known_slot(len: usize, second_last: u8, last: u8) -> usize {
    let (second_last, last) = ((second_last | 0x20) as usize, (last | 0x20) as usize);
    (len * 4 + last * 2 + second_last) % KNOWN_SLOTS.len()
}
// ANCHOR_END: known_field

/// Indices in `KNOWN_FIELDS`, each at its name's slot or the next free one
/// after it (linear probing); `u8::MAX` in the free slots.
static KNOWN_SLOTS: [u8; 128] = {
    assert!(KNOWN_FIELDS.len() < 64, "keep the table at most half full");
    let mut slots = [u8::MAX; 128];
    let mut index = 0;
    while index < KNOWN_FIELDS.len() {
        let name = KNOWN_FIELDS[index].0.as_bytes();
        let len = name.len();
        let mut slot = known_slot(len, name[len - 2], name[len - 1]);
        while slots[slot] != u8::MAX {
            slot = (slot + 1) % slots.len();
        }
        slots[slot] = index as u8;
        index += 1;
    }
    slots
};

/// The CGI name of the common field at `index` (`HOST`, `CONTENT_TYPE`).
pub(crate) fn known_field_name(index: u8) -> &'static str {
    KNOWN_FIELDS[usize::from(index)].1
}

/// The index of a common field by its CGI name, for constants: a name that
/// is not in the table fails to compile.
pub(crate) const fn known_field_index(cgi: &str) -> u8 {
    let mut index = 0;
    while index < KNOWN_FIELDS.len() {
        if const_eq(KNOWN_FIELDS[index].1.as_bytes(), cgi.as_bytes()) {
            return index as u8;
        }
        index += 1;
    }
    panic!("not a common header field name");
}

/// `a == b` for byte strings, usable in a constant.
const fn const_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The environ key for a CGI name (`HOST` → `HTTP_HOST`, `CONTENT_TYPE` stays).
pub(crate) fn environ_key(cgi: &str) -> Option<&'static str> {
    KNOWN_FIELDS
        .iter()
        .find(|(_, name, _)| *name == cgi)
        .map(|(_, _, key)| *key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_field_finds_every_common_name_in_any_case_and_nothing_else() {
        for (index, (lower, cgi, _)) in KNOWN_FIELDS.iter().enumerate() {
            let index = u8::try_from(index).unwrap();
            assert_eq!(known_field(lower.as_bytes()), Some(index));
            assert_eq!(
                known_field(lower.to_ascii_uppercase().as_bytes()),
                Some(index)
            );
            assert_eq!(known_field_name(index), *cgi);
            assert_eq!(known_field_index(cgi), index);
            // One byte more, less or different is another name.
            assert_eq!(known_field(format!("{lower}s").as_bytes()), None);
            assert_eq!(known_field(&lower.as_bytes()[1..]), None);
            if lower.contains('-') {
                assert_eq!(known_field(lower.replace('-', "_").as_bytes()), None);
            }
        }
        for other in ["", "a", "x-", "hosts", "x-forwarded-port", "content_type"] {
            assert_eq!(known_field(other.as_bytes()), None, "{other}");
        }
    }
}
