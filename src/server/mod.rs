//! The server: [`serve`] in one call, or a [`ServerBuilder`] for a
//! [`Server`] to run and stop yourself.
//!
//! One I/O thread runs [`Server::run`]: a poll loop (a `Poller`) over the listening
//! sockets, the trigger (the wake-up socket other threads write to) and every
//! connection's channel. It accepts connections, reads and parses requests,
//! writes what workers could not send directly, enforces the connection limit
//! and the idle timeout, and is the only thread that closes sockets. It never
//! blocks (every socket is nonblocking) and never runs application code.
//!
//! ```no_run
//! use waitress::config::Adjustments;
//! use waitress::server::ServerBuilder;
//! use waitress::gateway::{headers, AppResult, Body, Environ, StartResponse};
//!
//! fn hello(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
//!     start_response.start_response("200 OK", headers(&[("Content-Type", "text/plain")]), None)?;
//!     Ok(Body::from("Hello, world!"))
//! }
//!
//! let adjustments = Adjustments::builder().listen("127.0.0.1:0").build().unwrap();
//! let server = ServerBuilder::new(hello, adjustments).build().unwrap();
//! println!("listening on {}", server.addresses()[0]);
//! let handle = server.handle();
//! std::thread::spawn(move || server.run());
//! // … later, from any thread:
//! handle.shutdown();
//! ```
#![forbid(unsafe_code)]

mod channel;
mod channel_task;
mod connection;
mod io_loop;
mod listeners;
mod output;
mod stream;
mod waker;

use std::fmt;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::apps::proxy_headers::{ProxyConfig, ProxyHeaders};
use crate::config::Adjustments;
use crate::gateway::{AppResult, Application, Environ, StartResponse};
use crate::http::parser::Limits;
/// The signals a server installs handlers for ([`Server::install_signal_handlers`]).
pub use crate::io::sys::Signal;
use crate::io::sys::{self, Listener};
use crate::io::trigger::Trigger;
use crate::logging::Logger;
use crate::pool::{Dispatcher, ThreadedTaskDispatcher};
use crate::task::TaskContext;
use connection::ServerContext;
pub use listeners::ListenAddress;
use listeners::bind_listeners;
use waker::IoWaker;

/// How long the I/O thread keeps looking for work before it sleeps, unless
/// [`ServerBuilder::io_spin`] says otherwise.
pub const DEFAULT_IO_SPIN: Duration = Duration::from_micros(50);

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
struct SharedApp(Arc<dyn Application>);

impl Application for SharedApp {
    fn call(&self, environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        self.0.call(environ, start_response)
    }
}

/// What the I/O thread runs when SIGHUP arrives ([`ServerBuilder::on_sighup`]).
type HangupHook = Box<dyn FnMut() -> io::Result<()> + Send>;

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
    hangup_hooks: Vec<HangupHook>,
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
            hangup_hooks: Vec::new(),
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

    // ANCHOR: on_sighup
    /// Runs `hook` on the I/O thread when SIGHUP arrives (once however many
    /// came before the thread looked), so that it can reopen a log file
    /// that logrotate moved away. An error is logged and the server keeps
    /// serving. Keep it short: the I/O thread serves no one meanwhile.
    ///
    /// SIGHUP is only caught once [`Server::install_signal_handlers`] has
    /// run; from then on it never stops the server, hooks or not.
    ///
    /// ```no_run
    /// use waitress::apps::access_log::{AccessLog, LogFile};
    /// use waitress::config::Adjustments;
    /// use waitress::server::ServerBuilder;
    ///
    /// let file = LogFile::open("access.log")?;
    /// let app = AccessLog::new(waitress::apps::hello, file.clone());
    /// let server = ServerBuilder::new(app, Adjustments::default())
    ///     .on_sighup(move || file.reopen())
    ///     .build()?;
    /// server.install_signal_handlers()?;
    /// server.run()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn on_sighup<F>(mut self, hook: F) -> ServerBuilder
    where
        F: FnMut() -> io::Result<()> + Send + 'static,
    {
        self.hangup_hooks.push(Box::new(hook));
        self
    }
    // ANCHOR_END: on_sighup

    /// Binds the listening sockets and starts the worker threads.
    pub fn build(self) -> io::Result<Server> {
        let ServerBuilder {
            app,
            mut adjustments,
            dispatcher,
            logger,
            io_spin,
            hangup_hooks,
        } = self;
        let logger = logger.unwrap_or_default();
        // As in Waitress: with a trusted proxy, or to clear untrusted proxy
        // headers (the default), every request passes the middleware.
        let config = ProxyConfig::from_adjustments(&adjustments);
        let app: Arc<dyn Application> = if config.is_needed() {
            Arc::new(ProxyHeaders::new(SharedApp(app), config, logger.clone()))
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
        let waker = Arc::new(IoWaker::new(Trigger::new()?));
        let context = Arc::new(ServerContext {
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
            waker: Arc::clone(&waker),
            dispatcher: Arc::clone(&dispatcher),
            tasks_waiting: AtomicBool::new(false),
        });
        Ok(Server {
            listeners,
            context,
            waker,
            dispatcher,
            logger,
            adjustments,
            io_spin,
            hangup_hooks,
        })
    }
}

/// A server bound to its addresses, ready to [`run`](Server::run).
pub struct Server {
    listeners: Vec<(Listener, ListenAddress)>,
    context: Arc<ServerContext>,
    waker: Arc<IoWaker>,
    dispatcher: Arc<dyn Dispatcher>,
    logger: Logger,
    adjustments: Adjustments,
    io_spin: Duration,
    hangup_hooks: Vec<HangupHook>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("addresses", &self.addresses())
            .finish_non_exhaustive()
    }
}

/// Serves `app` until Ctrl-C or SIGTERM: prints `Serving on http://HOST:PORT`
/// for each address, as Waitress does, and shuts down gracefully.
pub fn serve<A: Application>(app: A, adjustments: Adjustments) -> io::Result<()> {
    let server = ServerBuilder::new(app, adjustments).build()?;
    // Handlers first: whoever reads "Serving on" may signal at once.
    server.install_signal_handlers()?;
    for address in server.addresses() {
        println!("Serving on {address}");
    }
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
    /// threads running them. SIGHUP no longer ends the process: it runs
    /// the [`on_sighup`](ServerBuilder::on_sighup) hooks (if none, it is
    /// logged and ignored). Signal handlers belong to the process:
    /// install them for one server.
    pub fn install_signal_handlers(&self) -> io::Result<()> {
        sys::install_shutdown_signals(self.waker.trigger.write_fd())
    }
}
