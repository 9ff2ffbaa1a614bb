//! Stages 1 and 2 (book chapters 1 and 2): a blocking server, then a pool.

use std::io::Write;
use std::net::TcpStream;

use super::*;

#[test]
fn stage1_answers_get_404_and_400_exactly() {
    check_answers(1);
}

#[test]
fn stage1_is_blocked_by_a_silent_client() {
    let stage = Stage::start(1, &[]);
    assert!(
        !answered_despite_a_silent_client(&stage, 1),
        "stage 1 serves one connection at a time: a silent client must block it"
    );
}

#[test]
fn stage2_answers_get_404_and_400_exactly() {
    check_answers(2);
}

#[test]
fn stage2_is_not_blocked_by_silent_clients() {
    let stage = Stage::start(2, &[]);
    assert!(answered_despite_a_silent_client(&stage, 1));
    // Fewer silent clients than workers (4): still answered.
    assert!(answered_despite_a_silent_client(&stage, 3));
}

#[test]
fn stage2_answers_one_request_per_connection_and_no_more() {
    // The failure that motivates stage 3: a client that sends two requests
    // on one connection (as HTTP/1.1 allows) gets one answer, then a close.
    let stage = Stage::start(2, &[]);
    let two = "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /other HTTP/1.1\r\nHost: x\r\n\r\n";
    let response = stage.send(two);
    assert_answer(&response, "200 OK", "Hello, world!");
}

#[test]
fn stage2_is_blocked_once_every_worker_holds_a_silent_client() {
    // And stage 2's own limit: four silent clients hold its four workers.
    let stage = Stage::start(2, &[]);
    assert!(!answered_despite_a_silent_client(&stage, 4));
}

#[test]
fn stage2_serves_many_clients_at_once() {
    let stage = Stage::start(2, &[]);
    let clients: Vec<_> = (0..32)
        .map(|_| {
            let addr = stage.addr;
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect_timeout(&addr, PATIENCE).unwrap();
                stream.set_read_timeout(Some(PATIENCE)).unwrap();
                stream
                    .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                    .unwrap();
                read_response(&mut stream)
            })
        })
        .collect();
    for client in clients {
        assert_answer(&client.join().unwrap(), "200 OK", "Hello, world!");
    }
}

#[test]
#[ignore = "exercise: chapter 1"]
fn ch1_head_answers_without_a_body() {
    let stage = Stage::start(1, &[]);
    let response = stage.send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(response.status_line, "HTTP/1.1 200 OK", "{response:?}");
    // The headers describe the body a GET would get, but no body follows.
    assert_eq!(
        response.header("Content-Length"),
        Some("13"),
        "{response:?}"
    );
    assert!(response.body.is_empty(), "{response:?}");
    let missing = stage.send("HEAD /nothing HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(missing.status_line, "HTTP/1.1 404 Not Found", "{missing:?}");
    assert!(missing.body.is_empty(), "{missing:?}");
}

#[test]
#[ignore = "exercise: chapter 2"]
fn ch2_threads_flag_sets_the_pool_size() {
    // One worker: one silent client blocks everybody again.
    let one = Stage::start(2, &["--threads", "1"]);
    assert!(!answered_despite_a_silent_client(&one, 1));
    // Eight workers: seven silent clients leave one worker free.
    let eight = Stage::start(2, &["--threads", "8"]);
    assert!(answered_despite_a_silent_client(&eight, 7));
}

#[test]
fn the_stage_checker_passes_stage_1() {
    assert_checker_passes(1);
}

#[test]
fn the_stage_checker_passes_stage_2() {
    assert_checker_passes(2);
}
