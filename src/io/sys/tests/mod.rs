//! The FFI layer against real descriptors: `poll(2)` on socket pairs, the
//! trigger, the shutdown-signal handler, binding listeners (backlog,
//! IPV6_V6ONLY dual stack) and adopting inherited sockets. Every wait has a
//! timeout; no test can hang.
#![forbid(unsafe_code)]

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, IntoRawFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::io::sys::signal::sending::{SIG_IGN, raise_number, send_to_thread, set_disposition};
use crate::io::sys::{
    Events, Listener, POLLHUP, POLLIN, POLLNVAL, POLLOUT, PollFd, Signal, adopt_listener,
    bind_tcp_listener, install_shutdown_signals, listen_fds_from_env, poll, set_listen_backlog,
    take_pending_hangups, take_pending_signal, take_pending_signals, uninstall_shutdown_signals,
};
use crate::io::trigger::Trigger;

const LONG: Duration = Duration::from_secs(10);

fn poll_one(fd: RawFd, events: Events, timeout: Duration) -> (usize, Events) {
    let mut fds = [PollFd::new(fd, events)];
    let ready = poll(&mut fds, Some(timeout)).unwrap();
    (ready, fds[0].revents())
}

// --- poll(2) ---------------------------------------------------------------

#[test]
fn poll_wakes_when_the_peer_writes() {
    let (reader, mut writer) = UnixStream::pair().unwrap();
    assert_eq!(poll_one(reader.as_raw_fd(), POLLIN, Duration::ZERO).0, 0);
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        writer.write_all(b"hello").unwrap();
        writer
    });
    let start = Instant::now();
    assert_eq!(poll_one(reader.as_raw_fd(), POLLIN, LONG), (1, POLLIN));
    assert!(start.elapsed() < Duration::from_secs(5));
    drop(sender.join().unwrap());
}

#[test]
fn poll_reports_a_writable_socket_and_a_full_one() {
    let (a, _b) = UnixStream::pair().unwrap();
    assert_eq!(poll_one(a.as_raw_fd(), POLLOUT, LONG), (1, POLLOUT));
    // Fill the socket's buffer: then it is no longer writable.
    a.set_nonblocking(true).unwrap();
    let chunk = [0u8; 65536];
    while (&a).write(&chunk).is_ok() {}
    assert_eq!(
        poll_one(a.as_raw_fd(), POLLOUT, Duration::from_millis(10)).0,
        0
    );
}

#[test]
fn poll_returns_zero_after_the_timeout() {
    let (a, _b) = UnixStream::pair().unwrap();
    for timeout in [Duration::from_millis(50), Duration::from_micros(300)] {
        let start = Instant::now();
        assert_eq!(poll_one(a.as_raw_fd(), POLLIN, timeout).0, 0);
        let elapsed = start.elapsed();
        assert!(elapsed >= timeout, "{elapsed:?} < {timeout:?}");
        assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    }
    // No descriptors at all: poll is a sleep.
    let start = Instant::now();
    assert_eq!(poll(&mut [], Some(Duration::from_millis(20))).unwrap(), 0);
    assert!(start.elapsed() >= Duration::from_millis(20));
}

#[test]
fn poll_reports_a_hang_up_when_the_peer_closes() {
    let (a, b) = UnixStream::pair().unwrap();
    drop(b);
    let (ready, revents) = poll_one(a.as_raw_fd(), POLLIN, LONG);
    assert_eq!(ready, 1);
    assert!(revents.intersects(POLLIN | POLLHUP), "{revents:?}");
    #[cfg(target_os = "linux")]
    assert!(revents.contains(POLLHUP), "{revents:?}");
    assert_eq!((&a).read(&mut [0u8; 8]).unwrap(), 0, "end of stream");
    // Hang-ups are reported even to an entry that asks for nothing.
    let (ready, revents) = poll_one(a.as_raw_fd(), Events::EMPTY, Duration::ZERO);
    #[cfg(target_os = "linux")]
    assert_eq!((ready, revents.contains(POLLHUP)), (1, true));
    let _ = (ready, revents);
}

#[test]
fn poll_marks_a_closed_descriptor_and_skips_a_negative_one() {
    let (ready, revents) = poll_one(1_000_000, POLLIN, Duration::ZERO);
    assert_eq!((ready, revents), (1, POLLNVAL));
    let mut fds = [PollFd::new(-1, POLLIN)];
    assert_eq!(poll(&mut fds, Some(Duration::ZERO)).unwrap(), 0);
    assert!(fds[0].revents().is_empty());
}

// --- The trigger -----------------------------------------------------------

#[test]
fn the_trigger_wakes_a_poll_from_another_thread_and_pulls_coalesce() {
    let trigger = Arc::new(Trigger::new().unwrap());
    let (other, _peer) = UnixStream::pair().unwrap();
    let pullers: Vec<_> = (0..4)
        .map(|_| {
            let trigger = Arc::clone(&trigger);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(30));
                for _ in 0..500 {
                    trigger.pull();
                }
            })
        })
        .collect();
    assert!(trigger.set_sleeping());
    let mut fds = [
        PollFd::new(other.as_raw_fd(), POLLIN),
        PollFd::new(trigger.fd(), POLLIN),
    ];
    let start = Instant::now();
    assert_eq!(poll(&mut fds, Some(LONG)).unwrap(), 1);
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(fds[1].revents(), POLLIN);
    pullers.into_iter().for_each(|p| p.join().unwrap());
    assert!(trigger.set_awake());
    assert_eq!(trigger.drain(), 1, "2,000 pulls, one byte");
    assert_eq!(poll(&mut fds, Some(Duration::ZERO)).unwrap(), 0);
}

// --- Signals ---------------------------------------------------------------

/// Sends `signal` to the calling thread; the handler has run on return.
fn raise(signal: Signal) {
    raise_number(signal.number());
}

fn wait_for_signal() -> Option<Signal> {
    let deadline = Instant::now() + LONG;
    while Instant::now() < deadline {
        if let Some(signal) = take_pending_signal() {
            return Some(signal);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    None
}

/// Handlers are process-wide: every signal check lives in this one test.
#[test]
fn shutdown_signals_wake_the_loop_and_do_not_end_a_poll_early() {
    // SIGINT starts ignored here, so that we can see it restored at the end.
    let sigint = Signal::Interrupt.number();
    let original = set_disposition(sigint, SIG_IGN);
    let trigger = Arc::new(Trigger::new().unwrap());
    install_shutdown_signals(trigger.write_fd()).unwrap();
    let _ = take_pending_signal();

    // SIGTERM on another thread wakes the I/O thread blocked in poll.
    assert!(trigger.set_sleeping());
    let sender = std::thread::spawn(|| {
        std::thread::sleep(Duration::from_millis(30));
        raise(Signal::Terminate);
    });
    let start = Instant::now();
    assert_eq!(poll_one(trigger.fd(), POLLIN, LONG), (1, POLLIN));
    assert!(start.elapsed() < Duration::from_secs(5));
    trigger.set_awake();
    assert_eq!(take_pending_signal(), Some(Signal::Terminate));
    assert_eq!(take_pending_signal(), None, "taken once");
    assert!(trigger.drain() >= 1);
    sender.join().unwrap();

    // SIGINT the same way.
    raise(Signal::Interrupt);
    assert_eq!(take_pending_signal(), Some(Signal::Interrupt));
    assert_eq!(poll_one(trigger.fd(), POLLIN, LONG), (1, POLLIN));
    trigger.drain();

    // A signal that interrupts poll (EINTR) does not end it early: it waits
    // out the rest of its timeout.
    let (quiet, _peer) = UnixStream::pair().unwrap();
    let quiet_fd = quiet.as_raw_fd();
    let timeout = Duration::from_millis(300);
    let (started, about_to_poll) = std::sync::mpsc::channel();
    let poller = std::thread::spawn(move || {
        started.send(()).unwrap();
        let start = Instant::now();
        let ready = poll_one(quiet_fd, POLLIN, timeout).0;
        (ready, start.elapsed())
    });
    about_to_poll.recv_timeout(LONG).unwrap();
    std::thread::sleep(Duration::from_millis(30));
    use std::os::unix::thread::JoinHandleExt;
    // The thread is alive: it is joined below, not before.
    send_to_thread(poller.as_pthread_t(), Signal::Terminate);
    let (ready, elapsed) = poller.join().unwrap();
    assert_eq!(ready, 0);
    assert!(elapsed >= timeout, "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert_eq!(wait_for_signal(), Some(Signal::Terminate));
    trigger.drain();

    // Installing again moves the handler to a new wake-up socket.
    let second = Trigger::new().unwrap();
    install_shutdown_signals(second.write_fd()).unwrap();
    drop(trigger); // the handler holds its own duplicate, never this one
    raise(Signal::Terminate);
    assert_eq!(poll_one(second.fd(), POLLIN, LONG), (1, POLLIN));
    assert_eq!(take_pending_signal(), Some(Signal::Terminate));

    // Two signals before anyone looks are taken together, counted, with
    // the later one named: the server's "asked twice, stop now".
    raise(Signal::Interrupt);
    raise(Signal::Terminate);
    assert_eq!(take_pending_signals(), Some((Signal::Terminate, 2)));
    assert_eq!(take_pending_signals(), None, "taken once");
    second.drain();

    // SIGHUP wakes the loop too, is counted apart and asks for no shutdown.
    raise_number(1);
    assert_eq!(poll_one(second.fd(), POLLIN, LONG), (1, POLLIN));
    assert_eq!((take_pending_hangups(), take_pending_signals()), (1, None));
    second.drain();

    uninstall_shutdown_signals().unwrap();
    uninstall_shutdown_signals().unwrap(); // a second time does nothing
    // This puts back the disposition we found.
    assert_eq!(set_disposition(sigint, original), SIG_IGN, "restored");

    // Only nonblocking sockets are accepted as wake-up descriptors.
    let file = File::open(env!("CARGO_MANIFEST_DIR").to_string() + "/Cargo.toml").unwrap();
    let error = install_shutdown_signals(file.as_fd()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    let (blocking, _peer) = UnixStream::pair().unwrap();
    let error = install_shutdown_signals(blocking.as_fd()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
}

// --- Listeners -------------------------------------------------------------

fn has_ipv6_loopback() -> bool {
    TcpListener::bind("[::1]:0").is_ok()
}

#[cfg(target_os = "linux")]
fn is_cloexec(fd: RawFd) -> bool {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).unwrap();
    let flags = info.lines().find_map(|l| l.strip_prefix("flags:")).unwrap();
    u32::from_str_radix(flags.trim(), 8).unwrap() & 0o2_000_000 != 0
}

fn accepts_a_client(listener: &TcpListener) {
    let address = listener.local_addr().unwrap();
    let _client = TcpStream::connect_timeout(&address, LONG).unwrap();
    let (_server_side, peer) = listener.accept().unwrap();
    assert_eq!(peer.ip(), address.ip());
}

#[test]
fn bind_tcp_listener_binds_loopback_addresses() {
    let v4 = bind_tcp_listener("127.0.0.1:0".parse().unwrap(), 64, true, false).unwrap();
    let address = v4.local_addr().unwrap();
    assert!(address.ip().is_loopback() && address.port() != 0);
    accepts_a_client(&v4);
    #[cfg(target_os = "linux")]
    assert!(is_cloexec(v4.as_raw_fd()));

    // The port is taken now.
    let error = bind_tcp_listener(address, 64, true, false).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::AddrInUse);

    if has_ipv6_loopback() {
        let v6 = bind_tcp_listener("[::1]:0".parse().unwrap(), 64, true, false).unwrap();
        assert!(v6.local_addr().unwrap().is_ipv6());
        accepts_a_client(&v6);
    } else {
        eprintln!("no IPv6 loopback: IPv6 part skipped");
    }
}

#[test]
fn ipv4_and_ipv6_wildcards_share_a_port_with_v6only() {
    if !has_ipv6_loopback() {
        eprintln!("no IPv6 loopback: skipped");
        return;
    }
    let v4 = bind_tcp_listener("0.0.0.0:0".parse().unwrap(), 128, true, false).unwrap();
    let port = v4.local_addr().unwrap().port();
    let any6: SocketAddr = format!("[::]:{port}").parse().unwrap();
    #[cfg(target_os = "linux")]
    {
        // Without V6ONLY the IPv6 socket would take IPv4 too: the port clashes.
        let error = bind_tcp_listener(any6, 128, false, false).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::AddrInUse);
    }
    let v6 = bind_tcp_listener(any6, 128, true, false).unwrap();
    assert_eq!(v6.local_addr().unwrap().port(), port);

    // Each family reaches its own listener.
    let _c4 = TcpStream::connect_timeout(&format!("127.0.0.1:{port}").parse().unwrap(), LONG);
    let _c6 = TcpStream::connect_timeout(&format!("[::1]:{port}").parse().unwrap(), LONG);
    assert!(v4.accept().unwrap().1.is_ipv4());
    assert!(v6.accept().unwrap().1.is_ipv6());
}

#[test]
fn the_backlog_of_existing_listeners_can_be_changed() {
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    set_listen_backlog(&tcp, 2048).unwrap();
    set_listen_backlog(&tcp, u32::MAX).unwrap(); // capped, not an error
    accepts_a_client(&tcp);

    let path = socket_path("backlog");
    let unix = UnixListener::bind(&path).unwrap();
    set_listen_backlog(&unix, 16).unwrap();
    std::fs::remove_file(&path).unwrap();

    let file = File::open(env!("CARGO_MANIFEST_DIR").to_string() + "/Cargo.toml").unwrap();
    assert!(set_listen_backlog(&file, 16).is_err());
}

// --- Adopting inherited sockets -------------------------------------------

fn socket_path(name: &str) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("waitress-sys-{}-{name}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

/// What a parent process would hand us: a second descriptor for the socket.
fn inherited(socket: &impl AsFd) -> RawFd {
    socket.as_fd().try_clone_to_owned().unwrap().into_raw_fd()
}

#[test]
fn adopt_listener_takes_tcp_and_unix_listeners() {
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let fd = inherited(&tcp);
    let Listener::Tcp(adopted) = adopt_listener(fd).unwrap() else {
        panic!("expected a TCP listener");
    };
    assert_eq!(adopted.as_raw_fd(), fd);
    assert_eq!(adopted.local_addr().unwrap(), tcp.local_addr().unwrap());
    #[cfg(target_os = "linux")]
    assert!(is_cloexec(fd));
    accepts_a_client(&adopted);

    if has_ipv6_loopback() {
        let tcp6 = TcpListener::bind("[::1]:0").unwrap();
        assert!(matches!(
            adopt_listener(inherited(&tcp6)).unwrap(),
            Listener::Tcp(_)
        ));
    }

    let path = socket_path("adopt");
    let unix = UnixListener::bind(&path).unwrap();
    let adopted = adopt_listener(inherited(&unix)).unwrap();
    adopted.set_nonblocking(true).unwrap();
    let Listener::Unix(adopted) = adopted else {
        panic!("expected a Unix listener");
    };
    assert_eq!(
        adopted.local_addr().unwrap().as_pathname(),
        Some(path.as_path())
    );
    let _client = UnixStream::connect(&path).unwrap();
    assert!(adopted.accept().is_ok());
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn adopt_listener_refuses_what_is_not_a_listening_stream_socket() {
    let file = File::open(env!("CARGO_MANIFEST_DIR").to_string() + "/Cargo.toml").unwrap();
    let (stream, _peer) = UnixStream::pair().unwrap();
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    for fd in [
        file.as_raw_fd(),
        stream.as_raw_fd(),
        udp.as_raw_fd(),
        1_000_000,
        -1,
    ] {
        let error = adopt_listener(fd).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{fd}: {error}");
        assert!(
            error.to_string().contains("not a listening socket"),
            "{error}"
        );
    }
    // Refused descriptors are left alone: still open and usable.
    assert!((&file).read(&mut [0u8; 1]).is_ok());
    assert!(udp.local_addr().is_ok());
}

#[test]
fn without_socket_activation_there_is_nothing_to_adopt() {
    // LISTEN_PID, if set at all, names another process (a test harness).
    assert_eq!(listen_fds_from_env().unwrap(), Vec::<RawFd>::new());
}

mod pollers;
