//! `waitress-serve --config` with PasteDeploy ini files, run as a user runs
//! it: `FILE#NAME` chooses `[server:NAME]`, `[DEFAULT]` and `%(name)s`
//! fill values in, and a file that is wrong (no such section, a bad value
//! even under a flag) exits with status 2 naming the file and line.

mod support;

use std::process::{Command, Output};

use support::child::BINARY;
use support::{TIMEOUT, TempDir, WaitressServe, run_with_timeout};

fn run(args: &[&str]) -> Output {
    run_with_timeout(Command::new(BINARY).args(args), TIMEOUT)
}

/// Runs the binary, which must exit at once with status 2; its one line.
fn usage_error(args: &[&str]) -> String {
    let output = run(args);
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(output.stdout.is_empty(), "it must not serve");
    stderr
}

const CONFIG: &str = "\
[DEFAULT]
debug = true
host = 127.0.0.1

[app:main]
use = egg:myapp

[server:main]
use = egg:waitress#main
listen = %(host)s:1

[server:other]
use = egg:waitress#main
listen = %(host)s:0
ident = other-%(debug)s
";

#[test]
fn config_hash_name_serves_that_server_section() {
    let dir = TempDir::new("ini-other");
    let ini = dir.join("production.ini");
    std::fs::write(&ini, CONFIG).unwrap();
    let server = WaitressServe::spawn({
        let mut command = Command::new(BINARY);
        command.arg(format!("--config={}#other", ini.display()));
        command.arg("hello");
        command
    });
    // [server:other] listens on 127.0.0.1:0, not [server:main]'s port 1.
    assert!(server.address.ip().is_loopback());
    assert_ne!(server.address.port(), 1);
    let response = server.request("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(
        response.contains("\r\nServer: other-true\r\n"),
        "{response}"
    );
    let (status, stderr) = server.stop_with("TERM");
    assert_eq!(status.code(), Some(0), "{stderr}");
}

#[test]
fn a_config_without_the_section_exits_2_naming_the_file_and_its_sections() {
    let dir = TempDir::new("ini-missing");
    let ini = dir.join("app.ini");
    std::fs::write(&ini, "[DEFAULT]\nx = 1\n[app:main]\nuse = egg:myapp\n").unwrap();
    let stderr = usage_error(&[&format!("--config={}", ini.display()), "hello"]);
    assert!(
        stderr.starts_with(&format!(
            "waitress-serve: {}: no [server:main] section (the file has [DEFAULT], [app:main])",
            ini.display()
        )),
        "{stderr}"
    );
    let stderr = usage_error(&[&format!("--config={}#web", ini.display()), "hello"]);
    assert!(stderr.contains("no [server:web] section"), "{stderr}");
}

#[test]
fn a_bad_value_overridden_by_a_flag_still_exits_2_with_file_and_line() {
    let dir = TempDir::new("ini-bad-value");
    let ini = dir.join("server.ini");
    std::fs::write(
        &ini,
        "[server:main]\nlisten = 127.0.0.1:0\nthreads = lots\n",
    )
    .unwrap();
    let stderr = usage_error(&[
        &format!("--config={}", ini.display()),
        "--threads=2",
        "hello",
    ]);
    assert!(
        stderr.starts_with(&format!(
            "waitress-serve: {}:3: invalid value for threads: \"lots\"",
            ini.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("the command line replaces --threads, but the file is wrong"),
        "{stderr}"
    );
}

#[test]
fn unsupported_constructs_exit_2_with_file_and_line() {
    let dir = TempDir::new("ini-unsupported");
    let ini = dir.join("server.ini");
    for (text, line, expected) in [
        (
            "[server:main]\nuse = egg:gunicorn#main\n",
            2,
            "only egg:waitress#main",
        ),
        (
            "[server:main]\n\nident = %(x)r\n",
            3,
            "only %(name)s and %% can follow a %",
        ),
        ("[server:main]\nident = %(missing)s\n", 2, "no \"missing\""),
    ] {
        std::fs::write(&ini, text).unwrap();
        let stderr = usage_error(&[&format!("--config={}", ini.display()), "hello"]);
        let at = format!("waitress-serve: {}:{line}: ", ini.display());
        assert!(stderr.starts_with(&at), "{text:?}: {stderr}");
        assert!(stderr.contains(expected), "{text:?}: {stderr}");
    }
}
