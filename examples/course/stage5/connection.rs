//! One connection as the loop sees it (course stage 5).

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;

use crate::body::{BodyDecoder, framing};
use crate::io_loop::Job;
use crate::parser::{HttpError, Request, Status, parse_head};
use crate::poll::{POLLIN, POLLOUT};

// ANCHOR: connection
/// Where a connection is in its current request.
pub enum State {
    Head,
    Body(Request, BodyDecoder, Vec<u8>),
    /// The request is with a worker (or waiting for one): parse no further.
    Busy,
}

/// What the loop knows of one client: a buffer, not a thread.
pub struct Connection {
    pub stream: TcpStream,
    pub input: Vec<u8>, // read, not yet parsed
    pub state: State,
    pub output: Vec<u8>, // the response being written
    pub written: usize,  // how much of it
    pub close_when_written: bool,
    pub peer_closed: bool,
    /// Our side is shut: drop what still comes until the client closes.
    pub lingering: bool,
}
// ANCHOR_END: connection

impl Connection {
    pub fn new(stream: TcpStream) -> Connection {
        Connection {
            stream,
            input: Vec::new(),
            state: State::Head,
            output: Vec::new(),
            written: 0,
            close_when_written: false,
            peer_closed: false,
            lingering: false,
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
        if let State::Head = self.state {
            let Status::Complete((request, length)) = parse_head(&self.input)? else {
                return Ok(None); // called again on more bytes
            };
            self.input.drain(..length);
            let decoder = BodyDecoder::new(framing(&request)?);
            self.state = State::Body(request, decoder, Vec::new());
        }
        let State::Body(_, decoder, body) = &mut self.state else {
            return Ok(None); // Busy: the request is with a worker
        };
        let decoded = decoder.decode(&self.input, body)?;
        self.input.drain(..decoded.consumed);
        if !decoded.done {
            return Ok(None);
        }
        let State::Body(request, _, body) = std::mem::replace(&mut self.state, State::Busy) else {
            unreachable!()
        };
        Ok(Some(Job { id, request, body }))
    }
    // ANCHOR_END: advance

    /// Reads once (`poll` says so again if there is more); false on a
    /// broken connection.
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
