//! SIGINT and SIGTERM, turned into a graceful shutdown, and SIGHUP, turned
//! into "reopen your log files": handlers that only record which signal
//! came and write one byte to the I/O thread's wake-up socket
//! ([`install_shutdown_signals`]), and the I/O thread's side,
//! [`take_pending_signals`] and [`take_pending_hangups`]. The handler and every static it touches are
//! here, so that what runs on top of interrupted code reads in one place.
#![allow(unsafe_code)]

use std::ffi::c_int;
use std::fmt;
use std::io::{self, ErrorKind};
#[cfg(target_vendor = "apple")]
use std::os::fd::AsFd;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

// All the per-platform constants: which ones a file uses differs by platform.
use super::platform::*;
use super::socket::getsockopt_int;
#[cfg(target_vendor = "apple")]
use super::socket::setsockopt_int;
use super::{cvt, ffi};

/// The signals that ask the server to shut down gracefully.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Signal {
    /// SIGINT (2): Ctrl-C in a terminal.
    Interrupt,
    /// SIGTERM (15): `kill`, systemd, Docker and Kubernetes stopping us.
    Terminate,
}

impl Signal {
    /// The signal's number (the same on Linux and macOS).
    pub const fn number(self) -> i32 {
        match self {
            Signal::Interrupt => 2,
            Signal::Terminate => 15,
        }
    }

    /// The signal with this number, if it is one of ours.
    pub const fn from_number(number: i32) -> Option<Signal> {
        match number {
            2 => Some(Signal::Interrupt),
            15 => Some(Signal::Terminate),
            _ => None,
        }
    }

    /// The C name, `SIGINT` or `SIGTERM`.
    pub const fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
const SHUTDOWN_SIGNALS: [Signal; 2] = [Signal::Interrupt, Signal::Terminate];
/// SIGHUP's number (the same on Linux and macOS). Not a [`Signal`]: it
/// does not stop the server.
const SIGHUP: c_int = 1;
/// Every signal the handler is installed for.
const HANDLED: [c_int; 3] = [
    Signal::Interrupt.number(),
    Signal::Terminate.number(),
    SIGHUP,
];
/// `signal(2)`'s error return, `(sighandler_t) -1`.
const SIG_ERR: usize = usize::MAX;

/// The descriptor the handler writes to (-1: none). The handler may only
/// touch lock-free atomics: it can interrupt any code, even code holding a
/// lock or in the middle of `malloc`.
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);
/// The shutdown signals not yet taken, in one word so that they are taken
/// together: how many arrived (above the low 8 bits) and the number of the
/// last one (the low 8 bits; 0: none).
static PENDING_SIGNALS: AtomicUsize = AtomicUsize::new(0);
/// How many SIGHUPs arrived and were not yet taken.
static PENDING_HANGUPS: AtomicUsize = AtomicUsize::new(0);
/// How many handlers are running now, so that the descriptor is not closed
/// under one of them.
static HANDLERS_RUNNING: AtomicUsize = AtomicUsize::new(0);

// ANCHOR: handler_start
/// Runs when SIGINT, SIGTERM or SIGHUP arrives, on whatever thread the
/// kernel chose.
/// It calls only `send(2)`, which POSIX lists as async-signal-safe, and
/// puts `errno` back as it found it, since the interrupted code may be about
/// to read it.
extern "C" fn on_shutdown_signal(signal: c_int) {
    // SAFETY: `errno_location` has no preconditions; it returns a pointer to
    // this thread's errno, valid for the life of the thread.
    let errno = unsafe { ffi::errno_location() };
    // SAFETY: the pointer is valid, aligned, and only this thread uses it.
    let saved_errno = unsafe { errno.read() };
    HANDLERS_RUNNING.fetch_add(1, Ordering::SeqCst);
    // ANCHOR_END: handler_start
    if signal == SIGHUP {
        // Counted apart: a SIGHUP asks for no shutdown. `fetch_add` is
        // lock-free, so it may run in a handler.
        PENDING_HANGUPS.fetch_add(1, Ordering::SeqCst);
    } else {
        // A compare-and-swap loop is lock-free too.
        let mut pending = PENDING_SIGNALS.load(Ordering::SeqCst);
        loop {
            let count = (pending >> 8).saturating_add(1).min(usize::MAX >> 8);
            let updated = (count << 8) | (signal as usize & 0xff);
            match PENDING_SIGNALS.compare_exchange_weak(
                pending,
                updated,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => break,
                Err(actual) => pending = actual,
            }
        }
    }
    // ANCHOR: handler_wake
    let fd = WAKE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        let byte = 1u8;
        // The socket is nonblocking, so this never waits; a full socket
        // (EAGAIN) already means a wake-up is pending. MSG_NOSIGNAL: no
        // SIGPIPE if the reading end is gone.
        // SAFETY: `fd` is open: uninstalling closes it only after setting
        // WAKE_FD to -1 and seeing no handler running. `byte` is live.
        unsafe { ffi::send(fd, (&raw const byte).cast(), 1, MSG_NOSIGNAL) };
    }
    HANDLERS_RUNNING.fetch_sub(1, Ordering::SeqCst);
    // SAFETY: as above; restores the value the interrupted code had.
    unsafe { errno.write(saved_errno) };
}
// ANCHOR_END: handler_wake

/// What `install_shutdown_signals` changed, so that uninstalling can put it
/// back: the descriptor the handler writes to and the previous handlers.
struct Installed {
    wake: OwnedFd,
    #[cfg_attr(not(test), allow(dead_code))] // for the tests
    previous: [usize; 3],
}

static INSTALLED: Mutex<Option<Installed>> = Mutex::new(None);

fn installed() -> std::sync::MutexGuard<'static, Option<Installed>> {
    INSTALLED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Sets the handler for the signal numbered `signal`, returning the one it
/// replaces.
fn set_handler(signal: c_int, handler: usize) -> io::Result<usize> {
    // SAFETY: `handler` is SIG_DFL, SIG_IGN, a handler `signal` returned
    // earlier, or `on_shutdown_signal`, an `extern "C" fn(c_int)` that is
    // async-signal-safe; `signal` takes no pointers of ours.
    let previous = unsafe { ffi::signal(signal, handler) };
    if previous == SIG_ERR {
        Err(io::Error::last_os_error())
    } else {
        Ok(previous)
    }
}

/// Points WAKE_FD at `fd` (or -1) and waits until no handler can still be
/// using the descriptor it pointed at before.
fn swap_wake_fd(fd: RawFd) {
    WAKE_FD.store(fd, Ordering::SeqCst);
    // A handler that read the old descriptor counted itself in before reading
    // it (both SeqCst), so if we see 0 here none is still using it.
    while HANDLERS_RUNNING.load(Ordering::SeqCst) != 0 {
        std::thread::yield_now();
    }
}

/// Installs handlers for SIGINT, SIGTERM and SIGHUP that write one byte to `wake`
/// (a nonblocking socket: the write end of the I/O thread's wake-up pair,
/// [`Trigger::write_fd`](crate::io::trigger::Trigger::write_fd)) and record the
/// signal for [`take_pending_signal`] (SIGHUP for [`take_pending_hangups`]:
/// it never stops the server). That is all they do: everything else
/// happens in the I/O thread, which wakes up because the byte makes its
/// wake-up socket readable.
///
/// `wake` is duplicated, so the handler can never write to a descriptor
/// that was closed and reused; the duplicate is closed by
/// [`uninstall_shutdown_signals`]. Installing again replaces the descriptor
/// and keeps the handlers. Fails with `InvalidInput` if `wake` is not a
/// socket or is blocking.
///
/// The handlers are installed with `signal(2)`, whose glibc, musl and macOS
/// implementations all give BSD semantics: the handler stays installed,
/// the signal is blocked while its handler runs, and interrupted system
/// calls are restarted (SA_RESTART) where they can be. That avoids
/// declaring `struct sigaction`, whose layout differs between platforms.
// ANCHOR: install
pub fn install_shutdown_signals(wake: BorrowedFd<'_>) -> io::Result<()> {
    if getsockopt_int(wake.as_raw_fd(), SOL_SOCKET, SO_TYPE).is_err() {
        let message = "the wake-up descriptor for signals must be a socket";
        return Err(io::Error::new(ErrorKind::InvalidInput, message));
    }
    // SAFETY: F_GETFL takes no argument; `wake` is open (borrowed).
    let flags = cvt(unsafe { ffi::fcntl(wake.as_raw_fd(), F_GETFL) })?;
    if flags & O_NONBLOCK == 0 {
        let message = "the wake-up socket for signals must be nonblocking";
        return Err(io::Error::new(ErrorKind::InvalidInput, message));
    }
    let wake = wake.try_clone_to_owned()?; // close-on-exec duplicate
    #[cfg(target_vendor = "apple")] // no MSG_NOSIGNAL for the handler's send
    setsockopt_int(wake.as_fd(), SOL_SOCKET, SO_NOSIGPIPE, 1)?;
    let mut installed = installed();
    if let Some(installed) = installed.as_mut() {
        swap_wake_fd(wake.as_raw_fd());
        installed.wake = wake; // drops (closes) the old duplicate
        return Ok(());
    }
    swap_wake_fd(wake.as_raw_fd());
    let handler = on_shutdown_signal as extern "C" fn(c_int) as usize;
    let mut previous = [0; 3];
    for (index, signal) in HANDLED.into_iter().enumerate() {
        match set_handler(signal, handler) {
            Ok(old) => previous[index] = old,
            Err(error) => {
                for (signal, old) in HANDLED.into_iter().zip(previous).take(index) {
                    let _ = set_handler(signal, old);
                }
                swap_wake_fd(-1);
                return Err(error);
            }
        }
    }
    *installed = Some(Installed { wake, previous });
    Ok(())
}
// ANCHOR_END: install

/// Puts back the SIGINT, SIGTERM and SIGHUP handlers that were there before
/// [`install_shutdown_signals`] and closes its duplicate of the wake-up
/// socket. Does nothing if the handlers are not installed.
///
/// A signal still on its way once this returns gets the old behaviour
/// (for the defaults: the process ends).
#[cfg_attr(not(test), allow(dead_code))] // for the tests
pub fn uninstall_shutdown_signals() -> io::Result<()> {
    let mut installed = installed();
    let Some(Installed { wake, previous }) = installed.take() else {
        return Ok(());
    };
    let mut result = Ok(());
    for (signal, old) in HANDLED.into_iter().zip(previous) {
        if let Err(error) = set_handler(signal, old) {
            result = Err(error);
        }
    }
    swap_wake_fd(-1);
    drop(wake);
    result
}

/// The shutdown signal that arrived since the last call, if any (the later
/// one if both did). The I/O thread calls this when its wake-up socket is
/// readable.
#[cfg_attr(not(test), allow(dead_code))] // for the tests
pub fn take_pending_signal() -> Option<Signal> {
    take_pending_signals().map(|(signal, _)| signal)
}

/// The shutdown signals that arrived since the last call, if any: the last
/// one, and how many there were (at least 1). Two at once mean the user
/// asked twice before the I/O thread could look, which the server takes as
/// "stop now" (pressing Ctrl-C a second time).
pub fn take_pending_signals() -> Option<(Signal, usize)> {
    let pending = PENDING_SIGNALS.swap(0, Ordering::SeqCst);
    let signal = Signal::from_number(i32::try_from(pending & 0xff).unwrap_or(0))?;
    Some((signal, (pending >> 8).max(1)))
}

/// How many SIGHUPs arrived since the last call (0: none). The I/O thread
/// calls this when its wake-up socket is readable, and reopens its log
/// files once however many came.
pub fn take_pending_hangups() -> usize {
    PENDING_HANGUPS.swap(0, Ordering::SeqCst)
}

/// Sending signals, which the server never does and its tests must: the
/// C calls stay here, with the rest of the FFI, and the tests stay safe.
#[cfg(test)]
pub(crate) mod sending {
    use std::ffi::c_int;
    use std::os::unix::thread::RawPthread;

    use super::{Signal, set_handler};

    /// The disposition "ignore the signal".
    pub(crate) const SIG_IGN: usize = 1;

    unsafe extern "C" {
        fn raise(signal: c_int) -> c_int;
        fn pthread_kill(thread: RawPthread, signal: c_int) -> c_int;
    }

    /// Sends the signal numbered `number` to the calling thread; its
    /// handler has run when this returns.
    pub(crate) fn raise_number(number: c_int) {
        // SAFETY: raise takes no pointers; the signal's disposition is
        // whatever the test installed (our handler, or ignore).
        assert_eq!(unsafe { raise(number) }, 0, "raise({number})");
    }

    /// Sends `signal` to `thread`, which must still be running.
    pub(crate) fn send_to_thread(thread: RawPthread, signal: Signal) {
        // SAFETY: the caller joins `thread` only after this returns, so the
        // id names a live thread; no pointers are involved.
        assert_eq!(unsafe { pthread_kill(thread, signal.number()) }, 0);
    }

    /// Sets the disposition of the signal numbered `number` (`SIG_IGN`, or
    /// one returned earlier) and returns the one it replaces.
    pub(crate) fn set_disposition(number: c_int, handler: usize) -> usize {
        set_handler(number, handler).expect("signal(2)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_round_trip_through_their_numbers() {
        for signal in SHUTDOWN_SIGNALS {
            assert_eq!(Signal::from_number(signal.number()), Some(signal));
        }
        assert_eq!(Signal::from_number(0), None);
    }
}

/// The examples these items' docs had while the module was public,
/// kept as tests.
#[cfg(test)]
mod doc_examples {
    #[test]
    fn signal_example() {
        use crate::io::sys::Signal;

        assert_eq!(Signal::Terminate.number(), 15);
        assert_eq!(Signal::from_number(2), Some(Signal::Interrupt));
        assert_eq!(Signal::Interrupt.to_string(), "SIGINT");
    }

    #[test]
    fn fn_example() {
        assert_eq!(crate::io::sys::Signal::Interrupt.number(), 2);
    }

    #[test]
    fn fn_example_2() {
        use crate::io::sys::Signal;
        assert_eq!(Signal::from_number(15), Some(Signal::Terminate));
        assert_eq!(Signal::from_number(9), None);
    }

    #[test]
    fn fn_example_3() {
        assert_eq!(crate::io::sys::Signal::Terminate.name(), "SIGTERM");
    }

    #[test]
    fn install_shutdown_signals_example() {
        let run = || -> Result<(), Box<dyn std::error::Error>> {
            use crate::io::sys::{
                install_shutdown_signals, take_pending_signal, uninstall_shutdown_signals,
            };
            use crate::io::trigger::Trigger;

            let trigger = Trigger::new()?;
            install_shutdown_signals(trigger.write_fd())?;
            // ... the loop polls trigger.fd(); when it becomes readable:
            if let Some(signal) = take_pending_signal() {
                println!("{signal}: shutting down");
            }
            uninstall_shutdown_signals()?;
            Ok(())
        };
        let _ = run; // compiled, not run (it would serve for ever)
    }

    #[test]
    fn uninstall_shutdown_signals_example() {
        let run = || -> Result<(), Box<dyn std::error::Error>> {
            crate::io::sys::uninstall_shutdown_signals()?;
            Ok(())
        };
        let _ = run; // compiled, not run (it would serve for ever)
    }

    #[test]
    fn take_pending_signal_example() {
        // No handler installed and no signal sent: nothing pending.
        assert_eq!(crate::io::sys::take_pending_signal(), None);
    }

    #[test]
    fn take_pending_hangups_example() {
        // No handler installed and no signal sent: nothing pending.
        assert_eq!(crate::io::sys::take_pending_hangups(), 0);
    }

    #[test]
    fn take_pending_signals_example() {
        // No handler installed and no signal sent: nothing pending.
        assert_eq!(crate::io::sys::take_pending_signals(), None);
    }
}
