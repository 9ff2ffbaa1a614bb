//! Why an application run failed: [`Failure`], and the two questions asked
//! of whatever a guard caught, [`panic_message`] (what does a panic say?)
//! and [`is_disconnect`] (is this I/O error the client leaving?).
//!
//! The helpers are `pub(crate)` and kept apart from the task so that other
//! guards in the crate can ask the same questions the same way.
#![forbid(unsafe_code)]

use std::any::Any;
use std::fmt::Write as _;
use std::io;

use crate::gateway::AppError;

/// Why an application run failed.
pub(super) struct Failure {
    pub(super) message: String,
    pub(super) client_gone: bool,
}

impl From<AppError> for Failure {
    fn from(error: AppError) -> Failure {
        Failure::from_error(&error)
    }
}

impl Failure {
    pub(super) fn from_error(error: &AppError) -> Failure {
        let client_gone = error.downcast_ref::<io::Error>().is_some_and(is_disconnect);
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            let _ = write!(message, ": {cause}");
            source = cause.source();
        }
        Failure {
            message,
            client_gone,
        }
    }

    /// `when` says where, e.g. "while closing its body", or is empty.
    pub(super) fn from_panic(payload: Box<dyn Any + Send>, when: &str) -> Failure {
        let text = panic_message(&*payload);
        let when = if when.is_empty() {
            String::new()
        } else {
            format!(" {when}")
        };
        Failure {
            message: format!("the application panicked{when}: {text}"),
            client_gone: false,
        }
    }
}

/// Whether a failed write means the client has gone away (which is logged
/// as an info, not as the application's error).
pub(crate) fn is_disconnect(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::NotConnected
    )
}

/// The text of a panic; the pool, which survives its tasks' panics, is
/// the lower layer and owns the one copy.
pub(crate) use crate::pool::panic_message;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_lost_connection_is_a_disconnect() {
        let gone = io::Error::from(io::ErrorKind::BrokenPipe);
        let other = io::Error::from(io::ErrorKind::PermissionDenied);
        assert!(is_disconnect(&gone) && !is_disconnect(&other));
    }
}
