//! The I/O thread: one `poll(2)` loop that owns every socket, and waits
//! for nothing else; the workers only run the handler (course stage 5).

use std::collections::{HashMap, VecDeque};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, mpsc};
use std::thread;

use crate::app::{error_response, serialize};
use crate::connection::{Connection, State};
use crate::parser::Request;
use crate::poll::{self, POLLERR, POLLHUP, POLLIN, POLLOUT, PollFd};
use crate::queue::Queue;

const QUEUE_CAPACITY: usize = 16; // requests waiting for a worker, as in stage 2
const MAX_CONNECTIONS: usize = 1000; // beyond it, the loop stops accepting

// ANCHOR: handler
/// What a worker does with a complete request: the response's bytes, and
/// whether the connection may carry another request after them.
pub type Handler = fn(Request, Vec<u8>) -> Reply;

pub struct Reply {
    pub bytes: Vec<u8>,
    pub keep_alive: bool,
}

/// A complete request on its way to a worker; `id` names its connection.
pub struct Job {
    pub id: usize,
    pub request: Request,
    pub body: Vec<u8>,
}
// ANCHOR_END: handler

/// The loop's state: the connections, and the requests for the workers.
struct IoLoop {
    connections: HashMap<usize, Connection>,
    next_id: usize,
    queue: Arc<Queue<Job>>,
    waiting: VecDeque<Job>,
    /// Jobs pushed and not yet answered; at most `room` (see `dispatch`).
    in_flight: usize,
    room: usize,
}

// ANCHOR: serve
/// Serves `listener` forever: this thread runs the loop, `threads`
/// workers run `handler`.
pub fn serve(listener: TcpListener, handler: Handler, threads: usize) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let (wakeup, finished, mut io) = start_workers(handler, threads)?;
    let (mut fds, mut ids) = (Vec::new(), Vec::new());
    loop {
        // The set is rebuilt on each turn: simple, and O(connections).
        fds.clear();
        ids.clear();
        let accepting = io.connections.len() < MAX_CONNECTIONS;
        let listening = if accepting { POLLIN } else { 0 };
        fds.push(PollFd::new(listener.as_raw_fd(), listening));
        fds.push(PollFd::new(wakeup.as_raw_fd(), POLLIN));
        for (&id, conn) in &io.connections {
            fds.push(PollFd::new(conn.stream.as_raw_fd(), conn.interest()));
            ids.push(id);
        }
        poll::wait(&mut fds, None)?; // the only place this thread waits
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

// ANCHOR: start_workers
/// Starts the pool. A worker sends each reply on a channel, then writes a
/// byte to the self-pipe, whose other end (returned) the loop polls.
fn start_workers(handler: Handler, threads: usize) -> io::Result<Wiring> {
    let (wakeup, waker) = UnixStream::pair()?;
    wakeup.set_nonblocking(true)?;
    waker.set_nonblocking(true)?; // a full pipe must not stop a worker
    let (replies, finished) = mpsc::channel();
    let queue = Arc::new(Queue::new(QUEUE_CAPACITY));
    for _ in 0..threads {
        let (queue, replies) = (Arc::clone(&queue), replies.clone());
        let mut waker = waker.try_clone()?;
        thread::spawn(move || {
            loop {
                let job: Job = queue.pop();
                let reply = handler(job.request, job.body); // never a socket
                if replies.send((job.id, reply)).is_err() {
                    return; // the loop is gone
                }
                let _ = waker.write(&[1]); // if the pipe is full, it wakes anyway
            }
        });
    }
    let io = IoLoop {
        connections: HashMap::new(),
        next_id: 0,
        queue,
        waiting: VecDeque::new(),
        in_flight: 0,
        room: threads + QUEUE_CAPACITY,
    };
    Ok((wakeup, finished, io))
}
// ANCHOR_END: start_workers

type Wiring = (UnixStream, mpsc::Receiver<(usize, Reply)>, IoLoop);

impl IoLoop {
    /// Accepts every connection waiting in the backlog (up to the limit).
    fn accept(&mut self, listener: &TcpListener) {
        while self.connections.len() < MAX_CONNECTIONS {
            match listener.accept() {
                Ok((stream, _)) if stream.set_nonblocking(true).is_ok() => {
                    let connection = Connection::new(stream);
                    self.connections.insert(self.next_id, connection);
                    self.next_id += 1;
                }
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) => return eprintln!("accept failed: {e}"),
            }
        }
    }

    /// Acts on what `poll` reported for one connection, then closes it if
    /// it is finished. Only the loop closes sockets, in `close`.
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
        if !(alive && self.progress(id)) {
            self.close(id);
        }
    }

    /// A worker's reply: its bytes are written now, or on POLLOUT later.
    fn deliver(&mut self, id: usize, reply: Reply) {
        self.in_flight -= 1;
        let Some(connection) = self.connections.get_mut(&id) else {
            return; // closed meanwhile
        };
        connection.output = reply.bytes;
        connection.close_when_written = !reply.keep_alive;
        connection.state = State::Head;
        if !(connection.write() && self.progress(id)) {
            self.close(id);
        }
    }

    // ANCHOR: progress
    /// Once the previous response is written, parses further and queues a
    /// complete request, or an error response. False: close it now.
    fn progress(&mut self, id: usize) -> bool {
        let connection = self.connections.get_mut(&id).unwrap();
        if connection.lingering {
            connection.input.clear(); // read to be dropped
            return !connection.peer_closed;
        }
        if connection.written < connection.output.len() {
            return true; // still writing: parse nothing more yet
        }
        if connection.close_when_written {
            return false; // `Connection: close`, or an error, sent in full
        }
        match connection.advance(id) {
            Ok(Some(job)) => self.waiting.push_back(job),
            // The client sent all it will send, and no request is in service.
            Ok(None) => return !connection.peer_closed || matches!(connection.state, State::Busy),
            Err(error) => {
                // The server answers errors itself, then closes.
                connection.output = serialize(&error_response(&error), false, false);
                connection.close_when_written = true;
                connection.state = State::Busy;
                return connection.write() && !connection.output.is_empty();
            }
        }
        true
    }
    // ANCHOR_END: progress

    // ANCHOR: close
    /// Closes in two steps, as stage 3 does: shut our side, drop what the
    /// client still sends until it closes, then close.
    fn close(&mut self, id: usize) {
        let Some(connection) = self.connections.get_mut(&id) else {
            return;
        };
        let shut = connection.stream.shutdown(Shutdown::Write);
        if connection.lingering || connection.peer_closed || shut.is_err() {
            self.connections.remove(&id); // dropping the stream closes it
        } else {
            connection.lingering = true;
        }
    }
    // ANCHOR_END: close

    // ANCHOR: dispatch
    /// Hands waiting requests to the pool while it has room. The loop is the
    /// only producer and counts replies, so it knows `push` will not block.
    fn dispatch(&mut self) {
        let count = self.waiting.len().min(self.room - self.in_flight);
        for job in self.waiting.drain(..count) {
            self.queue.push(job);
        }
        self.in_flight += count;
    }
    // ANCHOR_END: dispatch
}
