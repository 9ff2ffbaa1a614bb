//! The thread pool: `ThreadedTaskDispatcher`, a Mutex + Condvar FIFO queue.
//!
//! Not written yet: it is being built in its own change.
#![forbid(unsafe_code)]
