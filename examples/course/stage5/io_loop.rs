//! The I/O thread: one `poll(2)` loop that owns every socket. It accepts,
//! reads, parses and writes, and never waits for anything but `poll`; the
//! workers only run the handler, and hand the bytes back through a channel.

use std::collections::{HashMap, VecDeque};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, mpsc};
use std::thread;

use crate::app::{error_response, serialize};
use crate::body::BodyDecoder;
use crate::parser::{HttpError, Request, Status};
use crate::poll::{self, POLLERR, POLLHUP, POLLIN, POLLOUT, PollFd};
use crate::queue::Queue;

/// How many requests may wait for a worker, as in stage 2.
const QUEUE_CAPACITY: usize = 16;
/// How many connections the loop holds; beyond it, it stops accepting.
const MAX_CONNECTIONS: usize = 1000;

// ANCHOR: handler
/// What a worker does with a complete request: the response's bytes, and
/// whether the connection may carry another request after them.
pub type Handler = fn(Request, Vec<u8>) -> Reply;

pub struct Reply {
    pub bytes: Vec<u8>,
    pub keep_alive: bool,
}

/// A complete request on its way to a worker; `id` names its connection.
struct Job {
    id: usize,
    request: Request,
    body: Vec<u8>,
}
// ANCHOR_END: handler

// ANCHOR: connection
/// Where a connection is in its current request.
enum State {
    /// Reading a head: `parse_head` says `Partial` until it is all there.
    Head,
    /// Reading the body of a parsed head.
    Body(Request, BodyDecoder, Vec<u8>),
    /// The request is with a worker (or waiting for one): read no further,
    /// so pipelined requests are answered one at a time, in order.
    Busy,
}

/// What the loop knows of one client: a buffer, not a thread.
struct Connection {
    stream: TcpStream,
    input: Vec<u8>,
    state: State,
    output: Vec<u8>,
    written: usize,
    close_when_written: bool,
    peer_closed: bool,
}
// ANCHOR_END: connection

impl Connection {
    // ANCHOR: interest
    /// The events to wait for: write while a response is pending, else
    /// read while a request is being read, else nothing (a worker has it).
    fn interest(&self) -> i16 {
        if self.written < self.output.len() {
            POLLOUT
        } else if matches!(self.state, State::Busy) || self.peer_closed {
            0
        } else {
            POLLIN
        }
    }
    // ANCHOR_END: interest

    // ANCHOR: advance
    /// Parses what has arrived as far as it goes; returns a complete request.
    fn advance(&mut self, id: usize) -> Result<Option<Job>, HttpError> {
        loop {
            match &mut self.state {
                State::Busy => return Ok(None),
                State::Head => match crate::parser::parse_head(&self.input)? {
                    Status::Partial => return Ok(None), // called again on more bytes
                    Status::Complete((request, length)) => {
                        self.input.drain(..length);
                        let decoder = BodyDecoder::new(crate::body::framing(&request)?);
                        self.state = State::Body(request, decoder, Vec::new());
                    }
                },
                State::Body(_, decoder, body) => {
                    let decoded = decoder.decode(&self.input, body)?;
                    self.input.drain(..decoded.consumed);
                    if !decoded.done {
                        return Ok(None);
                    }
                    let State::Body(request, _, body) =
                        std::mem::replace(&mut self.state, State::Busy)
                    else {
                        unreachable!()
                    };
                    return Ok(Some(Job { id, request, body }));
                }
            }
        }
    }
    // ANCHOR_END: advance

    /// Reads once (the loop comes back if there is more); false on a
    /// broken connection.
    fn read(&mut self) -> bool {
        let mut chunk = [0; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => self.peer_closed = true,
            Ok(n) => self.input.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
            Err(_) => return false,
        }
        true
    }

    // ANCHOR: write
    /// Writes as much of the pending response as the socket takes now;
    /// false on a broken connection.
    fn write(&mut self) -> bool {
        while self.written < self.output.len() {
            match self.stream.write(&self.output[self.written..]) {
                Ok(n) => self.written += n, // maybe fewer bytes than offered
                Err(e) if e.kind() == ErrorKind::WouldBlock => return true, // POLLOUT later
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        self.output.clear();
        self.written = 0;
        true
    }
    // ANCHOR_END: write
}

/// The loop's state: the connections, and the requests for the workers.
struct IoLoop {
    connections: HashMap<usize, Connection>,
    next_id: usize,
    queue: Arc<Queue<Job>>,
    waiting: VecDeque<Job>,
    in_flight: usize,
    room: usize,
}

// ANCHOR: serve
/// Serves `listener` forever: this thread runs the loop, `threads`
/// workers run `handler`.
pub fn serve(listener: TcpListener, handler: Handler, threads: usize) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    // The self-pipe: a worker writes a byte to `waker` after sending a
    // reply, so the loop's `poll`, which watches `wakeup`, returns.
    let (wakeup, waker) = UnixStream::pair()?;
    wakeup.set_nonblocking(true)?;
    waker.set_nonblocking(true)?;
    let (replies, finished) = mpsc::channel();
    let queue = Arc::new(Queue::new(QUEUE_CAPACITY));
    for _ in 0..threads {
        let (queue, replies, waker) = (Arc::clone(&queue), replies.clone(), waker.try_clone()?);
        thread::spawn(move || worker(&queue, handler, &replies, &waker));
    }
    let room = threads + QUEUE_CAPACITY;
    let mut io = IoLoop {
        connections: HashMap::new(),
        next_id: 0,
        queue,
        waiting: VecDeque::new(),
        in_flight: 0,
        room,
    };
    let (mut fds, mut ids) = (Vec::new(), Vec::new());
    loop {
        fds.clear();
        ids.clear();
        let accepting = io.connections.len() < MAX_CONNECTIONS;
        fds.push(PollFd {
            fd: listener.as_raw_fd(),
            events: if accepting { POLLIN } else { 0 },
            revents: 0,
        });
        fds.push(PollFd {
            fd: wakeup.as_raw_fd(),
            events: POLLIN,
            revents: 0,
        });
        for (&id, connection) in &io.connections {
            let fd = connection.stream.as_raw_fd();
            fds.push(PollFd {
                fd,
                events: connection.interest(),
                revents: 0,
            });
            ids.push(id);
        }
        poll::wait(&mut fds, None)?;
        if fds[0].revents != 0 {
            io.accept(&listener);
        }
        if fds[1].revents != 0 {
            let _ = (&wakeup).read(&mut [0; 256]); // the bytes only woke us
            for (id, reply) in finished.try_iter() {
                io.deliver(id, reply);
            }
        }
        for (&id, fd) in ids.iter().zip(&fds[2..]) {
            io.ready(id, fd.revents);
        }
        io.dispatch();
    }
}
// ANCHOR_END: serve

// ANCHOR: worker
/// A worker runs the handler and hands the bytes back: it never touches a
/// socket, so only the loop reads, writes and closes them.
fn worker(
    queue: &Queue<Job>,
    handler: Handler,
    replies: &mpsc::Sender<(usize, Reply)>,
    mut waker: &UnixStream,
) {
    loop {
        let job = queue.pop();
        let reply = handler(job.request, job.body);
        if replies.send((job.id, reply)).is_err() {
            return; // the loop is gone
        }
        // If the pipe is full, the loop has bytes to read already: it wakes.
        let _ = waker.write(&[1]);
    }
}
// ANCHOR_END: worker

impl IoLoop {
    /// Accepts every connection waiting in the backlog (up to the limit).
    fn accept(&mut self, listener: &TcpListener) {
        while self.connections.len() < MAX_CONNECTIONS {
            match listener.accept() {
                Ok((stream, _)) if stream.set_nonblocking(true).is_ok() => {
                    let connection = Connection {
                        stream,
                        input: Vec::new(),
                        state: State::Head,
                        output: Vec::new(),
                        written: 0,
                        close_when_written: false,
                        peer_closed: false,
                    };
                    self.connections.insert(self.next_id, connection);
                    self.next_id += 1;
                }
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) => return eprintln!("accept failed: {e}"),
            }
        }
    }

    // ANCHOR: ready
    /// Acts on what `poll` reported for one connection, then closes it if
    /// it is finished. Only here (and in `deliver`) are sockets closed.
    fn ready(&mut self, id: usize, revents: i16) {
        let Some(connection) = self.connections.get_mut(&id) else {
            return;
        };
        let mut alive = revents & (POLLERR | POLLHUP) == 0 || revents & POLLIN != 0;
        if alive && revents & POLLIN != 0 {
            alive = connection.read();
        }
        if alive && revents & POLLOUT != 0 {
            alive = connection.write();
        }
        if alive {
            alive = self.progress(id);
        }
        if !alive {
            self.connections.remove(&id); // dropping the stream closes it
        }
    }
    // ANCHOR_END: ready

    /// A worker's reply: queue its bytes and try to write them now.
    fn deliver(&mut self, id: usize, reply: Reply) {
        self.in_flight -= 1;
        let Some(connection) = self.connections.get_mut(&id) else {
            return;
        }; // gone meanwhile
        connection.output = reply.bytes;
        connection.close_when_written = !reply.keep_alive;
        connection.state = State::Head;
        if !(connection.write() && self.progress(id)) {
            self.connections.remove(&id);
        }
    }

    // ANCHOR: progress
    /// Parses further once the previous response is written; queues a
    /// complete request, or an error response. False: close it now.
    fn progress(&mut self, id: usize) -> bool {
        let connection = self.connections.get_mut(&id).unwrap();
        if connection.written < connection.output.len() {
            return true; // still writing: read and parse nothing more yet
        }
        if connection.close_when_written {
            return false; // `Connection: close`, or an error, sent in full
        }
        match connection.advance(id) {
            Ok(Some(job)) => self.waiting.push_back(job),
            // The client sent all it will send, and no request is in service.
            Ok(None) if connection.peer_closed && !matches!(connection.state, State::Busy) => {
                return false;
            }
            Ok(None) => {}
            Err(error) => {
                // Errors are answered by the server, not the handler, then closed.
                connection.output = serialize(&error_response(&error), false, false);
                connection.close_when_written = true;
                connection.state = State::Busy;
                return connection.write() && connection.written < connection.output.len();
            }
        }
        true
    }
    // ANCHOR_END: progress

    /// Hands waiting requests to the pool while it has room: the loop is
    /// the only producer, so counting replies tells it `push` won't block.
    fn dispatch(&mut self) {
        while self.in_flight < self.room {
            let Some(job) = self.waiting.pop_front() else {
                return;
            };
            self.queue.push(job);
            self.in_flight += 1;
        }
    }
}
