//! Accepting connections: at most a batch per turn, the connection limit
//! (where a new client replaces the connection that has waited longest for
//! a request), and resting when `accept` fails for want of descriptors.
#![forbid(unsafe_code)]

use std::io;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use super::{IoLoop, Source};
use crate::io::sys::{Events, POLLIN};
use crate::server::listeners::accept_one;

/// Connections accepted per turn of the loop at most.
const ACCEPT_BATCH: usize = 64;
/// At the connection limit with every connection busy, how often to look
/// for one that could make room.
const LIMIT_RECHECK: Duration = Duration::from_millis(50);
/// How long the listeners rest after `accept` fails: the first time, and
/// at most.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

impl IoLoop {
    /// Registers the listeners for `POLLIN` while the server accepts, unless
    /// `accept` is resting after a failure, or the server is at the
    /// connection limit with no connection that could make room: then new
    /// clients wait in the kernel's backlog.
    pub(super) fn update_listeners(&mut self) -> io::Result<()> {
        let limit = self.server.adjustments.connection_limit;
        if self.accepting {
            if self.open >= limit && !self.at_limit {
                self.at_limit = true;
                self.server.logger.warn(
                    "waitress",
                    format_args!(
                        "total open connections reached the connection limit ({limit}): each new client now replaces the connection that has waited longest for a request"
                    ),
                );
            } else if self.open < limit - limit / 10 && self.at_limit {
                // Well below, not one below: at the limit connections come
                // and go all the time, and each episode is logged once.
                self.at_limit = false;
                let evicted = std::mem::take(&mut self.evicted);
                self.server.logger.info(
                    "waitress",
                    format_args!(
                        "total open connections dropped below the connection limit ({} open); {evicted} connection(s) were closed to make room",
                        self.open
                    ),
                );
            }
        }
        if self
            .limit_recheck
            .is_some_and(|at| self.open < limit || Instant::now() >= at)
        {
            self.limit_recheck = None;
        }
        // The clock is read only while a pause is on, not on every turn.
        if self.accept_resume.is_some_and(|at| Instant::now() >= at) {
            self.accept_resume = None;
        }
        let listen = self.accepting && self.limit_recheck.is_none() && self.accept_resume.is_none();
        if listen != self.listening {
            self.listening = listen;
            let interest = if listen { POLLIN } else { Events::EMPTY };
            for (index, (listener, _)) in self.server.listeners.iter().enumerate() {
                let key = Source::Listener(index).key();
                self.poller.modify(listener.as_raw_fd(), key, interest)?;
            }
        }
        Ok(())
    }

    // ANCHOR: accept
    /// Accepts what the listener has, at most a batch per turn so that the
    /// connections already open keep being served. At the connection limit
    /// each new client replaces the connection that has waited longest for
    /// a request ([`Channel::evictable_since`]); when none may be closed,
    /// new clients wait in the backlog.
    pub(super) fn accept(&mut self, listener_index: usize) {
        let limit = self.server.adjustments.connection_limit;
        for _ in 0..ACCEPT_BATCH {
            let mut make_room = None;
            if self.open >= limit {
                make_room = self.longest_waiting();
                if make_room.is_none() {
                    self.limit_recheck = Some(Instant::now() + LIMIT_RECHECK);
                    return;
                }
            }
            let Some((listener, address)) = self.server.listeners.get(listener_index) else {
                return;
            };
            match accept_one(listener, address) {
                Ok((stream, info)) => {
                    self.accepted_again();
                    if let Some(slot) = make_room {
                        self.evict(slot);
                    }
                    self.add_channel(stream, info);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // The client gave up before we took it: nothing to do.
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(e) => return self.accept_failed(&e),
            }
        }
    }
    // ANCHOR_END: accept

    // ANCHOR: accept_failed
    /// `accept` failed for want of a resource: out of descriptors (EMFILE,
    /// ENFILE) or kernel memory. The pending connection stays in the
    /// backlog, so a level-triggered poller would report the listener ready
    /// again at once and the loop would spin. Instead the listeners rest,
    /// 10 ms at first, doubling up to 1 s while the failures go on; the
    /// connections already open are served meanwhile and, as they close,
    /// free descriptors. One line is logged when this begins and one when
    /// it ends, never one per attempt.
    fn accept_failed(&mut self, error: &io::Error) {
        if self.accept_failures == 0 {
            self.server.logger.warn(
                "waitress",
                format_args!(
                    "accept() failed: {error}; pausing new connections (open: {}) until it succeeds again",
                    self.open
                ),
            );
            self.accept_backoff = ACCEPT_BACKOFF_MIN;
        } else {
            self.accept_backoff = (self.accept_backoff * 2).min(ACCEPT_BACKOFF_MAX);
        }
        self.accept_failures += 1;
        self.accept_resume = Some(Instant::now() + self.accept_backoff);
    }

    /// A connection was accepted: end a failure episode, if one was going on.
    fn accepted_again(&mut self) {
        if self.accept_failures > 0 {
            let failures = std::mem::take(&mut self.accept_failures);
            self.server.logger.info(
                "waitress",
                format_args!("accept() works again after {failures} failed attempt(s)"),
            );
        }
    }
    // ANCHOR_END: accept_failed

    /// The connection that has waited longest for a request among those
    /// that may be closed to make room.
    fn longest_waiting(&self) -> Option<usize> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(slot, channel)| Some((channel.as_ref()?.evictable_since()?, slot)))
            .min()
            .map(|(_, slot)| slot)
    }

    /// Closes a connection to make room for a new client.
    fn evict(&mut self, slot: usize) {
        if let Some(channel) = &self.slots[slot] {
            channel.say_goodbye(&self.server.context.task_context);
        }
        self.evicted += 1;
        self.close(slot);
    }
}
