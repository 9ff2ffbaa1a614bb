//! Waiting for an event instead of sleeping for a while: a sleep that is
//! long enough on an idle machine is too short on a loaded one, and a test
//! that guesses wrong fails for no reason (or passes without checking).

use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use waitress::gateway::{AppResult, Application, Environ, StartResponse};

use super::TIMEOUT;

/// Polls `condition` until it holds, failing the test after [`TIMEOUT`]
/// with `what` it was waiting for.
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(1));
    }
}

/// A gate threads block on until the test opens it: an application held in
/// service for exactly as long as the test needs, however slow the machine.
#[derive(Clone)]
pub struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    /// A closed gate.
    pub fn new() -> Gate {
        Gate(Arc::new((Mutex::new(false), Condvar::new())))
    }

    /// Blocks until the gate is open; fails after [`TIMEOUT`].
    pub fn wait(&self) {
        let (open, changed) = &*self.0;
        let mut open = open.lock().unwrap();
        let deadline = Instant::now() + TIMEOUT;
        while !*open {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "the gate never opened");
            open = changed.wait_timeout(open, left).unwrap().0;
        }
    }

    /// Opens the gate: every waiting thread goes on, and later ones pass.
    pub fn open(&self) {
        let (open, changed) = &*self.0;
        *open.lock().unwrap() = true;
        changed.notify_all();
    }
}

/// Counts the calls of an application, so that a test can wait until a
/// request is in service (the application has been called) rather than
/// sleep and hope.
#[derive(Clone, Default)]
pub struct Calls(Arc<(Mutex<usize>, Condvar)>);

impl Calls {
    /// Wraps `app`: each call is counted, then passed on.
    pub fn count<A: Application>(app: A) -> (Calls, impl Application) {
        let calls = Calls::default();
        let counter = calls.clone();
        let counted =
            move |environ: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
                counter.add();
                app.call(environ, start_response)
            };
        (calls, counted)
    }

    fn add(&self) {
        let (count, changed) = &*self.0;
        *count.lock().unwrap() += 1;
        changed.notify_all();
    }

    /// How many calls have begun.
    pub fn begun(&self) -> usize {
        *self.0.0.lock().unwrap()
    }

    /// Blocks until at least `n` calls have begun; fails after [`TIMEOUT`].
    pub fn wait_for(&self, n: usize) {
        let (count, changed) = &*self.0;
        let mut count = count.lock().unwrap();
        let deadline = Instant::now() + TIMEOUT;
        while *count < n {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "{} of {n} calls began", *count);
            count = changed.wait_timeout(count, left).unwrap().0;
        }
    }
}
