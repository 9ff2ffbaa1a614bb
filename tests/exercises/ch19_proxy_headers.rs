//! The exercises of chapter 19: Behind a proxy.

use waitress::apps::proxy_headers::ProxyHeaders;
use waitress::config::Adjustments;
use waitress::gateway::testing::TestRequest;
use waitress::gateway::{AppResult, Body, Environ, StartResponse, headers};
use waitress::logging::{Level, Logger};

// ---------------------------------------------------------------------------
// Chapter 19: Behind a proxy
// ---------------------------------------------------------------------------

fn environ_text(environ: &mut Environ, start_response: &mut dyn StartResponse) -> AppResult {
    let text: String = environ.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    start_response.start_response("200 OK", headers(&[]), None)?;
    Ok(Body::from(text))
}

fn behind_proxy(settings: &[(&str, &str)], request: TestRequest) -> (u16, String) {
    let mut builder = Adjustments::builder();
    for (key, value) in settings {
        builder = builder.set(key, value).expect("a known setting");
    }
    let adjustments = builder.build().unwrap();
    let (logger, _log) = Logger::memory(Level::Debug);
    let app = ProxyHeaders::from_adjustments(environ_text, &adjustments, logger);
    let response = request.call(&app).unwrap();
    (response.status_code(), response.text())
}

#[test]
#[ignore = "exercise: chapter 19"]
fn ch19_a_port_is_a_number() {
    let settings = [
        ("trusted_proxy", "127.0.0.1"),
        ("trusted_proxy_headers", "x-forwarded-port x-forwarded-host"),
    ];
    for (name, value) in [
        ("X-Forwarded-Port", "abc"),
        ("X-Forwarded-Port", "0"),
        ("X-Forwarded-Port", "65536"),
        ("X-Forwarded-Host", "example.com:http"),
    ] {
        let request = TestRequest::get("/")
            .remote("127.0.0.1", "40000")
            .header(name, value);
        let (status, text) = behind_proxy(&settings, request);
        assert_eq!(status, 400, "{name}: {value} gave {text}");
    }
    let request = TestRequest::get("/")
        .remote("127.0.0.1", "40000")
        .header("X-Forwarded-Port", "8443");
    let (status, text) = behind_proxy(&settings, request);
    assert_eq!(status, 200);
    assert!(text.contains("SERVER_PORT=8443\n"), "{text}");
}

#[test]
#[ignore = "exercise: chapter 19"]
fn ch19_x_real_ip_is_trusted_from_the_proxy() {
    let settings = [
        ("trusted_proxy", "127.0.0.1"),
        ("trusted_proxy_headers", "x-real-ip"),
    ];
    let request = TestRequest::get("/")
        .remote("127.0.0.1", "40000")
        .header("X-Real-IP", "192.0.2.7");
    let (status, text) = behind_proxy(&settings, request);
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("REMOTE_ADDR=192.0.2.7\n"), "{text}");
}

#[test]
#[ignore = "exercise: chapter 19"]
fn ch19_x_real_ip_is_cleared_from_anyone_else() {
    let settings = [
        ("trusted_proxy", "127.0.0.1"),
        ("trusted_proxy_headers", "x-forwarded-for"),
    ];
    let request = TestRequest::get("/")
        .remote("198.51.100.1", "40000")
        .header("X-Real-IP", "192.0.2.7");
    let (status, text) = behind_proxy(&settings, request);
    assert_eq!(status, 200);
    assert!(!text.contains("HTTP_X_REAL_IP"), "{text}");
    assert!(text.contains("REMOTE_ADDR=198.51.100.1\n"), "{text}");
}
