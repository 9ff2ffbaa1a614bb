//! The exercises of chapter 7, "One request, end to end": a new environ key
//! measured across the hand-off from the I/O thread to a worker, and a trace
//! of every hand-off in the log.

use std::io::{BufReader, Write};
use std::time::Duration;

use crate::support::{Calls, Gate, TIMEOUT, TestServer, read_response, wait_until};
use waitress::gateway::{AppResult, Body, Environ, StartResponse, headers};

use super::{duration_after, hello};

// ---------------------------------------------------------------------------
// Exercise 7.1: `waitress.queue_wait`
// ---------------------------------------------------------------------------

/// Answers `{ queue_wait: 52.1µs }` (the `Duration`'s `Debug` text), or
/// `{ queue_wait: none }`.
fn report_queue_wait(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    let text = match environ.object::<Duration>("waitress.queue_wait") {
        Some(wait) => format!("{{ queue_wait: {wait:?} }}"),
        None => "{ queue_wait: none }".to_string(),
    };
    start_response.start_response("200 OK", headers(&[("Content-Type", "text/plain")]), None)?;
    Ok(Body::from(text))
}

fn get_close(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").into_bytes()
}

#[test]
#[ignore = "exercise: chapter 7"]
fn ch7_queue_wait_is_in_the_environ() {
    let server = TestServer::start(report_queue_wait, |b| b);
    let response = server.exchange(&get_close("/"));
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    let wait = duration_after(&response, "queue_wait")
        .unwrap_or_else(|| panic!("no waitress.queue_wait Duration in the environ: {response}"));
    assert!(wait < TIMEOUT, "{response}");
}

#[test]
#[ignore = "exercise: chapter 7"]
fn ch7_queue_wait_counts_the_wait_for_a_worker() {
    // One worker, held by the first request until the test opens the gate:
    // the second request, complete on the I/O thread, waits for it.
    let gate = Gate::new();
    let held = gate.clone();
    let app = move |environ: &mut Environ, start_response: &mut dyn StartResponse| {
        if environ.get("PATH_INFO") == Some("/hold") {
            held.wait();
        }
        report_queue_wait(environ, start_response)
    };
    let (calls, app) = Calls::count(app);
    let server = TestServer::start(app, |b| b.threads(1));

    let mut first = server.connect();
    first.write_all(&get_close("/hold")).unwrap();
    calls.wait_for(1); // the only worker is inside the application
    let mut second = server.connect();
    second.write_all(&get_close("/next")).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    gate.open();

    let first = read_response(&mut BufReader::new(first));
    let second = read_response(&mut BufReader::new(second));
    let text = |body: &[u8]| String::from_utf8_lossy(body).into_owned();
    let (first, second) = (text(&first.body), text(&second.body));
    let first_wait = duration_after(&first, "queue_wait").expect(&first);
    let second_wait = duration_after(&second, "queue_wait").expect(&second);
    assert!(
        second_wait >= Duration::from_millis(200),
        "the second request waited 300 ms for the worker, but {second}"
    );
    assert!(second_wait < TIMEOUT, "{second}");
    assert!(
        first_wait < second_wait,
        "the first request found an idle worker: {first}, {second}"
    );
}

// ---------------------------------------------------------------------------
// Exercise 7.2: trace the hand-offs
// ---------------------------------------------------------------------------

/// The `waitress.journey` lines about `target`: (thread, step, the rest).
fn journey(log: &str, target: &str) -> Vec<(String, String, String)> {
    log.lines()
        .filter_map(|line| line.split_once("[waitress.journey] "))
        .filter_map(|(_, message)| {
            let (thread, rest) = message.split_once(": ")?;
            let mut words = rest.splitn(4, ' ');
            let step = words.next()?;
            let _method = words.next()?;
            let path = words.next()?;
            let tail = words.next().unwrap_or("");
            (path == target).then(|| (thread.to_string(), step.to_string(), tail.to_string()))
        })
        .collect()
}

#[test]
#[ignore = "exercise: chapter 7"]
fn ch7_trace_follows_a_request_across_threads() {
    let server = TestServer::start(hello, |b| b);
    let response = server.exchange(&get_close("/traced"));
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    wait_until("the worker logged `finished`", || {
        journey(&server.log.contents(), "/traced").len() >= 3
    });
    let log = server.log.contents();
    let steps = journey(&log, "/traced");
    let names: Vec<&str> = steps.iter().map(|(_, step, _)| step.as_str()).collect();
    assert_eq!(names, ["queued", "started", "finished"], "{log}");
    let (io, worker, same_worker) = (&steps[0].0, &steps[1].0, &steps[2].0);
    assert_eq!(io, &server.io_thread, "the I/O thread queues it: {log}");
    assert!(worker.starts_with("waitress-"), "a worker starts it: {log}");
    assert_eq!(
        worker, same_worker,
        "the worker that started it finishes it: {log}"
    );
    assert_eq!(steps[2].2, "200", "`finished` gives the status: {log}");
}

#[test]
#[ignore = "exercise: chapter 7"]
fn ch7_trace_shows_one_worker_per_connection() {
    let slow = |environ: &mut Environ, start_response: &mut dyn StartResponse| {
        std::thread::sleep(Duration::from_millis(20));
        hello(environ, start_response)
    };
    let server = TestServer::start(slow, |b| b.threads(4));
    // Three pipelined requests in one write: the I/O thread queues all three
    // on the connection before a worker takes the first.
    let mut pipelined = Vec::new();
    pipelined.extend_from_slice(b"GET /p1 HTTP/1.1\r\nHost: h\r\n\r\n");
    pipelined.extend_from_slice(b"GET /p2 HTTP/1.1\r\nHost: h\r\n\r\n");
    pipelined.extend_from_slice(&get_close("/p3"));
    let response = server.exchange(&pipelined);
    assert_eq!(response.matches("HTTP/1.1 200 OK").count(), 3, "{response}");
    wait_until("the worker logged `finished` for /p3", || {
        journey(&server.log.contents(), "/p3").len() >= 3
    });
    let log = server.log.contents();
    let order: Vec<String> = log
        .lines()
        .filter(|line| line.contains("[waitress.journey] waitress-"))
        .filter_map(|line| {
            let (_, message) = line.split_once("[waitress.journey] ")?;
            let (thread, rest) = message.split_once(": ")?;
            let mut words = rest.split(' ');
            let step = words.next()?;
            let path = words.nth(1)?;
            Some(format!("{thread} {step} {path}"))
        })
        .collect();
    let worker = order.first().and_then(|line| line.split(' ').next());
    let worker = worker.unwrap_or_else(|| panic!("no worker lines: {log}"));
    let expected: Vec<String> = ["p1", "p2", "p3"]
        .iter()
        .flat_map(|p| {
            [
                format!("{worker} started /{p}"),
                format!("{worker} finished /{p}"),
            ]
        })
        .collect();
    assert_eq!(order, expected, "one worker answers them in order: {log}");
}
