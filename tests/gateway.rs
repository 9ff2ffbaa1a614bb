//! The gateway interface through the in-process test client: every environ
//! key, every start_response rule, and the example applications.

use std::io::{Read, Write};

use waitress::gateway::testing::TestRequest;
use waitress::gateway::{AppResult, Body, Environ, ResponseError, StartResponse, headers};
use waitress::http::parser::Version;

#[path = "../examples/echo.rs"]
mod echo_example;
#[path = "../examples/hello.rs"]
mod hello_example;
#[path = "../examples/middleware.rs"]
mod middleware_example;

/// Answers with the environ's string keys as `KEY=value` lines.
fn environ_dump(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    let mut text: String = environ.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    text.push_str(&format!(
        "wsgi.version={:?}\nwsgi.multithread={}\nwsgi.multiprocess={}\nwsgi.run_once={}\nwsgi.input_terminated={}\nwaitress.client_disconnected={}\n",
        environ.version(),
        environ.multithread(),
        environ.multiprocess(),
        environ.run_once(),
        environ.input_terminated(),
        environ.client_disconnected()
    ));
    start_response.start_response("200 OK", vec![], None)?;
    Ok(Body::from(text))
}

fn environ_of(request: TestRequest) -> Vec<(String, String)> {
    let response = request.call(&environ_dump).unwrap();
    response
        .text()
        .lines()
        .map(|line| {
            let (k, v) = line.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn key<'a>(environ: &'a [(String, String)], name: &str) -> Option<&'a str> {
    environ
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn environ_has_every_cgi_and_wsgi_key() {
    let environ = environ_of(
        TestRequest::post("/a%20b?x=1&y=%20", "hello")
            .header("Content-Type", "text/plain")
            .header("X-Foo", "bar")
            .header("Connection", "keep-alive")
            .remote("192.0.2.7", "51515")
            .server("example.com", "8443")
            .url_scheme("https"),
    );
    let expected = [
        ("REQUEST_METHOD", "POST"),
        ("SCRIPT_NAME", ""),
        ("PATH_INFO", "/a b"),
        ("QUERY_STRING", "x=1&y=%20"),
        ("REQUEST_URI", "/a%20b?x=1&y=%20"),
        ("CONTENT_TYPE", "text/plain"),
        ("CONTENT_LENGTH", "5"),
        ("SERVER_NAME", "example.com"),
        ("SERVER_PORT", "8443"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("SERVER_SOFTWARE", "waitress"),
        ("REMOTE_ADDR", "192.0.2.7"),
        ("REMOTE_HOST", "192.0.2.7"),
        ("REMOTE_PORT", "51515"),
        ("HTTP_X_FOO", "bar"),
        ("HTTP_CONNECTION", "keep-alive"),
        ("wsgi.url_scheme", "https"),
        ("wsgi.version", "(1, 0)"),
        ("wsgi.multithread", "true"),
        ("wsgi.multiprocess", "false"),
        ("wsgi.run_once", "false"),
        ("wsgi.input_terminated", "true"),
        ("waitress.client_disconnected", "false"),
    ];
    for (name, value) in expected {
        assert_eq!(key(&environ, name), Some(value), "{name}");
    }
    // Content-Type and Content-Length are CGI keys, never HTTP_ ones.
    assert_eq!(key(&environ, "HTTP_CONTENT_TYPE"), None);
    assert_eq!(key(&environ, "HTTP_CONTENT_LENGTH"), None);
}

#[test]
fn environ_without_body_has_no_content_keys() {
    let environ = environ_of(TestRequest::get("/"));
    assert_eq!(key(&environ, "CONTENT_LENGTH"), None);
    assert_eq!(key(&environ, "CONTENT_TYPE"), None);
    assert_eq!(key(&environ, "QUERY_STRING"), Some(""));
}

#[test]
fn path_info_is_bytes_as_latin1_and_query_stays_raw() {
    let environ = environ_of(TestRequest::get("/%C3%A4%2F?q=%C3%A4+b"));
    assert_eq!(key(&environ, "PATH_INFO"), Some("/\u{c3}\u{a4}/"));
    assert_eq!(key(&environ, "QUERY_STRING"), Some("q=%C3%A4+b"));
    assert_eq!(key(&environ, "REQUEST_URI"), Some("/%C3%A4%2F?q=%C3%A4+b"));
}

#[test]
fn absolute_form_targets_give_their_path() {
    let environ =
        environ_of(TestRequest::get("http://other.example:8080/p/q?z=2").header("Host", "h"));
    assert_eq!(key(&environ, "PATH_INFO"), Some("/p/q"));
    assert_eq!(key(&environ, "QUERY_STRING"), Some("z=2"));
    assert_eq!(
        key(&environ, "REQUEST_URI"),
        Some("http://other.example:8080/p/q?z=2")
    );
}

#[test]
fn absolute_form_targets_name_the_host_and_server_name() {
    // RFC 9112 §3.2.2: the target's authority, not the Host header.
    let environ = environ_of(
        TestRequest::get("http://a.example:8080/x")
            .header("Host", "b.example")
            .server("waitress.invalid", "9000"),
    );
    assert_eq!(key(&environ, "HTTP_HOST"), Some("a.example:8080"));
    assert_eq!(key(&environ, "SERVER_NAME"), Some("a.example"));
    // SERVER_PORT stays the port the request came in on (RFC 3875 §4.1.15).
    assert_eq!(key(&environ, "SERVER_PORT"), Some("9000"));

    let environ = environ_of(TestRequest::get("http://[2001:db8::1]/").version(Version::Http10));
    assert_eq!(key(&environ, "HTTP_HOST"), Some("[2001:db8::1]"));
    assert_eq!(key(&environ, "SERVER_NAME"), Some("[2001:db8::1]"));

    // An origin-form target leaves both as they were.
    let environ = environ_of(TestRequest::get("/x").header("Host", "b.example"));
    assert_eq!(key(&environ, "HTTP_HOST"), Some("b.example"));
    assert_eq!(key(&environ, "SERVER_NAME"), Some("waitress.invalid"));
}

#[test]
fn url_prefix_becomes_script_name_and_leaves_path_info() {
    let environ = environ_of(TestRequest::get("/app/users").url_prefix("/app"));
    assert_eq!(key(&environ, "SCRIPT_NAME"), Some("/app"));
    assert_eq!(key(&environ, "PATH_INFO"), Some("/users"));
    let environ = environ_of(TestRequest::get("/app").url_prefix("/app"));
    assert_eq!(key(&environ, "PATH_INFO"), Some(""));
    // Only a whole path segment matches: /application is not under /app.
    let environ = environ_of(TestRequest::get("/application").url_prefix("/app"));
    assert_eq!(key(&environ, "SCRIPT_NAME"), Some("/app"));
    assert_eq!(key(&environ, "PATH_INFO"), Some("/application"));
}

#[test]
fn repeated_headers_are_joined_and_underscore_names_dropped() {
    let environ = environ_of(
        TestRequest::get("/")
            .header("X-A", "1")
            .header("x-a", "2")
            .header("X_Auth", "bob")
            .header("X-Auth", "alice"),
    );
    assert_eq!(key(&environ, "HTTP_X_A"), Some("1, 2"));
    assert_eq!(
        key(&environ, "HTTP_X_AUTH"),
        Some("alice"),
        "X_Auth cannot impersonate X-Auth"
    );
}

#[test]
fn empty_ident_removes_server_software() {
    let environ = environ_of(TestRequest::get("/").ident(None));
    assert_eq!(key(&environ, "SERVER_SOFTWARE"), None);
}

#[test]
fn client_disconnected_reports_the_flag() {
    let environ = environ_of(TestRequest::get("/").client_disconnected());
    assert_eq!(key(&environ, "waitress.client_disconnected"), Some("true"));
}

#[test]
fn wsgi_input_reads_the_body_then_ends() {
    fn read_twice(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        let mut first = String::new();
        environ.input().read_to_string(&mut first)?;
        let mut again = Vec::new();
        environ.input().read_to_end(&mut again)?;
        start_response.start_response("200 OK", vec![], None)?;
        Ok(Body::from(format!("{first}|{}", again.len())))
    }
    let response = TestRequest::post("/", "Echo\r\nthis\r\nplease")
        .call(&read_twice)
        .unwrap();
    assert_eq!(response.text(), "Echo\r\nthis\r\nplease|0");
}

#[test]
fn wsgi_errors_reach_the_log() {
    fn complain(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        writeln!(environ.errors(), "cache is cold")?;
        start_response.start_response("200 OK", vec![], None)?;
        Ok(Body::empty())
    }
    let response = TestRequest::get("/").call(&complain).unwrap();
    assert!(
        response
            .errors
            .contents()
            .contains("ERROR [wsgi.errors] cache is cold")
    );
}

#[test]
fn middleware_can_add_keys_and_objects() {
    struct User(&'static str);
    fn inner(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
        let user = environ
            .object::<User>("myapp.user")
            .map(|u| u.0)
            .unwrap_or("nobody");
        let role = environ.get("myapp.role").unwrap_or("none").to_string();
        start_response.start_response("200 OK", vec![], None)?;
        Ok(Body::from(format!("{user} {role}")))
    }
    let outer = |environ: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
        environ.insert_object("myapp.user", User("alice"));
        environ.insert("myapp.role", "admin");
        inner(environ, start_response)
    };
    assert_eq!(
        TestRequest::get("/").call(&outer).unwrap().text(),
        "alice admin"
    );
}

// --- start_response rules, as the server applies them ---

fn error_of(
    result: Result<waitress::gateway::testing::TestResponse, waitress::gateway::AppError>,
) -> ResponseError {
    let error = result.expect_err("the application should fail");
    error
        .downcast_ref::<ResponseError>()
        .cloned()
        .unwrap_or_else(|| panic!("not a ResponseError: {error}"))
}

#[test]
fn returning_a_body_without_start_response_fails() {
    let app =
        |_: &mut Environ, _: &mut dyn StartResponse| -> AppResult { Ok(Body::from("orphan")) };
    assert_eq!(
        error_of(TestRequest::get("/").call(&app)),
        ResponseError::NotStarted
    );
}

#[test]
fn returning_an_empty_body_without_start_response_fails() {
    let app = |_: &mut Environ, _: &mut dyn StartResponse| -> AppResult { Ok(Body::empty()) };
    assert_eq!(
        error_of(TestRequest::get("/").call(&app)),
        ResponseError::NotStarted
    );
}

#[test]
fn write_before_start_response_fails() {
    let app = |_: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
        start_response.write(b"too early")?;
        Ok(Body::empty())
    };
    assert_eq!(
        error_of(TestRequest::get("/").call(&app)),
        ResponseError::NotStarted
    );
}

#[test]
fn write_and_returned_body_are_sent_in_order() {
    let app = |_: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
        start_response.start_response("200 OK", vec![], None)?;
        start_response.write(b"abc")?;
        start_response.write(b"")?;
        start_response.write(b"defg")?;
        Ok(Body::from_chunks(vec![Vec::new(), b"hij".to_vec()]))
    };
    assert_eq!(
        TestRequest::get("/").call(&app).unwrap().text(),
        "abcdefghij"
    );
}

#[test]
fn exc_info_before_any_body_replaces_the_response() {
    let app = |_: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
        start_response.start_response("200 OK", headers(&[("X-Old", "1")]), None)?;
        start_response.write(b"")?; // an empty write sends nothing, headers included
        start_response.start_response(
            "503 Service Unavailable",
            headers(&[("Content-Length", "3")]),
            Some("backend down".into()),
        )?;
        Ok(Body::from("try"))
    };
    let response = TestRequest::get("/").call(&app).unwrap();
    assert_eq!(response.status, "503 Service Unavailable");
    assert_eq!(response.header("X-Old"), None);
    assert_eq!(response.text(), "try");
}

#[test]
fn exc_info_after_body_bytes_propagates_the_error() {
    let app = |_: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
        start_response.start_response("200 OK", vec![], None)?;
        start_response.write(b"partial")?;
        start_response.start_response("500 Oops", vec![], Some("the real failure".into()))?;
        Ok(Body::empty())
    };
    let error = TestRequest::get("/").call(&app).unwrap_err();
    assert_eq!(error.to_string(), "the real failure");
}

#[test]
fn a_second_start_response_without_exc_info_fails() {
    let app = |_: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
        start_response.start_response("200 OK", vec![], None)?;
        start_response.start_response("200 OK", vec![], None)?;
        Ok(Body::empty())
    };
    assert_eq!(
        error_of(TestRequest::get("/").call(&app)),
        ResponseError::StartedTwice
    );
}

#[test]
fn response_splitting_is_refused() {
    let app = |_: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
        start_response.start_response(
            "200 OK",
            headers(&[("Location", "/a\r\nSet-Cookie: evil=1")]),
            None,
        )?;
        Ok(Body::empty())
    };
    assert!(matches!(
        error_of(TestRequest::get("/").call(&app)),
        ResponseError::InvalidHeaderValue { .. }
    ));
}

#[test]
fn hop_by_hop_headers_from_the_application_fail() {
    let app = |_: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
        start_response.start_response(
            "101 Switching Protocols",
            headers(&[("Upgrade", "websocket")]),
            None,
        )?;
        Ok(Body::empty())
    };
    assert_eq!(
        error_of(TestRequest::get("/").call(&app)),
        ResponseError::HopByHopHeader("Upgrade".to_string())
    );
}

#[test]
fn an_error_in_the_middle_of_the_body_is_returned() {
    let app = |_: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
        start_response.start_response("200 OK", vec![], None)?;
        Ok(Body::from_fallible_chunks(vec![
            Ok(b"abc".to_vec()),
            Err("generator failed".into()),
        ]))
    };
    assert_eq!(
        TestRequest::get("/").call(&app).unwrap_err().to_string(),
        "generator failed"
    );
}

#[test]
fn file_wrapper_streams_a_file() {
    let app = |environ: &mut Environ, start_response: &mut dyn StartResponse| -> AppResult {
        start_response.start_response("200 OK", vec![], None)?;
        Ok(environ.file_wrapper(std::io::Cursor::new(vec![b'z'; 100]), 16))
    };
    assert_eq!(
        TestRequest::get("/").call(&app).unwrap().body,
        vec![b'z'; 100]
    );
}

// --- the examples ---

#[test]
fn hello_example_answers_hello_world_and_a_big_body() {
    let response = TestRequest::get("/").call(&hello_example::hello).unwrap();
    assert_eq!(response.status, "200 OK");
    assert_eq!(response.text(), "Hello, world!");
    assert_eq!(response.header("Content-Length"), Some("13"));
    let big = TestRequest::get("/big")
        .call(&hello_example::hello)
        .unwrap();
    assert_eq!(big.body.len(), 1 << 20);
    assert_eq!(big.header("Content-Length"), Some("1048576"));
}

#[test]
fn echo_example_sends_the_body_back_with_its_type() {
    let response = TestRequest::post("/", "ping")
        .header("Content-Type", "text/x-ping")
        .call(&echo_example::echo)
        .unwrap();
    assert_eq!(response.text(), "ping");
    assert_eq!(response.header("Content-Type"), Some("text/x-ping"));
    assert_eq!(response.header("Content-Length"), Some("4"));
}

#[test]
fn echo_example_lists_the_environ() {
    let response = TestRequest::get("/environ?x=1")
        .call(&echo_example::echo)
        .unwrap();
    assert!(response.text().contains("QUERY_STRING: x=1\n"));
    assert!(response.text().contains("REQUEST_METHOD: GET\n"));
}

#[test]
fn middleware_example_mounts_an_application_under_a_prefix() {
    let app = middleware_example::app();
    let response = TestRequest::get("/app/users/7").call(&app).unwrap();
    assert_eq!(response.text(), "SCRIPT_NAME=/app PATH_INFO=/users/7\n");
    assert_eq!(response.header("X-Mounted-At"), Some("/app"));
    let outside = TestRequest::get("/application").call(&app).unwrap();
    assert_eq!(outside.status_code(), 404);
}
