//! `poll(2)`, the one C function stage 5 needs and the standard library
//! does not offer: the stage's only `unsafe` code.

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

// ANCHOR: ffi
pub const POLLIN: i16 = 0x001; // data to read, a connection to accept, or EOF
pub const POLLOUT: i16 = 0x004; // room in the send buffer
pub const POLLERR: i16 = 0x008; // an error (reported even if not asked for)
pub const POLLHUP: i16 = 0x010; // hang-up (reported even if not asked for)

/// One entry of the set, laid out exactly like C's `struct pollfd`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct PollFd {
    pub fd: RawFd,
    pub events: i16,
    pub revents: i16,
}

impl PollFd {
    pub fn new(fd: RawFd, events: i16) -> PollFd {
        PollFd {
            fd,
            events,
            revents: 0,
        }
    }
}

// `nfds_t` is `unsigned long` on Linux and `unsigned int` on macOS.
#[cfg(target_os = "linux")]
type NfdsT = std::ffi::c_ulong;
#[cfg(not(target_os = "linux"))]
type NfdsT = std::ffi::c_uint;

unsafe extern "C" {
    fn poll(fds: *mut PollFd, nfds: NfdsT, timeout: std::ffi::c_int) -> std::ffi::c_int;
}
// ANCHOR_END: ffi

// ANCHOR: wait
/// Waits until an entry of `fds` is ready or `timeout` passes (`None`: no
/// limit), fills in the `revents`, and returns how many are ready.
pub fn wait(fds: &mut [PollFd], timeout: Option<Duration>) -> io::Result<usize> {
    let millis = match timeout {
        None => -1,
        // Rounded up, so that 0.3 ms does not become a busy `poll(.., 0)`.
        Some(t) => i32::try_from(t.as_nanos().div_ceil(1_000_000)).unwrap_or(i32::MAX),
    };
    let count = NfdsT::try_from(fds.len()).map_err(io::Error::other)?;
    loop {
        // SAFETY: `fds` is a valid, exclusively borrowed slice of `count`
        // `#[repr(C)]` entries for the whole call; the kernel only writes
        // their `revents` and keeps no pointer after returning.
        let ready = unsafe { poll(fds.as_mut_ptr(), count, millis) };
        if ready >= 0 {
            return Ok(ready as usize);
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error); // EINTR (a signal) is not an error: wait again
        }
    }
}
// ANCHOR_END: wait
