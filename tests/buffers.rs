//! The spooling buffer as the channel will use it: a FIFO queue for output
//! (`peek`/`skip`) and a body store that becomes `wsgi.input`.

use std::io::{Read, Seek, SeekFrom};

use waitress::http::buffers::OverflowableBuffer;
use waitress::http::parser::{Limits, ParseError};
use waitress::http::receiver::{ChunkedReceiver, FixedStreamReceiver};

#[test]
fn spooled_buffer_works_as_an_output_queue() {
    let mut queue = OverflowableBuffer::new(16);
    for n in 0..10 {
        queue.append(format!("line {n}\n").as_bytes()).unwrap();
    }
    assert!(queue.is_file());
    assert_eq!(queue.memory_capacity(), 0);
    let mut drained = Vec::new();
    let mut window = [0; 5];
    while !queue.is_empty() {
        let count = queue.peek_into(&mut window).unwrap();
        drained.extend_from_slice(&window[..count]);
        queue.skip(count as u64).unwrap();
    }
    let expected: String = (0..10).map(|n| format!("line {n}\n")).collect();
    assert_eq!(drained, expected.as_bytes());
    assert!(
        !queue.is_file(),
        "a drained spooled buffer returns to memory"
    );
}

#[test]
fn spooled_input_reads_and_seeks_from_the_start() {
    let mut buffer = OverflowableBuffer::new(4);
    buffer.append(b"0123456789").unwrap();
    let mut input = buffer.into_input().unwrap();
    assert!(input.is_file());
    assert_eq!(input.len(), 10);
    let mut text = String::new();
    input.read_to_string(&mut text).unwrap();
    assert_eq!(text, "0123456789");
    input.seek(SeekFrom::Start(5)).unwrap();
    text.clear();
    input.read_to_string(&mut text).unwrap();
    assert_eq!(text, "56789");
}

#[test]
fn fixed_receiver_spools_past_the_overflow() {
    let mut receiver = FixedStreamReceiver::new(10, OverflowableBuffer::new(4));
    assert_eq!(receiver.received(b"01234").unwrap(), 5);
    assert!(receiver.buffered_capacity() <= 4);
    assert_eq!(receiver.received(b"56789extra").unwrap(), 5);
    assert!(receiver.is_complete());
    let input = receiver.into_input().unwrap();
    assert!(input.is_file());
    assert_eq!(input.len(), 10);
}

#[test]
fn chunked_receiver_on_its_own() {
    let limits = Limits {
        max_body_size: 8,
        ..Limits::default()
    };
    let mut receiver = ChunkedReceiver::new(OverflowableBuffer::new(64), &limits);
    assert_eq!(receiver.received(b"3\r\nabc\r\n").unwrap(), 8);
    assert_eq!(receiver.body_len(), 3);
    assert_eq!(
        receiver.received(b"5\r\n"),
        Err(ParseError::BodyTooLarge { limit: 8 })
    );
}
