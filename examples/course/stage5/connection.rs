//! One connection as the loop sees it: a socket, the bytes read and not
//! yet parsed, where it is in its request, and the response being written.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;

use crate::body::{BodyDecoder, framing};
use crate::io_loop::Job;
use crate::parser::{HttpError, Request, Status, parse_head};
use crate::poll::{POLLIN, POLLOUT};

// ANCHOR: connection
/// Where a connection is in its current request.
pub enum State {
    /// Reading a head: `parse_head` says `Partial` until it is all there.
    Head,
    /// Reading the body of a parsed head.
    Body(Request, BodyDecoder, Vec<u8>),
    /// The request is with a worker (or waiting for one): parse no further,
    /// so pipelined requests are answered one at a time, in order.
    Busy,
}

/// What the loop knows of one client: a buffer, not a thread.
pub struct Connection {
    pub stream: TcpStream,
    pub input: Vec<u8>,
    pub state: State,
    pub output: Vec<u8>,
    pub written: usize,
    pub close_when_written: bool,
    pub peer_closed: bool,
    /// Our side is shut: drop what still comes until the client closes.
    pub lingering: bool,
}
// ANCHOR_END: connection

impl Connection {
    pub fn new(stream: TcpStream) -> Connection {
        let (input, output, state) = (Vec::new(), Vec::new(), State::Head);
        let (written, close_when_written, peer_closed) = (0, false, false);
        let lingering = false;
        Connection {
            stream,
            input,
            state,
            output,
            written,
            close_when_written,
            peer_closed,
            lingering,
        }
    }

    // ANCHOR: interest
    /// The events to wait for: write while a response is pending, else
    /// read while a request is being read, else nothing (a worker has it).
    pub fn interest(&self) -> i16 {
        if self.lingering {
            POLLIN
        } else if self.written < self.output.len() {
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
    pub fn advance(&mut self, id: usize) -> Result<Option<Job>, HttpError> {
        loop {
            match &mut self.state {
                State::Busy => return Ok(None),
                State::Head => match parse_head(&self.input)? {
                    Status::Partial => return Ok(None), // called again on more bytes
                    Status::Complete((request, length)) => {
                        self.input.drain(..length);
                        let decoder = BodyDecoder::new(framing(&request)?);
                        self.state = State::Body(request, decoder, Vec::new());
                    }
                },
                State::Body(_, decoder, body) => {
                    let decoded = decoder.decode(&self.input, body)?;
                    self.input.drain(..decoded.consumed);
                    if !decoded.done {
                        return Ok(None);
                    }
                    let finished = std::mem::replace(&mut self.state, State::Busy);
                    let State::Body(request, _, body) = finished else {
                        unreachable!()
                    };
                    return Ok(Some(Job { id, request, body }));
                }
            }
        }
    }
    // ANCHOR_END: advance

    /// Reads once (level-triggered: `poll` says so again if there is more);
    /// false on a broken connection.
    pub fn read(&mut self) -> bool {
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
    pub fn write(&mut self) -> bool {
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
