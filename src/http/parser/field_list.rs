//! The field list: field lines go into the request as they arrive, and
//! repeated names are grouped once, when the head is complete.
//!
//! A field line's name is a common one (a number in `http::fields`) or a
//! CGI name written into the request's text; its value is written there
//! too. At the end of the head, the first line of each name stays and later
//! ones are joined to it, in time linear in the number of lines however
//! they repeat.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};

use super::request::{FieldName, HeaderField, Span};
use super::{CONTENT_LENGTH, CONTENT_TYPE, HOST, RequestParser};
use crate::http::error::ParseError;
use crate::http::fields::{KNOWN_FIELD_COUNT, known_field};
use crate::http::grammar::{Field, parse_decimal};

/// Above this many uncommon field names, finding repeated ones goes through
/// a hash map instead of a linear scan, so that a header section of
/// thousands of tiny fields still parses in linear time.
const LINEAR_SCAN_FIELDS: usize = 16;

/// The field list is reserved at once for this many field lines; more make
/// it double as it grows.
const INITIAL_FIELD_CAPACITY: usize = 16;

impl RequestParser {
    /// Checks a field line's name and appends the line to the field list.
    /// Repeated names are found at the end of the head (`group_fields`).
    pub(super) fn add_field(&mut self, field: Field<'_>) -> Result<(), ParseError> {
        let name = match known_field(field.name) {
            Some(known) => FieldName::Known(known),
            None => match self.push_cgi_name(field.name) {
                Some(name) => FieldName::Text(name),
                // `X_Foo` would become the same CGI name as `X-Foo`: drop it,
                // so a client cannot impersonate a header a proxy set
                // (Waitress 1.0).
                None => return Ok(()),
            },
        };
        // ANCHOR: add_field
        match name {
            FieldName::Known(HOST) if self.host_seen => {
                return Err(ParseError::DuplicateHeader("Host"));
            }
            FieldName::Known(HOST) => self.host_seen = true,
            FieldName::Known(CONTENT_TYPE) if self.content_type_seen => {
                return Err(ParseError::DuplicateHeader("Content-Type"));
            }
            FieldName::Known(CONTENT_TYPE) => self.content_type_seen = true,
            FieldName::Known(CONTENT_LENGTH) => {
                let length = std::str::from_utf8(field.value)
                    .ok()
                    .and_then(parse_decimal)
                    .ok_or(ParseError::InvalidContentLength)?;
                match self.content_length {
                    // Identical repeats say the same thing (RFC 9110 §8.6).
                    Some(previous) if previous == length => return Ok(()),
                    Some(_) => return Err(ParseError::DuplicateHeader("Content-Length")),
                    None => self.content_length = Some(length),
                }
            }
            FieldName::Known(_) => {}
            FieldName::Text(_) => self.uncommon_names += 1,
        }
        // ANCHOR_END: add_field
        let value = self.push_value(field.value, field.ascii);
        let fields = &mut self.request.fields;
        if fields.capacity() == 0 {
            fields.reserve_exact(INITIAL_FIELD_CAPACITY);
        }
        fields.push(HeaderField { name, value });
        Ok(())
    }

    /// Appends bytes known to be ASCII to the text.
    pub(super) fn push_text(&mut self, ascii: &[u8]) -> Span {
        let start = self.text.len();
        self.text.extend_from_slice(ascii);
        Span::new(start, self.text.len())
    }

    /// Appends a field name's CGI form to the text (`Content-Type` →
    /// `CONTENT_TYPE`; names are tokens, hence ASCII), unless the name has
    /// a `_`: then nothing, and `None`.
    fn push_cgi_name(&mut self, name: &[u8]) -> Option<Span> {
        let start = self.text.len();
        self.text.resize(start + name.len(), 0);
        let mut underscore = false;
        for (cgi, &sent) in self.text[start..].iter_mut().zip(name) {
            underscore |= sent == b'_';
            *cgi = match sent {
                b'-' => b'_',
                _ => sent.to_ascii_uppercase(),
            };
        }
        if underscore {
            self.text.truncate(start);
            return None;
        }
        Some(Span::new(start, self.text.len()))
    }

    /// Appends a field value to the text. Bytes above 0x7F (obs-text) stand
    /// for the latin-1 characters of the same number, two bytes in UTF-8.
    fn push_value(&mut self, value: &[u8], ascii: bool) -> Span {
        if ascii {
            return self.push_text(value);
        }
        let start = self.text.len();
        for &byte in value {
            let mut utf8 = [0; 4];
            let character = char::from(byte).encode_utf8(&mut utf8);
            self.text.extend_from_slice(character.as_bytes());
        }
        Span::new(start, self.text.len())
    }

    // ANCHOR: group_fields
    /// Files each field line under its name, in one pass at the end of the
    /// head: the first line of each name stays in the list, in arrival
    /// order, and later lines become repeats, joined to it once.
    pub(super) fn group_fields(&mut self) {
        // Uncommon names are found with a scan of the fields kept so far
        // while they are few; a hash index keeps many of them linear.
        let mut index = (self.uncommon_names > LINEAR_SCAN_FIELDS)
            .then(|| FieldIndex::with_capacity(self.uncommon_names));
        let mut known_fields = [None; KNOWN_FIELD_COUNT];
        let mut repeats = Repeats::default();
        let (fields, text) = (&mut self.request.fields, &self.text);
        let mut kept = 0;
        for line in 0..fields.len() {
            let field = fields[line];
            let earlier = match field.name {
                FieldName::Known(known) => known_fields[usize::from(known)],
                FieldName::Text(span) => {
                    let name = &text[span.range()];
                    match &mut index {
                        Some(index) => index.find_or_insert(name, kept, &fields[..kept], text),
                        None => find_text_name(name, &fields[..kept], text),
                    }
                }
            };
            match earlier {
                Some(earlier) => repeats.add(earlier, field.value),
                None => {
                    if let FieldName::Known(known) = field.name {
                        known_fields[usize::from(known)] = Some(kept);
                    }
                    fields[kept] = field;
                    kept += 1;
                }
            }
        }
        fields.truncate(kept);
        self.known_fields = known_fields;
        repeats.join(fields, &mut self.text);
    }
    // ANCHOR_END: group_fields
}

/// The later lines of repeated names, as `group_fields` finds them: for
/// each field, a list of its repeats in arrival order, so that its value is
/// joined once. Appending to the value at every repeat would copy the
/// growing value each time: quadratic for a thousand repeats of one name.
#[derive(Debug, Default)]
struct Repeats {
    /// Each repeat's value, and the next repeat of the same field.
    values: Vec<(Span, Option<usize>)>,
    /// For each field (by index) with repeats: its first and last repeat.
    lists: Vec<Option<(usize, usize)>>,
}

impl Repeats {
    /// Adds a repeat of the field at `field`.
    fn add(&mut self, field: usize, value: Span) {
        let repeat = self.values.len();
        self.values.push((value, None));
        if self.lists.len() <= field {
            self.lists.resize(field + 1, None);
        }
        match &mut self.lists[field] {
            Some((_, last)) => {
                self.values[*last].1 = Some(repeat);
                *last = repeat;
            }
            empty @ None => *empty = Some((repeat, repeat)),
        }
    }

    // ANCHOR: repeats
    /// Gives each repeated field the value `first, second, …` (RFC 9110
    /// §5.3), written once at the end of the text.
    fn join(&self, fields: &mut [HeaderField], text: &mut Vec<u8>) {
        for (field, list) in fields.iter_mut().zip(&self.lists) {
            let Some((first, _)) = *list else {
                continue;
            };
            let start = text.len();
            text.extend_from_within(field.value.range());
            let mut next = Some(first);
            while let Some(repeat) = next {
                let (value, following) = self.values[repeat];
                text.extend_from_slice(b", ");
                text.extend_from_within(value.range());
                next = following;
            }
            field.value = Span::new(start, text.len());
        }
    }
    // ANCHOR_END: repeats
}

/// The index of the field whose name, in the text, is `name`.
fn find_text_name(name: &[u8], fields: &[HeaderField], text: &[u8]) -> Option<usize> {
    fields.iter().position(|field| match field.name {
        FieldName::Text(span) => &text[span.range()] == name,
        FieldName::Known(_) => false,
    })
}

/// Where the first field of each uncommon name is, for header sections with
/// many of them. Keys are the names' hashes under a per-index random key (so
/// a client cannot aim for collisions), which spares a copy of every name;
/// a hit is confirmed by comparing the names, and a collision falls back to
/// a linear scan.
#[derive(Debug)]
struct FieldIndex {
    hasher: RandomState,
    positions: HashMap<u64, usize, BuildHasherDefault<AlreadyHashed>>,
}

impl FieldIndex {
    /// An index for up to `names` names, allocated once.
    fn with_capacity(names: usize) -> FieldIndex {
        FieldIndex {
            hasher: RandomState::new(),
            positions: HashMap::with_capacity_and_hasher(names, Default::default()),
        }
    }

    /// The position of the field named `name` among `fields`; if there is
    /// none, `name` is recorded at `position`, where it is being added.
    fn find_or_insert(
        &mut self,
        name: &[u8],
        position: usize,
        fields: &[HeaderField],
        text: &[u8],
    ) -> Option<usize> {
        match self.positions.entry(self.hasher.hash_one(name)) {
            Entry::Vacant(vacant) => {
                vacant.insert(position);
                None
            }
            Entry::Occupied(occupied) => match fields[*occupied.get()].name {
                FieldName::Text(span) if &text[span.range()] == name => Some(*occupied.get()),
                _ => find_text_name(name, fields, text), // another name, same hash
            },
        }
    }
}

/// The keys of `FieldIndex` are random-keyed hashes already: hashing them
/// again would only cost time.
#[derive(Debug, Default)]
struct AlreadyHashed(u64);

impl Hasher for AlreadyHashed {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
