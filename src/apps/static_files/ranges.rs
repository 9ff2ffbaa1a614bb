//! Byte ranges of a static file: reading a `Range` header ([`parse_range`],
//! RFC 9110 §14) and [`FileSlice`], the window on a file that serves one.
//!
//! Apart from the path rules in the parent module because a range is about
//! a file already found: how much of it to send.
#![forbid(unsafe_code)]

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

/// What a `Range` header asks of a file of known length (see
/// [`parse_range`]).
///
/// ```
/// use waitress::apps::{parse_range, ByteRange};
/// let ByteRange::Part { start, end } = parse_range("bytes=2-5", 10) else { panic!() };
/// assert_eq!(end - start + 1, 4); // Content-Length of the 206
/// ```
#[derive(Debug, PartialEq, Eq)]
pub enum ByteRange {
    /// No usable range: send the whole file (absent, malformed, several
    /// ranges, or a unit other than `bytes`).
    Whole,
    /// Bytes `start..=end` (inclusive, as `Content-Range` writes them).
    Part {
        /// The first byte.
        start: u64,
        /// The last byte, included.
        end: u64,
    },
    /// The range starts past the end of the file: `416`.
    Unsatisfiable,
}

/// Reads a `Range` header for a file of `length` bytes.
///
/// Only one range is served; several (`bytes=0-1,5-6`) give the whole file,
/// which RFC 9110 §14.2 allows and which spares a `multipart/byteranges` body.
///
/// ```
/// use waitress::apps::{parse_range, ByteRange};
/// assert_eq!(parse_range("bytes=0-9", 100), ByteRange::Part { start: 0, end: 9 });
/// assert_eq!(parse_range("bytes=90-", 100), ByteRange::Part { start: 90, end: 99 });
/// assert_eq!(parse_range("bytes=-10", 100), ByteRange::Part { start: 90, end: 99 });
/// assert_eq!(parse_range("bytes=100-", 100), ByteRange::Unsatisfiable);
/// assert_eq!(parse_range("bytes=0-1,5-6", 100), ByteRange::Whole);
/// assert_eq!(parse_range("lines=1-2", 100), ByteRange::Whole);
/// ```
// ANCHOR: parse_range_suffix
pub fn parse_range(header: &str, length: u64) -> ByteRange {
    let Some((unit, set)) = header.trim().split_once('=') else {
        return ByteRange::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || set.contains(',') {
        return ByteRange::Whole;
    }
    let Some((first, last)) = set.trim().split_once('-') else {
        return ByteRange::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    match (digits(first), digits(last)) {
        // `-n`: the last n bytes.
        (None, Some(suffix)) if first.is_empty() => {
            if suffix == 0 || length == 0 {
                ByteRange::Unsatisfiable
            } else {
                ByteRange::Part {
                    start: length.saturating_sub(suffix),
                    end: length - 1,
                }
            }
        }
        // ANCHOR_END: parse_range_suffix
        // `a-`: from a to the end.
        (Some(start), None) if last.is_empty() => {
            if start >= length {
                ByteRange::Unsatisfiable
            } else {
                ByteRange::Part {
                    start,
                    end: length - 1,
                }
            }
        }
        // `a-b`, with b past the end meaning the end.
        (Some(start), Some(end)) if start <= end => {
            if start >= length {
                ByteRange::Unsatisfiable
            } else {
                ByteRange::Part {
                    start,
                    end: end.min(length - 1),
                }
            }
        }
        _ => ByteRange::Whole,
    }
}

/// A decimal number of ASCII digits; one too large for `u64` saturates,
/// which makes it "past the end" rather than "malformed".
fn digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.bytes().fold(0u64, |total, b| {
        total.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    }))
}

/// A window `start..start+len` of a file, seekable within the window, so
/// that `wsgi.file_wrapper` sends exactly one range and knows its length.
pub(super) struct FileSlice {
    pub(super) file: File,
    pub(super) start: u64,
    pub(super) len: u64,
    /// Relative to `start`.
    pub(super) position: u64,
}

impl Read for FileSlice {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.len.saturating_sub(self.position);
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let read = self.file.read(&mut buf[..want])?;
        self.position += read as u64;
        Ok(read)
    }
}

impl Seek for FileSlice {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(offset) => Some(offset),
            SeekFrom::End(delta) => self.len.checked_add_signed(delta),
            SeekFrom::Current(delta) => self.position.checked_add_signed(delta),
        };
        let target = target.ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "seek outside the file slice")
        })?;
        self.file
            .seek(SeekFrom::Start(self.start.saturating_add(target)))?;
        self.position = target;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::Body;

    #[test]
    fn a_slice_reports_its_own_length_to_the_file_wrapper() {
        let path = std::env::temp_dir().join(format!("waitress-slice-{}", std::process::id()));
        std::fs::write(&path, b"0123456789").unwrap();
        let mut file = File::open(&path).unwrap();
        file.seek(SeekFrom::Start(3)).unwrap();
        let slice = FileSlice {
            file,
            start: 3,
            len: 4,
            position: 0,
        };
        let body = Body::file(slice, 2);
        assert_eq!(body.content_length(), Some(4));
        let bytes: Vec<u8> = body.flat_map(Result::unwrap).collect();
        assert_eq!(bytes, b"3456");
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn ranges_follow_rfc_9110() {
        assert_eq!(parse_range("bytes=5-2", 10), ByteRange::Whole);
        assert_eq!(
            parse_range("bytes=0-999", 10),
            ByteRange::Part { start: 0, end: 9 }
        );
        assert_eq!(
            parse_range("bytes=-999", 10),
            ByteRange::Part { start: 0, end: 9 }
        );
        assert_eq!(parse_range("bytes=-0", 10), ByteRange::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-", 0), ByteRange::Unsatisfiable);
        assert_eq!(
            parse_range("bytes=99999999999999999999999-", 10),
            ByteRange::Unsatisfiable
        );
        assert_eq!(parse_range("bytes=x-1", 10), ByteRange::Whole);
        assert_eq!(parse_range("bytes", 10), ByteRange::Whole);
        assert_eq!(parse_range("bytes=-", 10), ByteRange::Whole);
        assert_eq!(
            parse_range(" Bytes = 2 - 3 ", 10),
            ByteRange::Part { start: 2, end: 3 }
        );
    }
}
