//! The examples that need sockets: a custom dispatcher passed to the server,
//! and a custom task on the thread pool.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use waitress::config::Adjustments;
use waitress::pool::{Dispatcher, ThreadedTaskDispatcher};
use waitress::task::TaskContext;

use support::TestServer;

#[path = "../examples/custom_task.rs"]
mod custom_task;
#[path = "../examples/monitored_dispatcher.rs"]
mod monitored_dispatcher;

/// Sends one request and returns the body of the (Content-Length) response.
fn get(stream: &mut TcpStream, path: &str) -> String {
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    String::from_utf8(body).unwrap()
}

#[test]
fn a_monitored_dispatcher_passed_to_the_server_counts_its_tasks() {
    use monitored_dispatcher::{Counters, MonitoredDispatcher, counters_page};
    let counters = Arc::new(Counters::default());
    let dispatcher = Arc::new(MonitoredDispatcher {
        inner: ThreadedTaskDispatcher::new(),
        counters: Arc::clone(&counters),
    });
    dispatcher.set_thread_count(8);
    let server = TestServer::start_with(
        counters_page(Arc::clone(&counters)),
        |_| Adjustments::builder().listen("127.0.0.1:0"),
        |builder| builder.dispatcher(dispatcher.clone()),
    );
    let mut stream = server.connect();
    for _ in 0..3 {
        get(&mut stream, "/");
    }
    let page = get(&mut stream, "/");
    // The page is made while the 4th task runs; the 3rd may still be
    // finishing (its response went out before its worker counted it).
    assert!(page.starts_with("queued 4 completed "), "{page}");
    assert_eq!(dispatcher.inner.stats().threads, 8);
    server.stop();
    assert_eq!(counters.queued.load(Ordering::Relaxed), 4);
    assert_eq!(counters.completed.load(Ordering::Relaxed), 4);
}

#[test]
fn a_custom_task_answers_json_on_the_thread_pool() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let pool = ThreadedTaskDispatcher::new();
    pool.set_thread_count(2);
    let mut client = support::connect(address);
    let (stream, _) = listener.accept().unwrap();
    pool.add_task(Box::new(custom_task::JsonTask {
        stream,
        context: Arc::new(TaskContext::default()),
    }));
    assert_eq!(
        get(&mut client, "/a%20b?x=1"),
        "{\"method\": \"GET\", \"path\": \"/a b\", \"query\": \"x=1\"}\n"
    );
    assert_eq!(
        get(&mut client, "/second"),
        "{\"method\": \"GET\", \"path\": \"/second\", \"query\": \"\"}\n"
    );
    drop(client);
    assert_eq!(pool.shutdown(false, Duration::from_secs(5)), 0);
}

/// The benchmark script is not run here (it needs wrk and takes minutes),
/// but it must stay a valid script that finds its wrk script.
#[test]
fn the_many_connections_benchmark_script_parses_and_finds_its_lua() {
    let status = std::process::Command::new("bash")
        .args(["-n", "examples/many_connections.sh"])
        .status()
        .expect("bash runs");
    assert!(status.success(), "bash -n examples/many_connections.sh");
    let script = std::fs::read_to_string("examples/many_connections.sh").unwrap();
    assert!(script.contains("examples/fixed_rate.lua"));
    let lua = std::fs::read_to_string("examples/fixed_rate.lua").unwrap();
    for hook in ["function delay()", "function done(", "RATE", "CONNECTIONS"] {
        assert!(lua.contains(hook), "fixed_rate.lua lacks {hook}");
    }
}
