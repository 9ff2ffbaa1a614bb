//! Requests and responses on one connection: keep-alive, HTTP/1.0,
//! pipelining, a request sent byte by byte, `Expect: 100-continue`, spooled
//! uploads, file bodies and absolute-form targets.

use std::io::{BufReader, Write};
use std::thread;
use std::time::Duration;

use crate::support::{TestServer, closed_by_server, read_response};
use waitress::gateway::{AppResult, Body, Environ, StartResponse};

use super::{echo, hello};

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let server = TestServer::start(hello, |b| b);
    let stream = server.connect();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    for _ in 0..3 {
        (&stream)
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let response = read_response(&mut reader);
        assert_eq!(
            (response.status, response.body.as_slice()),
            (200, &b"Hello, world!"[..])
        );
        assert_eq!(response.header("Connection"), None);
    }
}

#[test]
fn http10_closes_after_the_response() {
    let server = TestServer::start(hello, |b| b);
    let mut stream = server.connect();
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut reader = BufReader::new(stream);
    let response = read_response(&mut reader);
    assert_eq!(response.header("Connection"), Some("close"));
    assert!(closed_by_server(&mut reader));
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = TestServer::start(echo, |b| b);
    let mut stream = server.connect();
    let mut wire = Vec::new();
    for i in 0..25 {
        wire.extend_from_slice(
            format!("POST /p{i} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{i:02}").as_bytes(),
        );
    }
    wire.extend_from_slice(b"GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    stream.write_all(&wire).unwrap();
    let mut reader = BufReader::new(stream);
    for i in 0..25 {
        let response = read_response(&mut reader);
        assert_eq!(
            String::from_utf8(response.body).unwrap(),
            format!("/p{i} 2 false|{i:02}")
        );
    }
    assert_eq!(read_response(&mut reader).body, b"/last 0 false|");
    assert!(closed_by_server(&mut reader));
}

#[test]
fn a_request_sent_one_byte_at_a_time_is_served() {
    let server = TestServer::start(echo, |b| b);
    let mut stream = server.connect();
    stream.set_nodelay(true).unwrap();
    for byte in b"POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" {
        stream.write_all(&[*byte]).unwrap();
        thread::sleep(Duration::from_micros(200));
    }
    let response = read_response(&mut BufReader::new(stream));
    assert_eq!(response.body, b"/slow 5 false|hello");
}

#[test]
fn expect_100_continue_gets_an_interim_response_before_the_body() {
    let server = TestServer::start(echo, |b| b);
    let mut stream = server.connect();
    stream
        .write_all(
            b"POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
        )
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let interim = read_response(&mut reader);
    assert_eq!(interim.status, 100);
    stream.write_all(b"hi").unwrap();
    assert_eq!(read_response(&mut reader).body, b"/up 2 false|hi");
}

#[test]
fn a_bodiless_request_with_expect_is_simply_answered() {
    // Waitress never answers this one (its §1.13 Q5); we do.
    let server = TestServer::start(echo, |b| b);
    let mut stream = server.connect();
    stream
        .write_all(b"GET /first HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n")
        .unwrap();
    let response = read_response(&mut BufReader::new(stream));
    assert_eq!(
        (response.status, response.body.as_slice()),
        (200, &b"/first 0 false|"[..])
    );
}

#[test]
fn a_large_upload_is_spooled_to_a_file_and_read_back() {
    let server = TestServer::start(echo, |b| b.inbuf_overflow(64 * 1024));
    let mut stream = server.connect();
    let body = vec![b'u'; 1 << 20];
    let writer = {
        let mut stream = stream.try_clone().unwrap();
        let body = body.clone();
        thread::spawn(move || {
            stream
                .write_all(b"POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n")
                .unwrap();
            stream.write_all(&body).unwrap();
        })
    };
    let response = read_response(&mut BufReader::new(&mut stream));
    writer.join().unwrap();
    let (summary, echoed) = response
        .body
        .split_at(response.body.iter().position(|&b| b == b'|').unwrap());
    assert_eq!(summary, b"/big 1048576 true");
    assert_eq!(&echoed[1..], &body[..]);
}

#[test]
fn a_file_body_is_streamed_with_its_length() {
    fn file(_: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        start_response.start_response("200 OK", vec![], None)?;
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        Ok(Body::file(std::io::Cursor::new(data), 32 * 1024))
    }
    let server = TestServer::start(file, |b| b.outbuf_high_watermark(64 * 1024));
    let mut stream = server.connect();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut reader = BufReader::new(stream);
    for _ in 0..2 {
        let response = read_response(&mut reader);
        assert_eq!(response.header("Content-Length"), Some("3000000"));
        assert!(
            response
                .body
                .iter()
                .enumerate()
                .all(|(i, &b)| b == (i % 251) as u8)
        );
    }
}

/// Answers with what the application sees of the host.
fn host_view(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    let get = |key| environ.get(key).unwrap_or("-").to_string();
    let text = format!(
        "{} {} {} {}",
        get("HTTP_HOST"),
        get("SERVER_NAME"),
        get("SERVER_PORT"),
        environ.path_info()
    );
    start_response.start_response("200 OK", vec![], None)?;
    Ok(Body::from(text))
}

#[test]
fn an_absolute_form_target_is_the_host_the_application_sees() {
    // RFC 9112 §3.2.2: Host is ignored for the target's authority.
    let server = TestServer::start(host_view, |b| b);
    let stream = server.connect();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    (&stream)
        .write_all(b"GET http://a.example:8080/x HTTP/1.1\r\nHost: b.example\r\n\r\n")
        .unwrap();
    let response = read_response(&mut reader);
    assert_eq!(response.status, 200);
    let port = server.address.port();
    assert_eq!(
        String::from_utf8(response.body).unwrap(),
        format!("a.example:8080 a.example {port} /x")
    );

    (&stream)
        .write_all(b"GET s://]ufd/: HTTP/1.1\r\nHost: b.example\r\n\r\n")
        .unwrap();
    let response = read_response(&mut reader);
    assert_eq!(response.status, 400);
    let body = String::from_utf8(response.body).unwrap();
    assert!(
        body.contains("Request target authority is invalid: invalid character ']' in the host"),
        "{body}"
    );
}

#[test]
fn the_server_logs_nothing_alarming_for_ordinary_traffic() {
    let server = TestServer::start(hello, |b| b);
    for _ in 0..3 {
        let mut stream = server.connect();
        stream.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        let _ = read_response(&mut BufReader::new(stream));
    }
    let log = server.stop().contents();
    assert!(!log.contains("ERROR") && !log.contains("WARNING"), "{log}");
}

#[test]
fn an_error_answered_to_a_head_request_has_no_body() {
    // RFC 9110 §9.3.2: no content in response to HEAD, errors included.
    let server = TestServer::start(hello, |b| b.max_request_header_size(100));
    let long = format!(
        "HEAD / HTTP/1.1\r\nHost: x\r\nX: {}\r\n\r\n",
        "a".repeat(200)
    );
    let head = server.exchange(long.as_bytes());
    let get = server.exchange(long.replacen("HEAD", "GET", 1).as_bytes());
    assert!(head.starts_with("HTTP/1.1 431 "), "{head}");
    assert!(get.starts_with("HTTP/1.1 431 "), "{get}");
    let (head_headers, head_body) = head.split_once("\r\n\r\n").unwrap();
    let (_, get_body) = get.split_once("\r\n\r\n").unwrap();
    assert_eq!(head_body, "", "{head}");
    assert!(!get_body.is_empty(), "{get}");
    let length = format!("Content-Length: {}", get_body.len());
    assert!(head_headers.contains(&length), "{head}");
}
