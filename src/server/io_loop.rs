//! The poll loop: one I/O thread waits for readiness on the listeners, the
//! trigger and every connection, and reacts: accept, read and parse, write
//! what workers could not, time out, close. It never blocks (every socket is
//! nonblocking) and never runs application code.
#![forbid(unsafe_code)]

use std::io;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use crate::io::sys::{self, Events, POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, Poller, Signal};
use crate::server::Server;
use crate::server::channel::Channel;
use crate::server::connection::Next;
use crate::server::listeners::ListenAddress;
use crate::server::stream::{ConnectionInfo, Stream};
use crate::server::waker::Token;

mod accept;

/// The least time a stopping server gives its worker threads to exit, even
/// after a second signal or once `shutdown_timeout` has run out: enough for
/// idle workers to wake and leave, too little to wait for a busy one.
const WORKER_EXIT_GRACE: Duration = Duration::from_millis(100);

impl Server {
    // ANCHOR: run
    /// Runs the poll loop until the server is shut down, then waits (up to
    /// the `shutdown_timeout` adjustment, 30 s by default) for requests in
    /// flight and stops the workers. After a second SIGINT or SIGTERM it
    /// returns at once, leaving behind any worker still inside the
    /// application (a thread cannot be killed; the process can exit).
    pub fn run(self) -> io::Result<()> {
        let mut io_loop = IoLoop::new(self)?;
        let result = io_loop.run();
        io_loop.finish();
        result
    }
    // ANCHOR_END: run
}

/// What a key the poller reports stands for: the trigger and the
/// listeners take keys from the top of the range, channels their slot.
#[derive(Clone, Copy)]
enum Source {
    Trigger,
    Listener(usize),
    Channel(usize),
}

const TRIGGER_KEY: usize = usize::MAX;
const MAX_LISTENERS: usize = 1 << 16;

impl Source {
    fn key(self) -> usize {
        match self {
            Source::Trigger => TRIGGER_KEY,
            Source::Listener(index) => TRIGGER_KEY - 1 - index,
            Source::Channel(slot) => slot,
        }
    }

    fn from_key(key: usize) -> Source {
        match TRIGGER_KEY - key {
            0 => Source::Trigger,
            distance if distance <= MAX_LISTENERS => Source::Listener(distance - 1),
            _ => Source::Channel(key),
        }
    }
}

pub(super) struct IoLoop {
    server: Server,
    slots: Vec<Option<Channel>>,
    free_slots: Vec<usize>,
    /// Slots closed during this turn: reused only from the next one, so a
    /// readiness report still pending for the old connection cannot reach
    /// a new one.
    closed_slots: Vec<usize>,
    generation: u64,
    open: usize,
    poller: Poller,
    ready: Vec<(usize, Events)>,
    /// What each slot's descriptor is registered for.
    registered: Vec<Events>,
    /// Slots whose wishes may have changed since their registration.
    touched: Vec<usize>,
    /// Whether the listeners are registered for `POLLIN`.
    listening: bool,
    read_buffer: Vec<u8>,
    scratch: Vec<u8>,
    accepting: bool,
    at_limit: bool,
    /// Connections closed to make room since the limit was reached.
    evicted: u64,
    /// At the limit with no connection that could make room: accepting
    /// resumes when one closes, or at this time, to look again.
    limit_recheck: Option<Instant>,
    /// `accept` failed for want of descriptors (or another resource): the
    /// listeners rest until then, instead of reporting ready in a loop.
    accept_resume: Option<Instant>,
    accept_backoff: Duration,
    /// Failed `accept` calls in this episode, logged when it ends.
    accept_failures: u64,
    shutdown_deadline: Option<Instant>,
    /// A second shutdown signal came during the drain: stop without waiting.
    forced: bool,
    next_sweep: Instant,
    /// The earliest `request_header_timeout` deadline of a head in progress.
    next_head_check: Option<Instant>,
}

impl IoLoop {
    pub(super) fn new(server: Server) -> io::Result<IoLoop> {
        let read_buffer = vec![0; server.adjustments.recv_bytes];
        let next_sweep = Instant::now() + Duration::from_secs(server.adjustments.cleanup_interval);
        if server.listeners.len() > MAX_LISTENERS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "too many listening sockets",
            ));
        }
        let mut poller = Poller::new()?;
        let trigger = server.waker.trigger.fd();
        poller.add(trigger, Source::Trigger.key(), POLLIN)?;
        for (index, (listener, _)) in server.listeners.iter().enumerate() {
            poller.add(listener.as_raw_fd(), Source::Listener(index).key(), POLLIN)?;
        }
        Ok(IoLoop {
            server,
            slots: Vec::new(),
            free_slots: Vec::new(),
            closed_slots: Vec::new(),
            generation: 0,
            open: 0,
            poller,
            ready: Vec::new(),
            registered: Vec::new(),
            touched: Vec::new(),
            listening: true,
            read_buffer,
            scratch: vec![0; 64 * 1024],
            accepting: true,
            at_limit: false,
            evicted: 0,
            limit_recheck: None,
            accept_resume: None,
            accept_backoff: Duration::ZERO,
            accept_failures: 0,
            shutdown_deadline: None,
            forced: false,
            next_sweep,
            next_head_check: None,
        })
    }

    pub(super) fn run(&mut self) -> io::Result<()> {
        // `serve` and waitress-serve print the addresses; this is for logs.
        for (_, address) in &self.server.listeners {
            self.server
                .logger
                .debug("waitress", format_args!("Serving on {address}"));
        }
        // ANCHOR: loop_turn
        loop {
            self.handle_hangups();
            if self.shutdown_requested() {
                return Ok(()); // forced: a second signal
            }
            if let Some(deadline) = self.shutdown_deadline {
                if self.open == 0 || Instant::now() >= deadline {
                    return Ok(());
                }
            }
            self.retry_blocked_tasks();
            self.update_listeners()?;
            self.update_interest();
            // ANCHOR: turn
            let mut ready = std::mem::take(&mut self.ready);
            self.wait(&mut ready)?;
            for &(key, events) in &ready {
                match Source::from_key(key) {
                    Source::Trigger => {
                        self.server.waker.trigger.drain();
                    }
                    Source::Listener(listener) => self.accept(listener),
                    Source::Channel(slot) => self.handle_channel(slot, events),
                }
            }
            self.ready = ready;
            self.handle_changed_channels();
            // ANCHOR_END: turn
            self.free_slots.append(&mut self.closed_slots);
            let now = Instant::now();
            if now >= self.next_sweep {
                self.sweep(now);
            }
            if self.next_head_check.is_some_and(|due| now >= due) {
                self.check_head_deadlines(now);
            }
        }
        // ANCHOR_END: loop_turn
    }

    // ANCHOR: shutdown_requested
    /// Begins the drain when asked (by the handle or a first SIGINT or
    /// SIGTERM), and returns `true` when a signal asks again during the
    /// drain: the operator wants the server gone now.
    fn shutdown_requested(&mut self) -> bool {
        let mut signals = sys::take_pending_signals();
        if self.shutdown_deadline.is_none() {
            if signals.is_some() {
                self.server.waker.shutdown.store(true, Ordering::SeqCst);
            }
            if !self.server.waker.shutdown.load(Ordering::SeqCst) {
                return false;
            }
            self.begin_shutdown();
            // The first signal began the drain; only more count again.
            signals = signals
                .filter(|&(_, count)| count > 1)
                .map(|(signal, count)| (signal, count - 1));
        }
        match signals {
            Some((signal, _)) => {
                self.force_shutdown(signal);
                true
            }
            None => false,
        }
    }
    // ANCHOR_END: shutdown_requested

    // ANCHOR: handle_hangups
    /// SIGHUP: runs the `on_sighup` hooks (reopen the access log), once for
    /// however many arrived. It never stops the server.
    fn handle_hangups(&mut self) {
        if sys::take_pending_hangups() == 0 {
            return;
        }
        let logger = &self.server.logger;
        if self.server.hangup_hooks.is_empty() {
            logger.info("waitress", format_args!("SIGHUP: nothing to reopen"));
        }
        for hook in &mut self.server.hangup_hooks {
            match hook() {
                Ok(()) => logger.info("waitress", format_args!("SIGHUP: reopened")),
                Err(error) => logger.error("waitress", format_args!("SIGHUP: {error}")),
            }
        }
    }
    // ANCHOR_END: handle_hangups

    /// A second signal: stop waiting for requests in flight.
    fn force_shutdown(&mut self, signal: Signal) {
        self.server.logger.warn(
            "waitress",
            format_args!(
                "{signal} again: exiting without waiting for {} connection(s) with requests in flight",
                self.open
            ),
        );
        self.forced = true;
    }

    /// Stops accepting, closes idle connections, and lets the others finish
    /// what they have received.
    fn begin_shutdown(&mut self) {
        self.server.logger.info(
            "waitress",
            format_args!("Shutting down: finishing requests in flight"),
        );
        let now = Instant::now();
        let timeout = Duration::from_secs(self.server.adjustments.shutdown_timeout);
        // A timeout too large for the clock waits as good as forever.
        let far = || now + Duration::from_secs(100 * 365 * 24 * 60 * 60);
        self.shutdown_deadline = Some(now.checked_add(timeout).unwrap_or_else(far));
        self.accepting = false;
        for slot in 0..self.slots.len() {
            let Some(channel) = self.slots[slot].as_mut() else {
                continue;
            };
            if channel.is_idle() {
                self.close(slot);
            } else {
                channel.close_when_done();
                self.touched.push(slot);
            }
        }
        self.remove_listeners();
    }

    fn remove_listeners(&mut self) {
        for (listener, address) in self.server.listeners.drain(..) {
            let _ = self.poller.remove(listener.as_raw_fd());
            drop(listener);
            if let ListenAddress::Unix(path) = address {
                let _ = std::fs::remove_file(path);
            }
        }
    }

    fn retry_blocked_tasks(&mut self) {
        let shared = &self.server.context;
        if !shared.tasks_waiting.swap(false, Ordering::SeqCst) {
            return;
        }
        for (slot, channel) in self.slots.iter_mut().enumerate() {
            let Some(channel) = channel else { continue };
            if let Some(task) = channel.blocked_task.take() {
                channel.offer(task, shared); // sets tasks_waiting again if refused
                if channel.blocked_task.is_none() {
                    channel.want_read = true;
                }
                self.touched.push(slot);
            }
        }
    }

    /// Tells the poller what each channel touched since the last turn now
    /// wants: `POLLIN` and/or `POLLOUT`, or nothing (errors and hang-ups
    /// are reported anyway). Only changes cost a system call.
    fn update_interest(&mut self) {
        let mut touched = std::mem::take(&mut self.touched);
        for slot in touched.drain(..) {
            let Some(Some(channel)) = self.slots.get(slot) else {
                continue;
            };
            let mut interest = Events::EMPTY;
            if channel.want_read {
                interest |= POLLIN;
            }
            if channel.want_write {
                interest |= POLLOUT;
            }
            if self.registered[slot] != interest {
                let fd = channel.connection.stream.as_raw_fd();
                match self
                    .poller
                    .modify(fd, Source::Channel(slot).key(), interest)
                {
                    Ok(()) => self.registered[slot] = interest,
                    Err(e) => {
                        // The kernel refused (out of memory): this
                        // connection cannot be watched any more, the
                        // others can.
                        self.server
                            .logger
                            .warn("waitress", format_args!("cannot watch a connection: {e}"));
                        self.close(slot);
                    }
                }
            }
        }
        self.touched = touched; // keep the capacity
    }

    // ANCHOR: wait
    /// Fills `ready` with what is ready. First it looks without blocking,
    /// for up to `io_spin`, yielding the core between looks so that workers
    /// on the same core can run. Then it sleeps, unless a worker pulled the
    /// trigger since the last turn.
    fn wait(&mut self, ready: &mut Vec<(usize, Events)>) -> io::Result<()> {
        let trigger = &self.server.waker.trigger;
        if !self.server.io_spin.is_zero() {
            let deadline = Instant::now() + self.server.io_spin;
            loop {
                self.poller.wait(ready, Some(Duration::ZERO))?;
                if !ready.is_empty() {
                    return Ok(());
                }
                if trigger.is_pulled() || Instant::now() >= deadline {
                    break;
                }
                std::thread::yield_now();
            }
        }
        let timeout = self.poll_timeout();
        trigger.wait(&mut self.poller, ready, timeout)
    }
    // ANCHOR_END: wait

    /// Sleep until something happens, or until the next idle sweep is due
    /// when there are connections to sweep: an idle server wakes for nothing.
    fn poll_timeout(&self) -> Option<Duration> {
        let now = Instant::now();
        let mut timeout = None;
        if self.open > 0 {
            timeout = Some(self.next_sweep.saturating_duration_since(now));
        }
        let wake_ups = [
            self.shutdown_deadline,
            self.next_head_check,
            self.accept_resume,
            self.limit_recheck,
        ];
        for at in wake_ups.into_iter().flatten() {
            let until = at.saturating_duration_since(now);
            timeout = Some(timeout.map_or(until, |t: Duration| t.min(until)));
        }
        timeout
    }

    // ANCHOR: changed_channels
    /// Channels whose state a worker changed since the last turn.
    fn handle_changed_channels(&mut self) {
        let changed = std::mem::take(
            &mut *self
                .server
                .waker
                .changed
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for token in changed {
            let Some(Some(channel)) = self.slots.get_mut(token.index) else {
                continue;
            };
            if channel.connection.token != token {
                continue; // a wake-up for a connection that is gone
            }
            self.touched.push(token.index);
            if channel.refresh(&self.server.context) == Next::Close {
                self.close(token.index);
            }
        }
    }
    // ANCHOR_END: changed_channels

    // ANCHOR: add_channel
    fn add_channel(&mut self, stream: Stream, info: ConnectionInfo) {
        self.generation += 1;
        let index = self.free_slots.pop().unwrap_or_else(|| {
            self.slots.push(None);
            self.registered.push(Events::EMPTY);
            self.slots.len() - 1
        });
        let token = Token {
            index,
            generation: self.generation,
        };
        let fd = stream.as_raw_fd();
        if let Err(e) = self.poller.add(fd, Source::Channel(index).key(), POLLIN) {
            // Out of kernel memory for the set: refuse this one connection.
            self.server
                .logger
                .warn("waitress", format_args!("cannot watch a connection: {e}"));
            self.free_slots.push(index);
            return;
        }
        self.registered[index] = POLLIN;
        self.slots[index] = Some(Channel::new(token, stream, info));
        self.open += 1;
        // Clients usually send their request right after connecting: try to
        // read it now rather than after another turn of the loop. If it has
        // not arrived, this costs one system call that says WouldBlock.
        self.handle_channel(index, POLLIN);
    }
    // ANCHOR_END: add_channel

    // ANCHOR: handle_channel
    fn handle_channel(&mut self, slot: usize, revents: Events) {
        let shared = Arc::clone(&self.server.context);
        let Some(Some(channel)) = self.slots.get_mut(slot) else {
            return;
        };
        self.touched.push(slot);
        let mut next = Next::Continue;
        if revents.intersects(POLLERR | POLLNVAL) {
            next = Next::Close;
        }
        if next == Next::Continue && revents.intersects(POLLOUT) {
            next = channel.handle_write(&mut self.scratch, &shared);
        }
        if next == Next::Continue && revents.intersects(POLLIN) && channel.want_read {
            next = channel.handle_read(&mut self.read_buffer, &shared);
        }
        if next == Next::Continue && revents.intersects(POLLHUP) && !revents.intersects(POLLIN) {
            // Hung up in both directions: nothing can be sent any more.
            next = Next::Close;
        }
        if next == Next::Close {
            self.close(slot);
            return;
        }
        if let Some(started) = channel.head_started {
            let timeout = Duration::from_secs(self.server.adjustments.request_header_timeout);
            self.watch_head_deadline(Some(started + timeout));
        }
    }
    // ANCHOR_END: handle_channel

    fn close(&mut self, slot: usize) {
        if let Some(mut channel) = self.slots[slot].take() {
            channel.release_paused(&self.server.context);
            let fd = channel.connection.stream.as_raw_fd();
            if channel.is_shared() {
                // A worker may keep the socket open past our close.
                let _ = self.poller.remove(fd);
            } else {
                let _ = self.poller.remove_closing(fd);
            }
            channel.close();
            self.closed_slots.push(slot);
            self.open -= 1;
        }
    }

    fn sweep(&mut self, now: Instant) {
        let interval = Duration::from_secs(self.server.adjustments.cleanup_interval);
        self.next_sweep = now + interval;
        let timeout = Duration::from_secs(self.server.adjustments.channel_timeout);
        for slot in 0..self.slots.len() {
            let Some(channel) = self.slots[slot].as_mut() else {
                continue;
            };
            if channel.check_idle(now, timeout, &self.server.context.task_context) == Next::Close {
                self.close(slot);
            } else {
                self.touched.push(slot);
            }
        }
    }

    /// Answers `408` to every head that has taken longer than
    /// `request_header_timeout`, and finds the next deadline.
    fn check_head_deadlines(&mut self, now: Instant) {
        let timeout = Duration::from_secs(self.server.adjustments.request_header_timeout);
        self.next_head_check = None;
        for slot in 0..self.slots.len() {
            let Some(channel) = self.slots[slot].as_mut() else {
                continue;
            };
            if channel.head_started.is_none() {
                continue;
            }
            let context = &self.server.context.task_context;
            let (next, again) = channel.check_head_deadline(now, timeout, context);
            if next == Next::Close {
                self.close(slot);
                continue;
            }
            if again.is_none() {
                self.touched.push(slot); // it may have a 408 to send
            }
            self.watch_head_deadline(again);
        }
    }

    fn watch_head_deadline(&mut self, deadline: Option<Instant>) {
        if let Some(deadline) = deadline {
            if self.next_head_check.is_none_or(|due| deadline < due) {
                self.next_head_check = Some(deadline);
            }
        }
    }

    // ANCHOR: finish
    /// After the loop: close what is left and stop the workers, waiting for
    /// them only as long as the drain has left (after a second signal, not
    /// at all; after an I/O error, which has no drain, 5 s), but always
    /// `WORKER_EXIT_GRACE`, so that idle workers are not reported stuck.
    pub(super) fn finish(&mut self) {
        for slot in 0..self.slots.len() {
            self.close(slot);
        }
        self.remove_listeners();
        let wait = match self.shutdown_deadline {
            _ if self.forced => Duration::ZERO,
            Some(deadline) => deadline.saturating_duration_since(Instant::now()),
            None => Duration::from_secs(5),
        };
        // The dispatcher logs the threads it leaves running, if any.
        self.server
            .dispatcher
            .shutdown(true, wait.max(WORKER_EXIT_GRACE));
    }
    // ANCHOR_END: finish
}
