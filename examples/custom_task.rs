//! A custom `Task` that answers JSON, run on the thread pool without the
//! poll loop: the Rust Book's multithreaded server, rebuilt from waitress's
//! parts (the parser, the dispatcher, the task and its response framing).
//!
//! ```text
//! cargo run --example custom_task -- --port 8080
//! curl -i http://127.0.0.1:8080/anything?x=1
//! ```
//!
//! One `JsonTask` per connection: a worker reads requests with the
//! incremental parser, answers each with a JSON application through
//! `WsgiTask` (so framing, keep-alive and error handling are the server's
//! own), and keeps the connection until the client or the framing closes it.
//! Unlike the real server, a slow client here holds a worker for as long as
//! it likes: that is what the poll loop exists to prevent.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use waitress::gateway::{AppResult, Body, Environ, RequestInfo, StartResponse, headers};
use waitress::http::error::HttpError;
use waitress::http::parser::{Limits, RequestParser, Status};
use waitress::pool::{Dispatcher, Task, ThreadedTaskDispatcher};
use waitress::task::{ErrorTask, ResponseOutput, TaskContext, TaskRequest, WsgiTask};

/// The application: the request, as JSON.
pub fn json(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    let body = format!(
        "{{\"method\": \"{}\", \"path\": \"{}\", \"query\": \"{}\"}}\n",
        escape(environ.method()),
        escape(environ.path_info()),
        escape(environ.get("QUERY_STRING").unwrap_or(""))
    );
    start_response.start_response(
        "200 OK",
        headers(&[("Content-Type", "application/json")]),
        None,
    )?;
    Ok(Body::from(body))
}

fn escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c {
            '"' | '\\' => vec!['\\', c],
            c if c < ' ' => format!("\\u{:04x}", u32::from(c)).chars().collect(),
            c => vec![c],
        })
        .collect()
}

/// Answers every request of one connection, on one worker.
pub struct JsonTask {
    pub stream: TcpStream,
    pub context: Arc<TaskContext>,
}

/// A blocking socket is a fine `ResponseOutput` for a worker that owns it.
struct StreamOutput<'a>(&'a TcpStream);

impl ResponseOutput for StreamOutput<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.0.write_all(data)
    }
}

impl Task for JsonTask {
    fn service(self: Box<Self>) {
        let mut buffer = [0u8; 8192];
        let mut pending: Vec<u8> = Vec::new();
        let mut parser = RequestParser::new(Limits::default());
        loop {
            if pending.is_empty() {
                match (&self.stream).read(&mut buffer) {
                    Ok(0) | Err(_) => return, // closed, or timed out
                    Ok(read) => pending.extend_from_slice(&buffer[..read]),
                }
            }
            let received = parser.received(&pending);
            pending.drain(..received.consumed.min(pending.len()));
            let outcome = match received.status {
                Status::NeedMore | Status::ExpectContinue => continue,
                Status::Error { error, version } => {
                    let error = HttpError::from(error);
                    ErrorTask::new(error, version)
                        .service(&mut StreamOutput(&self.stream), &self.context)
                }
                Status::Complete(request) => {
                    let task_request = TaskRequest {
                        close_after: request.close_after,
                        info: RequestInfo {
                            method: request.method().to_string(),
                            target: request.target().to_string(),
                            version: request.version,
                            headers: request.to_cgi_headers(),
                            body: request.body,
                            ..RequestInfo::default()
                        },
                    };
                    WsgiTask::new(&json, task_request, &self.context)
                        .service(&mut StreamOutput(&self.stream))
                }
            };
            if outcome.close {
                return;
            }
            parser = RequestParser::new(Limits::default());
        }
    }
}

#[allow(dead_code)]
fn main() -> io::Result<()> {
    let port = std::env::args()
        .skip_while(|a| a != "--port")
        .nth(1)
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or(8080);
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    println!("Serving on http://{}", listener.local_addr()?);
    let pool = ThreadedTaskDispatcher::new();
    pool.set_thread_count(4);
    let context = Arc::new(TaskContext::default());
    for stream in listener.incoming() {
        let stream = stream?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        pool.add_task(Box::new(JsonTask {
            stream,
            context: Arc::clone(&context),
        }));
    }
    Ok(())
}
