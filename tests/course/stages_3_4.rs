//! Stages 3 and 4 (book chapters 3 and 4): a strict parser with
//! Content-Length and keep-alive, then chunked bodies.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::*;

/// A keep-alive connection: responses are read one at a time, each by its
/// Content-Length, so the connection stays usable after each.
struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    fn open(stage: &Stage) -> Conn {
        Conn {
            reader: BufReader::new(stage.connect()),
        }
    }

    fn send(&mut self, bytes: &str) -> &mut Conn {
        self.reader.get_mut().write_all(bytes.as_bytes()).unwrap();
        self
    }

    /// Reads one response (`head_only` for the answer to a HEAD).
    fn response(&mut self, head_only: bool) -> Response {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line).expect("a response line");
            assert!(n > 0, "the connection closed; head so far {head:?}");
            head += &line;
            if line == "\r\n" {
                break;
            }
        }
        let mut response = parse_response(head.as_bytes());
        let length: usize = response.header("Content-Length").unwrap().parse().unwrap();
        if !head_only {
            response.body = vec![0; length];
            self.reader.read_exact(&mut response.body).unwrap();
        }
        response
    }

    fn next(&mut self) -> Response {
        self.response(false)
    }

    /// Whether the server closed the connection (no byte before the end).
    fn is_closed(&mut self) -> bool {
        let mut rest = Vec::new();
        self.reader
            .read_to_end(&mut rest)
            .expect("closed, not timed out")
            == 0
    }
}

/// Checks a keep-alive answer: status, exact Content-Length, body, and no
/// `Connection: close`.
fn assert_kept(response: &Response, status: &str, body: &[u8]) {
    assert_eq!(
        response.status_line,
        format!("HTTP/1.1 {status}"),
        "{response:?}"
    );
    let length = body.len().to_string();
    assert_eq!(response.header("Content-Length"), Some(length.as_str()));
    assert_eq!(response.header("Connection"), None, "{response:?}");
    assert_eq!(response.body, body, "{response:?}");
}

/// Sends `request`; asserts the answer `status` (body its reason and a
/// newline, `Connection: close`) and that the server closes.
fn assert_refused(stage: &Stage, request: &str, status: &str) {
    let response = stage.send(request);
    let reason = status.split_once(' ').unwrap().1;
    assert_answer(&response, status, &format!("{reason}\n"));
}

const GET: &str = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
const GET_AND_CLOSE: &str = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

fn echo(body: &str) -> String {
    let length = body.len();
    format!("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n{body}")
}

fn chunked_echo(chunks: &str) -> String {
    format!("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{chunks}")
}

#[test]
fn stage3_and_4_still_give_the_stage_1_answers_when_asked_to_close() {
    for n in [3, 4] {
        let stage = Stage::start(n, &[]);
        assert_answer(&stage.send(GET_AND_CLOSE), "200 OK", "Hello, world!");
        let missing = "GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        assert_answer(&stage.send(missing), "404 Not Found", "Not Found\n");
        let delete = "DELETE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        assert_answer(
            &stage.send(delete),
            "501 Not Implemented",
            "Not Implemented\n",
        );
        for bad in [
            "GARBAGE\r\n\r\n",
            "GET  / HTTP/1.1\r\n\r\n",
            "GET / HTTP/2.0\r\n\r\n",
        ] {
            assert_refused(&stage, bad, "400 Bad Request");
        }
    }
}

#[test]
fn stage3_serves_two_requests_on_one_connection() {
    let stage = Stage::start(3, &[]);
    let mut conn = Conn::open(&stage);
    assert_kept(&conn.send(GET).next(), "200 OK", b"Hello, world!");
    assert_kept(&conn.send(GET).next(), "200 OK", b"Hello, world!");
    let last = conn.send(GET_AND_CLOSE).next();
    assert_eq!(last.header("Connection"), Some("close"));
    assert!(conn.is_closed());
}

#[test]
fn stage3_answers_pipelined_requests_in_order() {
    let stage = Stage::start(3, &[]);
    let mut conn = Conn::open(&stage);
    let missing = "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n";
    conn.send(&format!(
        "{GET}{}{missing}{}",
        echo("first"),
        echo("second")
    ));
    assert_kept(&conn.next(), "200 OK", b"Hello, world!");
    assert_kept(&conn.next(), "200 OK", b"first");
    assert_kept(&conn.next(), "404 Not Found", b"Not Found\n");
    assert_kept(&conn.next(), "200 OK", b"second");
}

#[test]
fn stage3_echoes_a_post_body_that_arrives_in_pieces() {
    let stage = Stage::start(3, &[]);
    let mut conn = Conn::open(&stage);
    let request = echo("hello, body");
    // Byte by byte: the parser is called again until the head is complete.
    for byte in request.as_bytes().chunks(1) {
        conn.reader.get_mut().write_all(byte).unwrap();
    }
    let response = conn.next();
    assert_kept(&response, "200 OK", b"hello, body");
    assert_eq!(
        response.header("Content-Type"),
        Some("application/octet-stream")
    );
    // No Content-Length: an empty body (RFC 9112 §6.3).
    let empty = "POST /echo HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_kept(&conn.send(empty).next(), "200 OK", b"");
}

#[test]
fn stage3_closes_http_1_0_connections() {
    let stage = Stage::start(3, &[]);
    for request in [
        "GET / HTTP/1.0\r\n\r\n",
        "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    ] {
        assert_answer(&stage.send(request), "200 OK", "Hello, world!");
    }
}

#[test]
fn stage3_refuses_malformed_heads_with_400_and_closes() {
    let stage = Stage::start(3, &[]);
    for bad in [
        "GET / HTTP/1.1\nHost: x\n\n",                        // bare LF
        "GET / HTTP/1.1\r\nHost : x\r\n\r\n",                 // space before the colon
        "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  2\r\n\r\n", // obs-fold
        "GET / HTTP/1.1\r\nHost: x\r\nX(A): 1\r\n\r\n",       // not a token
        "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n",   // a control character
        "GET / HTTP/1.1\r\n\r\n",                             // no Host
        "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",       // two Hosts
    ] {
        assert_refused(&stage, bad, "400 Bad Request");
    }
}

#[test]
fn stage3_refuses_a_bad_content_length_with_400() {
    let stage = Stage::start(3, &[]);
    for length in ["+5", "-1", "5 5", "0x5", "5, 5", ""] {
        let request = format!("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n");
        assert_refused(&stage, &request, "400 Bad Request");
    }
    let disagree =
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n";
    assert_refused(&stage, disagree, "400 Bad Request");
    // Duplicates that agree are one length.
    let agree =
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok";
    assert_kept(&Conn::open(&stage).send(agree).next(), "200 OK", b"ok");
}

#[test]
fn stage3_answers_431_to_a_head_over_8_kib() {
    let stage = Stage::start(3, &[]);
    let big = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(9000)
    );
    assert_refused(&stage, &big, "431 Request Header Fields Too Large");
    // Just under the limit is fine.
    let fits = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(8000)
    );
    assert_kept(
        &Conn::open(&stage).send(&fits).next(),
        "200 OK",
        b"Hello, world!",
    );
}

#[test]
fn stage3_answers_413_to_a_body_over_1_mib() {
    let stage = Stage::start(3, &[]);
    for length in ["1048577", "99999999999999999999999"] {
        let request = format!("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n");
        assert_refused(&stage, &request, "413 Content Too Large");
    }
}

// ANCHOR: motivating_chunked
#[test]
fn stage3_refuses_a_chunked_body_with_501() {
    let stage = Stage::start(3, &[]);
    // What `curl -T -` sends when it does not know the length in advance.
    let request = chunked_echo("5\r\nhello\r\n0\r\n\r\n");
    assert_refused(&stage, &request, "501 Not Implemented");
}
// ANCHOR_END: motivating_chunked

#[test]
fn the_stage_checker_passes_stage_3() {
    assert_checker_passes(3);
}

#[test]
fn stage4_echoes_a_chunked_body_and_keeps_the_connection() {
    let stage = Stage::start(4, &[]);
    let mut conn = Conn::open(&stage);
    let chunks = "5;name=value\r\nhello\r\n1\r\n,\r\nA\r\n chunked!!\r\n0\r\nX-Trailer: t\r\n\r\n";
    let request = format!("{}{GET}", chunked_echo(chunks));
    // In pieces of 3 bytes: the decoder resumes wherever a read ends.
    for piece in request.as_bytes().chunks(3) {
        conn.reader.get_mut().write_all(piece).unwrap();
    }
    assert_kept(&conn.next(), "200 OK", b"hello, chunked!!");
    assert_kept(&conn.next(), "200 OK", b"Hello, world!");
    // Content-Length bodies still work.
    assert_kept(&conn.send(&echo("plain")).next(), "200 OK", b"plain");
}

#[test]
fn stage4_refuses_transfer_encoding_with_content_length_and_closes() {
    let stage = Stage::start(4, &[]);
    let both = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    assert_refused(&stage, both, "400 Bad Request");
    let old = "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    assert_refused(&stage, old, "400 Bad Request");
}

#[test]
fn stage4_refuses_codings_other_than_one_final_chunked() {
    let stage = Stage::start(4, &[]);
    for codings in ["gzip", "gzip, chunked", "chunked, gzip", "identity"] {
        let request =
            format!("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: {codings}\r\n\r\n");
        assert_refused(&stage, &request, "501 Not Implemented");
    }
    let twice = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_refused(&stage, twice, "400 Bad Request");
}

#[test]
fn stage4_refuses_malformed_chunks_with_400() {
    let stage = Stage::start(4, &[]);
    for chunks in [
        "0x5\r\nhello\r\n0\r\n\r\n",              // a prefix
        "+5\r\nhello\r\n0\r\n\r\n",               // a sign
        "5 \r\nhello\r\n0\r\n\r\n",               // trailing space
        "5\r\nhello!\r\n0\r\n\r\n",               // more data than the size
        "5\nhello\r\n0\r\n\r\n",                  // bare LF
        "12345678901234567\r\n",                  // 17 hex digits
        "5\r\nhello\r\n0\r\nbad trailer\r\n\r\n", // a trailer that is no field
    ] {
        assert_refused(&stage, &chunked_echo(chunks), "400 Bad Request");
    }
}

#[test]
fn stage4_answers_413_to_chunks_over_1_mib() {
    let stage = Stage::start(4, &[]);
    assert_refused(&stage, &chunked_echo("100001\r\n"), "413 Content Too Large");
}

// ANCHOR: motivating_idle
#[test]
fn stage4_is_blocked_by_idle_keep_alive_clients() {
    let stage = Stage::start(4, &[]);
    // Four clients (one per worker) make a request each and stay connected.
    let idle: Vec<Conn> = (0..4)
        .map(|_| {
            let mut conn = Conn::open(&stage);
            assert_kept(&conn.send(GET).next(), "200 OK", b"Hello, world!");
            conn
        })
        .collect();
    // A fifth client waits in the queue: every worker waits on an idle client.
    let mut probe = Conn::open(&stage);
    probe.send(GET);
    probe
        .reader
        .get_mut()
        .set_read_timeout(Some(PROBE))
        .unwrap();
    let mut first = [0; 1];
    let blocked = matches!(probe.reader.read(&mut first),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut));
    assert!(blocked, "stage 4 holds a worker per open connection");
    // As soon as one idle client leaves, the probe is answered.
    let started = Instant::now();
    drop(idle);
    probe
        .reader
        .get_mut()
        .set_read_timeout(Some(PATIENCE))
        .unwrap();
    assert_kept(&probe.next(), "200 OK", b"Hello, world!");
    assert!(started.elapsed() < PATIENCE);
}
// ANCHOR_END: motivating_idle

#[test]
fn the_stage_checker_passes_stage_4() {
    assert_checker_passes(4);
}

#[test]
#[ignore = "exercise: chapter 3"]
fn ch3_wrong_method_on_a_known_path_gets_405_with_allow() {
    let stage = Stage::start(3, &[]);
    let mut conn = Conn::open(&stage);
    let get_echo = conn.send("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n").next();
    assert_kept(&get_echo, "405 Method Not Allowed", b"Method Not Allowed\n");
    assert_eq!(get_echo.header("Allow"), Some("POST"));
    let post_root = conn.send(&echo("x").replacen("/echo", "/", 1)).next();
    assert_kept(
        &post_root,
        "405 Method Not Allowed",
        b"Method Not Allowed\n",
    );
    assert_eq!(post_root.header("Allow"), Some("GET, HEAD"));
    // Unknown paths are still 404, and unknown methods 501.
    assert_kept(
        &conn.send("POST /x HTTP/1.1\r\nHost: x\r\n\r\n").next(),
        "404 Not Found",
        b"Not Found\n",
    );
}

#[test]
#[ignore = "exercise: chapter 3"]
fn ch3_expect_100_continue_gets_an_interim_response() {
    let stage = Stage::start(3, &[]);
    let mut conn = Conn::open(&stage);
    conn.send(
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    );
    // The client waits for this before it sends the body.
    let mut interim = [0; 25];
    conn.reader.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    assert_kept(&conn.send("hello").next(), "200 OK", b"hello");
    // Without the expectation, no interim response.
    assert_kept(&conn.send(&echo("again")).next(), "200 OK", b"again");
}

#[test]
#[ignore = "exercise: chapter 4"]
fn ch4_stream_answers_with_a_chunked_body() {
    let stage = Stage::start(4, &[]);
    let mut conn = Conn::open(&stage);
    conn.send("GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let mut raw = Vec::new();
    conn.reader.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("a head");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.contains("\r\nTransfer-Encoding: chunked\r\n"),
        "{head}"
    );
    assert!(!head.contains("Content-Length"), "{head}");
    assert_eq!(
        body,
        "4\r\none\n\r\n4\r\ntwo\n\r\n6\r\nthree\n\r\n0\r\n\r\n"
    );
}

#[test]
#[ignore = "exercise: chapter 4"]
fn ch4_an_idle_connection_is_closed_after_a_second() {
    let stage = Stage::start(4, &[]);
    let mut conn = Conn::open(&stage);
    // A client that pauses less than a second keeps its connection.
    assert_kept(&conn.send(GET).next(), "200 OK", b"Hello, world!");
    std::thread::sleep(Duration::from_millis(300));
    assert_kept(&conn.send(GET).next(), "200 OK", b"Hello, world!");
    // One that says nothing for a second loses it, and its worker is free.
    let started = Instant::now();
    assert!(conn.is_closed());
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900),
        "closed after {waited:?}"
    );
    assert!(waited < Duration::from_secs(3), "closed after {waited:?}");
}
