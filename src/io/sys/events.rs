//! [`Events`], the `poll(2)` event flags, and their constants [`POLLIN`] …
//! [`POLLNVAL`]: the vocabulary every poller here speaks. `poll(2)` reads
//! and writes them in a [`PollFd`](super::PollFd), and `epoll(7)`'s `EPOLL*`
//! bits have the same values, so `Epoll` reports them too. A file of their
//! own because they are plain Rust, with no `unsafe` and no per-platform
//! values.
#![forbid(unsafe_code)]

use std::ffi::c_short;
use std::fmt;
use std::ops::{BitAnd, BitOr, BitOrAssign};

/// A set of `poll(2)` event flags: what to wait for ([`PollFd::events`]) or
/// what happened ([`PollFd::revents`]).
///
/// The flags are the constants [`POLLIN`], [`POLLPRI`], [`POLLOUT`],
/// [`POLLERR`], [`POLLHUP`] and [`POLLNVAL`]; they have the same values on
/// Linux, macOS and the BSDs. Combine them with `|`.
///
/// [`PollFd::events`]: super::PollFd::events
/// [`PollFd::revents`]: super::PollFd::revents
// ANCHOR: events
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(transparent)]
pub struct Events(c_short);

/// Data to read (or, on a listener, a connection to accept).
pub const POLLIN: Events = Events(0x001);
/// Urgent (out-of-band) data to read.
pub const POLLPRI: Events = Events(0x002);
/// Writing will not block.
pub const POLLOUT: Events = Events(0x004);
/// An error is pending on the socket (reported even when not asked for).
pub const POLLERR: Events = Events(0x008);
/// The peer hung up (reported even when not asked for).
pub const POLLHUP: Events = Events(0x010);
/// The descriptor is not open (reported even when not asked for).
pub const POLLNVAL: Events = Events(0x020);
// ANCHOR_END: events

impl Events {
    /// No flags.
    pub const EMPTY: Events = Events(0);

    /// The raw `short` C sees.
    pub const fn bits(self) -> i16 {
        self.0
    }

    /// Flags from their raw `short`.
    pub const fn from_bits(bits: i16) -> Events {
        Events(bits)
    }

    /// Whether every flag of `other` is set in `self`.
    pub const fn contains(self, other: Events) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any flag of `other` is set in `self`.
    pub const fn intersects(self, other: Events) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether no flag is set.
    #[cfg_attr(not(test), allow(dead_code))] // for the tests
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// `self | other`, usable in `const` items.
    pub const fn union(self, other: Events) -> Events {
        Events(self.0 | other.0)
    }
}

impl BitOr for Events {
    type Output = Events;
    fn bitor(self, other: Events) -> Events {
        self.union(other)
    }
}

impl BitOrAssign for Events {
    fn bitor_assign(&mut self, other: Events) {
        *self = self.union(other);
    }
}

impl BitAnd for Events {
    type Output = Events;
    fn bitand(self, other: Events) -> Events {
        Events(self.0 & other.0)
    }
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(Events, &str); 6] = [
            (POLLIN, "POLLIN"),
            (POLLPRI, "POLLPRI"),
            (POLLOUT, "POLLOUT"),
            (POLLERR, "POLLERR"),
            (POLLHUP, "POLLHUP"),
            (POLLNVAL, "POLLNVAL"),
        ];
        let mut rest = self.0;
        let mut first = true;
        for (flag, name) in NAMES {
            if self.contains(flag) {
                f.write_str(if first { "" } else { " | " })?;
                f.write_str(name)?;
                rest &= !flag.0;
                first = false;
            }
        }
        if rest != 0 || first {
            if !first {
                f.write_str(" | ")?;
            }
            write!(f, "{rest:#x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_print_their_names() {
        assert_eq!(format!("{:?}", Events::EMPTY), "0x0");
        assert_eq!(format!("{:?}", POLLIN | POLLHUP), "POLLIN | POLLHUP");
        assert_eq!(
            format!("{:?}", POLLOUT | Events(0x2000)),
            "POLLOUT | 0x2000"
        );
        assert_eq!(POLLIN | POLLOUT & POLLOUT, POLLIN | POLLOUT);
    }
}

/// The examples these items' docs had while the module was public,
/// kept as tests.
#[cfg(test)]
mod doc_examples {
    #[test]
    fn events_example() {
        use crate::io::sys::{Events, POLLHUP, POLLIN, POLLOUT};

        let interest = POLLIN | POLLOUT;
        assert!(interest.contains(POLLIN));
        assert!(!interest.contains(POLLIN | POLLHUP));
        assert!(interest.intersects(POLLOUT | POLLHUP));
        assert!(Events::EMPTY.is_empty());
        assert_eq!(format!("{interest:?}"), "POLLIN | POLLOUT");
    }

    #[test]
    fn empty_example() {
        assert!(crate::io::sys::Events::EMPTY.is_empty());
    }

    #[test]
    fn fn_example() {
        assert_eq!(crate::io::sys::POLLOUT.bits(), 4);
    }

    #[test]
    fn fn_example_2() {
        use crate::io::sys::{Events, POLLIN, POLLOUT};
        assert_eq!(Events::from_bits(5), POLLIN | POLLOUT);
    }

    #[test]
    fn fn_example_3() {
        use crate::io::sys::{POLLIN, POLLOUT};
        assert!((POLLIN | POLLOUT).contains(POLLOUT));
        assert!(!POLLIN.contains(POLLIN | POLLOUT));
    }

    #[test]
    fn fn_example_4() {
        use crate::io::sys::{POLLERR, POLLHUP, POLLIN};
        assert!(POLLHUP.intersects(POLLERR | POLLHUP));
        assert!(!POLLIN.intersects(POLLERR | POLLHUP));
    }

    #[test]
    fn fn_example_5() {
        assert!(!crate::io::sys::POLLIN.is_empty());
    }

    #[test]
    fn fn_example_6() {
        use crate::io::sys::{Events, POLLIN, POLLPRI};
        const READABLE: Events = POLLIN.union(POLLPRI);
        assert_eq!(READABLE, POLLIN | POLLPRI);
    }
}
