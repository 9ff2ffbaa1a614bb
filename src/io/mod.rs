//! The I/O layer: the only foreign-function interface of the crate
//! ([`sys`]: `poll(2)`, `epoll(7)`, sockets, signals) and the [`trigger`]
//! other threads use to wake the I/O thread.
#![deny(unsafe_code)]

pub mod sys;
pub mod trigger;
