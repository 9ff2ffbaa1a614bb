//! `waitress-serve --help`: every option of the table in
//! [`crate::config::OPTIONS`], with its default and help, wrapped to fit.
#![forbid(unsafe_code)]

use std::fmt::Write as _;

use crate::config::{Kind, OPTIONS};

/// `waitress-serve --help`: every option with its default.
pub fn help_text() -> String {
    let mut text = String::from(
        "Usage:\n    waitress-serve [OPTIONS] [APP]\n\n\
         Serves an application over HTTP/1.1. APP is one of:\n\
        \x20   hello        Hello, world! (and 1 MiB at /big)\n\
        \x20   echo         the request body back; the environ at /environ\n\
        \x20   static:DIR   the files under DIR (a directory path alone works too)\n\n\
         Standard options:\n",
    );
    let standard = [
        ("--help", "Show this information."),
        ("--version", "Print the version."),
        (
            "--config=FILE",
            "Read settings from the [server:main] section of an ini file. Flags override it; an address given by flags replaces the file's.",
        ),
        (
            "--app=APP",
            "The application to serve (or give it as the one argument): hello, echo, static:DIR, or a directory (served as static:DIR).",
        ),
        (
            "--log-level=LEVEL",
            "error, warn, info or debug: the most detailed server log lines written to stderr. [info]",
        ),
        (
            "--access-log[=FILE]",
            "Write an access log line per request: to stderr, or appended to FILE. [off]",
        ),
        (
            "--access-log-format=FORMAT",
            "common (Apache CLF), combined (CLF + referer and user agent) or timed (combined + duration in microseconds). [combined]",
        ),
    ];
    for (flag, help) in standard {
        let _ = writeln!(text, "    {flag}");
        wrap_into(&mut text, help);
    }
    text.push_str("\nSettings (defaults in brackets):\n");
    for spec in OPTIONS {
        let name = spec.name.replace('_', "-");
        let flag = match spec.kind {
            Kind::Boolean => format!("--[no-]{name}"),
            Kind::Number => format!("--{name}=INT"),
            Kind::Octal => format!("--{name}=OCTAL"),
            Kind::List => format!("--{name}=LIST"),
            Kind::Text => format!("--{name}=STR"),
        };
        let default = if spec.default.is_empty() {
            "none"
        } else {
            spec.default
        };
        let _ = writeln!(text, "    {flag}  [{default}]");
        wrap_into(&mut text, spec.help);
    }
    text
}

/// Appends `help` indented by 8 spaces, wrapped before 80 columns.
fn wrap_into(text: &mut String, help: &str) {
    let mut line = String::new();
    for word in help.split_whitespace() {
        if !line.is_empty() && 8 + line.len() + 1 + word.len() > 79 {
            let _ = writeln!(text, "        {line}");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        let _ = writeln!(text, "        {line}");
    }
}
