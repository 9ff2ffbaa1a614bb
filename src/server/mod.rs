//! Listeners, the poll loop, and `create_server` / `serve`.
//!
//! One I/O thread runs [`Server::run`]: a poll loop (a [`sys::Poller`]) over the listening
//! sockets, the trigger (the wake-up socket other threads write to) and every
//! connection's channel. It accepts connections, reads and parses requests,
//! writes what workers could not send directly, enforces the connection limit
//! and the idle timeout, and is the only thread that closes sockets. It never
//! blocks (every socket is nonblocking) and never runs application code.
//!
//! ```no_run
//! use waitress::config::Adjustments;
//! use waitress::server::create_server;
//! use waitress::gateway::{headers, AppResult, Body, Environ, StartResponse};
//!
//! fn hello(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
//!     start_response.start_response("200 OK", headers(&[("Content-Type", "text/plain")]), None)?;
//!     Ok(Body::from("Hello, world!"))
//! }
//!
//! let adjustments = Adjustments::builder().listen("127.0.0.1:0").build().unwrap();
//! let server = create_server(hello, adjustments).unwrap();
//! println!("listening on {}", server.addresses()[0]);
//! let handle = server.handle();
//! std::thread::spawn(move || server.run());
//! // … later, from any thread:
//! handle.shutdown();
//! ```
#![forbid(unsafe_code)]

pub mod channel;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::apps::proxy_headers::{ProxyConfig, ProxyHeaders};
use crate::config::{Adjustments, PreboundSocket};
use crate::gateway::{AppResult, Application, Environ, StartResponse};
use crate::http::parser::Limits;
use crate::io::sys::{
    self, Events, Listener, POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, Poller, Signal,
};
use crate::io::trigger::Trigger;
use crate::logging::Logger;
use crate::pool::{Dispatcher, ThreadedTaskDispatcher};
use crate::server::channel::{Channel, ConnectionInfo, Next, ServerShared, Stream, Token, Wake};
use crate::task::TaskContext;

/// The least time a stopping server gives its worker threads to exit, even
/// after a second signal or once `shutdown_timeout` has run out: enough for
/// idle workers to wake and leave, too little to wait for a busy one.
const WORKER_EXIT_GRACE: Duration = Duration::from_millis(100);

/// How long the I/O thread keeps looking for work before it sleeps, unless
/// [`ServerBuilder::io_spin`] says otherwise.
pub const DEFAULT_IO_SPIN: Duration = Duration::from_micros(50);

/// Where a server listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListenAddress {
    /// A TCP address (with the real port when 0 was asked for).
    Tcp(SocketAddr),
    /// A Unix domain socket's path.
    Unix(PathBuf),
}

impl fmt::Display for ListenAddress {
    /// `http://127.0.0.1:8080`, `http://[::1]:8080` or `http://unix:/path`,
    /// as Waitress prints them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenAddress::Tcp(address) => write!(f, "http://{address}"),
            ListenAddress::Unix(path) => write!(f, "http://unix:{}", path.display()),
        }
    }
}

// ANCHOR: io_waker
/// How workers and the shutdown handle wake the I/O thread: a list of
/// channels whose state changed, and the trigger.
struct IoWaker {
    trigger: Trigger,
    changed: Mutex<Vec<Token>>,
    shutdown: AtomicBool,
}

impl Wake for IoWaker {
    fn wake(&self, token: Token) {
        let mut changed = self.changed.lock().unwrap_or_else(PoisonError::into_inner);
        let first = changed.is_empty();
        changed.push(token);
        drop(changed);
        if first {
            // Later wakers find the list non-empty: one pull serves them all.
            self.trigger.pull();
        }
    }

    fn wake_loop(&self) {
        self.trigger.pull();
    }
}
// ANCHOR_END: io_waker

/// Stops a running server from any thread: it stops accepting, answers the
/// requests already received (each last response saying `Connection:
/// close`), closes idle connections and returns from [`Server::run`] once
/// they are done, or after the `shutdown_timeout` adjustment.
#[derive(Clone)]
pub struct ServerHandle {
    waker: Arc<IoWaker>,
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle").finish_non_exhaustive()
    }
}

impl ServerHandle {
    /// Asks the server to shut down gracefully. Returns at once.
    pub fn shutdown(&self) {
        self.waker.shutdown.store(true, Ordering::SeqCst);
        self.waker.trigger.pull();
    }
}

/// An application shared by pointer, so that a middleware can wrap it.
struct Shared(Arc<dyn Application>);

impl Application for Shared {
    fn call(&self, environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        self.0.call(environ, start_response)
    }
}

/// Builds a [`Server`] with a custom dispatcher or logger.
///
/// ```no_run
/// use std::sync::Arc;
/// use waitress::config::Adjustments;
/// use waitress::pool::{Dispatcher, ThreadedTaskDispatcher};
/// use waitress::server::ServerBuilder;
/// # fn app(_: &mut waitress::gateway::Environ, s: &mut dyn waitress::gateway::StartResponse) -> waitress::gateway::AppResult { s.start_response("204 No Content", vec![], None)?; Ok(waitress::gateway::Body::empty()) }
///
/// let dispatcher = Arc::new(ThreadedTaskDispatcher::new());
/// dispatcher.set_thread_count(8);
/// let server = ServerBuilder::new(app, Adjustments::default())
///     .dispatcher(dispatcher)
///     .build()
///     .unwrap();
/// ```
pub struct ServerBuilder {
    app: Arc<dyn Application>,
    adjustments: Adjustments,
    dispatcher: Option<Arc<dyn Dispatcher>>,
    logger: Option<Logger>,
    io_spin: Duration,
}

impl ServerBuilder {
    /// A builder for serving `app` with `adjustments`.
    pub fn new<A: Application>(app: A, adjustments: Adjustments) -> ServerBuilder {
        ServerBuilder {
            app: Arc::new(app),
            adjustments,
            dispatcher: None,
            logger: None,
            io_spin: DEFAULT_IO_SPIN,
        }
    }

    /// Runs tasks on this dispatcher instead of a `ThreadedTaskDispatcher`
    /// with `threads` workers (Waitress's `_dispatcher=`). Its thread count
    /// is left as it is, and it is shut down when the server stops.
    pub fn dispatcher(mut self, dispatcher: Arc<dyn Dispatcher>) -> ServerBuilder {
        self.dispatcher = Some(dispatcher);
        self
    }

    /// Logs here instead of standard error.
    pub fn logger(mut self, logger: Logger) -> ServerBuilder {
        self.logger = Some(logger);
        self
    }

    /// How long the I/O thread, once it has nothing to do, keeps checking
    /// for readiness without blocking (yielding the core in between) before
    /// it sleeps. Default [`DEFAULT_IO_SPIN`], 50 µs.
    ///
    /// Waking a sleeping thread costs whoever wakes it: the kernel, on the
    /// CPU where a client's packet arrives, or a worker pulling the
    /// trigger. Under load the next event is usually a few microseconds
    /// away, and catching it awake is cheaper for everyone. The price is at
    /// most this much CPU after each burst of activity; an idle server still
    /// sleeps. `Duration::ZERO` turns it off.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use waitress::config::Adjustments;
    /// use waitress::server::ServerBuilder;
    /// # fn app(_: &mut waitress::gateway::Environ, s: &mut dyn waitress::gateway::StartResponse) -> waitress::gateway::AppResult { s.start_response("204 No Content", vec![], None)?; Ok(waitress::gateway::Body::empty()) }
    /// let server = ServerBuilder::new(app, Adjustments::default())
    ///     .io_spin(Duration::ZERO) // a battery-powered device: always sleep at once
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn io_spin(mut self, spin: Duration) -> ServerBuilder {
        self.io_spin = spin;
        self
    }

    /// Binds the listening sockets and starts the worker threads.
    pub fn build(self) -> io::Result<Server> {
        let ServerBuilder {
            app,
            mut adjustments,
            dispatcher,
            logger,
            io_spin,
        } = self;
        let logger = logger.unwrap_or_default();
        // As in Waitress: with a trusted proxy, or to clear untrusted proxy
        // headers (the default), every request passes the middleware.
        let config = ProxyConfig::from_adjustments(&adjustments);
        let app: Arc<dyn Application> = if config.is_needed() {
            Arc::new(ProxyHeaders::new(Shared(app), config, logger.clone()))
        } else {
            app
        };
        for warning in &adjustments.warnings {
            logger.warn("waitress", format_args!("{warning}"));
        }
        let listeners = bind_listeners(&mut adjustments, &logger)?;
        let dispatcher: Arc<dyn Dispatcher> = match dispatcher {
            Some(dispatcher) => dispatcher,
            None => {
                let pool = ThreadedTaskDispatcher::builder()
                    .logger(logger.clone())
                    .build();
                pool.set_thread_count(adjustments.threads);
                Arc::new(pool)
            }
        };
        let waker = Arc::new(IoWaker {
            trigger: Trigger::new()?,
            changed: Mutex::new(Vec::new()),
            shutdown: AtomicBool::new(false),
        });
        let shared = Arc::new(ServerShared {
            app,
            task_context: TaskContext::new(&adjustments, logger.clone()),
            logger: logger.clone(),
            server_name: adjustments.server_name.clone(),
            url_scheme: adjustments.url_scheme.clone(),
            url_prefix: adjustments.url_prefix.clone(),
            ident: adjustments.ident.clone(),
            limits: Limits {
                max_header_size: adjustments.max_request_header_size,
                max_body_size: adjustments.max_request_body_size,
                inbuf_overflow: adjustments.inbuf_overflow,
            },
            lookahead: adjustments.channel_request_lookahead,
            outbuf_overflow: adjustments.outbuf_overflow,
            high_watermark: adjustments.outbuf_high_watermark as u64,
            log_socket_errors: adjustments.log_socket_errors,
            waker: Arc::clone(&waker) as Arc<dyn Wake>,
            dispatcher: Arc::clone(&dispatcher),
            tasks_waiting: AtomicBool::new(false),
        });
        Ok(Server {
            listeners,
            shared,
            waker,
            dispatcher,
            logger,
            adjustments,
            io_spin,
        })
    }
}

/// A server bound to its addresses, ready to [`run`](Server::run).
pub struct Server {
    listeners: Vec<(Listener, ListenAddress)>,
    shared: Arc<ServerShared>,
    waker: Arc<IoWaker>,
    dispatcher: Arc<dyn Dispatcher>,
    logger: Logger,
    adjustments: Adjustments,
    io_spin: Duration,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("addresses", &self.addresses())
            .finish_non_exhaustive()
    }
}

/// Binds `app` to the addresses in `adjustments` and starts its workers;
/// [`Server::run`] then serves.
pub fn create_server<A: Application>(app: A, adjustments: Adjustments) -> io::Result<Server> {
    ServerBuilder::new(app, adjustments).build()
}

/// Serves `app` until Ctrl-C or SIGTERM: prints `Serving on http://HOST:PORT`
/// for each address, as Waitress does, and shuts down gracefully.
pub fn serve<A: Application>(app: A, adjustments: Adjustments) -> io::Result<()> {
    let server = create_server(app, adjustments)?;
    for address in server.addresses() {
        println!("Serving on {address}");
    }
    server.install_signal_handlers()?;
    server.run()
}

impl Server {
    /// The addresses the server listens on, with real ports.
    pub fn addresses(&self) -> Vec<ListenAddress> {
        self.listeners
            .iter()
            .map(|(_, address)| address.clone())
            .collect()
    }

    /// A handle that shuts the server down from another thread.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            waker: Arc::clone(&self.waker),
        }
    }

    /// Makes Ctrl-C (SIGINT) and SIGTERM shut this server down gracefully.
    /// A second one while the server drains stops it at once: `run`
    /// returns without waiting for the requests in flight or the worker
    /// threads running them. Signal handlers belong to the process:
    /// install them for one server.
    pub fn install_signal_handlers(&self) -> io::Result<()> {
        sys::install_shutdown_signals(self.waker.trigger.write_fd())
    }

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

/// Connections accepted per turn of the loop at most.
const ACCEPT_BATCH: usize = 64;
/// At the connection limit with every connection busy, how often to look
/// for one that could make room.
const LIMIT_RECHECK: Duration = Duration::from_millis(50);
/// How long the listeners rest after `accept` fails: the first time, and
/// at most.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

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

struct IoLoop {
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
    fn new(server: Server) -> io::Result<IoLoop> {
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

    // ANCHOR: loop
    fn run(&mut self) -> io::Result<()> {
        // `serve` and waitress-serve print the addresses; this is for logs.
        for (_, address) in &self.server.listeners {
            self.server
                .logger
                .debug("waitress", format_args!("Serving on {address}"));
        }
        loop {
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
            self.free_slots.append(&mut self.closed_slots);
            let now = Instant::now();
            if now >= self.next_sweep {
                self.sweep(now);
            }
            if self.next_head_check.is_some_and(|due| now >= due) {
                self.check_head_deadlines(now);
            }
        }
    }
    // ANCHOR_END: loop

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
    // ANCHOR_END: shutdown_requested

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
        let shared = &self.server.shared;
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

    // ANCHOR: update_listeners
    /// Registers the listeners for `POLLIN` while the server accepts, unless
    /// `accept` is resting after a failure, or the server is at the
    /// connection limit with no connection that could make room: then new
    /// clients wait in the kernel's backlog.
    fn update_listeners(&mut self) -> io::Result<()> {
        let now = Instant::now();
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
            .is_some_and(|at| self.open < limit || now >= at)
        {
            self.limit_recheck = None;
        }
        if self.accept_resume.is_some_and(|at| now >= at) {
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
    // ANCHOR_END: update_listeners

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
                let fd = channel.shared.stream.as_raw_fd();
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
            if channel.shared.token != token {
                continue; // a wake-up for a connection that is gone
            }
            self.touched.push(token.index);
            if channel.refresh(&self.server.shared) == Next::Close {
                self.close(token.index);
            }
        }
    }

    // ANCHOR: accept
    /// Accepts what the listener has, at most a batch per turn so that the
    /// connections already open keep being served. At the connection limit
    /// each new client replaces the connection that has waited longest for
    /// a request ([`Channel::evictable_since`]); when none may be closed,
    /// new clients wait in the backlog.
    fn accept(&mut self, listener_index: usize) {
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
            channel.say_goodbye(&self.server.shared.task_context);
        }
        self.evicted += 1;
        self.close(slot);
    }

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

    fn handle_channel(&mut self, slot: usize, revents: Events) {
        let shared = Arc::clone(&self.server.shared);
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

    fn close(&mut self, slot: usize) {
        if let Some(mut channel) = self.slots[slot].take() {
            channel.release_paused(&self.server.shared);
            let fd = channel.shared.stream.as_raw_fd();
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
            if channel.check_idle(now, timeout, &self.server.shared.task_context) == Next::Close {
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
            let context = &self.server.shared.task_context;
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
    fn finish(&mut self) {
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

/// Accepts one connection, made nonblocking, with what the environ needs
/// to know about it.
fn accept_one(
    listener: &Listener,
    address: &ListenAddress,
) -> io::Result<(Stream, ConnectionInfo)> {
    let server_port = match address {
        ListenAddress::Tcp(local) => local.port().to_string(),
        ListenAddress::Unix(path) => path.display().to_string(),
    };
    match listener {
        Listener::Tcp(listener) => {
            let (stream, peer) = listener.accept()?;
            stream.set_nonblocking(true)?;
            stream.set_nodelay(true)?;
            let info = ConnectionInfo {
                remote_addr: peer.ip().to_string(),
                remote_port: peer.port().to_string(),
                server_port,
            };
            Ok((Stream::Tcp(stream), info))
        }
        Listener::Unix(listener) => {
            let (stream, _) = listener.accept()?;
            stream.set_nonblocking(true)?;
            let info = ConnectionInfo {
                remote_addr: "localhost".to_string(),
                remote_port: String::new(),
                server_port,
            };
            Ok((Stream::Unix(stream), info))
        }
    }
}

// ANCHOR: bind_listeners
/// Binds (or adopts) every listening socket the adjustments ask for.
fn bind_listeners(
    adjustments: &mut Adjustments,
    logger: &Logger,
) -> io::Result<Vec<(Listener, ListenAddress)>> {
    let backlog = adjustments.backlog;
    let mut listeners = Vec::new();
    let inherited = sys::listen_fds_from_env()?;
    if !inherited.is_empty() {
        logger.info(
            "waitress",
            format_args!(
                "Using {} socket(s) from systemd socket activation",
                inherited.len()
            ),
        );
        adjustments
            .sockets
            .extend(inherited.into_iter().map(PreboundSocket::Fd));
    }
    for socket in std::mem::take(&mut adjustments.sockets) {
        let listener = match socket {
            PreboundSocket::Tcp(listener) => Listener::Tcp(listener),
            PreboundSocket::Unix(listener) => Listener::Unix(listener),
            PreboundSocket::Fd(fd) => sys::adopt_listener(fd)?,
        };
        listeners.push(listener);
    }
    if listeners.is_empty() {
        if let Some(path) = adjustments.unix_socket.clone() {
            listeners.push(Listener::Unix(bind_unix(
                &path,
                adjustments.unix_socket_perms,
                backlog,
            )?));
        } else {
            for address in &adjustments.listen {
                let listener = sys::bind_tcp_listener(*address, backlog, address.is_ipv6())
                    .map_err(|e| {
                        io::Error::new(e.kind(), format!("cannot listen on {address}: {e}"))
                    })?;
                listeners.push(Listener::Tcp(listener));
            }
        }
    }
    let mut bound = Vec::new();
    for listener in listeners {
        let address = match &listener {
            Listener::Tcp(listener) => {
                listener.set_nonblocking(true)?;
                ListenAddress::Tcp(listener.local_addr()?)
            }
            Listener::Unix(listener) => {
                listener.set_nonblocking(true)?;
                let path = listener
                    .local_addr()?
                    .as_pathname()
                    .map(Path::to_path_buf)
                    .unwrap_or_default();
                ListenAddress::Unix(path)
            }
        };
        bound.push((listener, address));
    }
    if bound.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "nothing to listen on",
        ));
    }
    Ok(bound)
}
// ANCHOR_END: bind_listeners

/// Binds a Unix domain socket, replacing a stale socket file but never any
/// other kind of file.
fn bind_unix(path: &Path, perms: u32, backlog: u32) -> io::Result<UnixListener> {
    if let Ok(metadata) = std::fs::symlink_metadata(path) {
        if metadata.file_type().is_socket() {
            std::fs::remove_file(path)?;
        } else {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("unix_socket {} exists and is not a socket", path.display()),
            ));
        }
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(perms))?;
    sys::set_listen_backlog(&listener, backlog)?;
    Ok(listener)
}
