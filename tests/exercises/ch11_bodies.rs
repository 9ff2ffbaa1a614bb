//! The exercises of chapter 11: Bodies: Content-Length, chunked and spooling.

use waitress::http::parser::{Limits, RequestParser, Status};

// ---------------------------------------------------------------------------
// Chapter 11: Bodies: Content-Length, chunked and spooling
// ---------------------------------------------------------------------------

/// A chunked POST of `chunks` chunks of `size` bytes, then the last chunk,
/// parsed whole; the error the parser answers with, if any.
fn parse_chunked(chunks: usize, size: usize) -> Option<String> {
    let mut wire =
        b"POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let chunk = format!("{size:x}\r\n{}\r\n", "x".repeat(size));
    for _ in 0..chunks {
        wire.extend_from_slice(chunk.as_bytes());
    }
    wire.extend_from_slice(b"0\r\n\r\n");
    let limits = Limits {
        inbuf_overflow: 1 << 20,
        ..Limits::default()
    };
    let received = RequestParser::new(limits).received(&wire);
    match received.status {
        Status::Error { error, .. } => Some(format!("{} {error}", error.status())),
        Status::Complete(request) => {
            assert_eq!(received.consumed, wire.len());
            assert_eq!(request.body.len(), (chunks * size) as u64);
            None
        }
        status => panic!("neither complete nor refused: {status:?}"),
    }
}

#[test]
#[ignore = "exercise: chapter 11"]
fn ch11_many_tiny_chunks_are_refused() {
    let error = parse_chunked(100_000, 1).expect("600 kB of framing for 100 kB of body");
    assert!(error.starts_with("400 "), "{error}");
}

#[test]
#[ignore = "exercise: chapter 11"]
fn ch11_the_framing_bound_spares_honest_clients() {
    assert_eq!(
        parse_chunked(2_000, 1_000),
        None,
        "2 MB in 1000-byte chunks"
    );
    assert_eq!(
        parse_chunked(10_000, 1),
        None,
        "10,000 tiny chunks: 50 kB of framing"
    );
    assert!(
        parse_chunked(30_000, 1).is_some(),
        "30,000 tiny chunks: 150 kB of framing"
    );
}

/// A parser (`inbuf_overflow` 512 KiB) that has read the head of a POST
/// announcing `length` bytes and the first 1000 of them.
fn parser_after_1000_bytes_of(length: usize) -> RequestParser {
    let limits = Limits {
        inbuf_overflow: 524_288,
        ..Limits::default()
    };
    let mut parser = RequestParser::new(limits);
    let mut wire = format!("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: {length}\r\n\r\n")
        .into_bytes();
    wire.extend_from_slice(&[b'x'; 1000]);
    let received = parser.received(&wire);
    assert_eq!(received.consumed, wire.len());
    assert!(
        matches!(received.status, Status::NeedMore),
        "{:?}",
        received.status
    );
    parser
}

#[test]
#[ignore = "exercise: chapter 11"]
fn ch11_a_body_announced_above_the_overflow_goes_to_a_file_at_once() {
    let mut big = parser_after_1000_bytes_of(1_000_000);
    assert_eq!(
        big.buffered_capacity(),
        0,
        "no memory for a body bound for a file"
    );
    let rest = big.received(&vec![b'y'; 999_000]);
    assert_eq!(rest.consumed, 999_000);
    let Status::Complete(request) = rest.status else {
        panic!("not complete: {:?}", rest.status)
    };
    assert!(request.body.is_file());
    assert_eq!(request.body.len(), 1_000_000);
    let mut small = parser_after_1000_bytes_of(100_000);
    assert!(
        small.buffered_capacity() >= 1000,
        "a body that fits stays in memory"
    );
    let Status::Complete(request) = small.received(&vec![b'y'; 99_000]).status else {
        panic!("not complete")
    };
    assert!(!request.body.is_file(), "a body that fits stays in memory");
}
