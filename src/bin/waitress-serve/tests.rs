//! The command line's rules: flags, `--config`, `--help`, the app choice
//! (`cargo test --bin waitress-serve`). How the settings' flags themselves
//! are read is tested with the library, in `src/config/tests/flags.rs`.
#![forbid(unsafe_code)]

use std::path::PathBuf;

use waitress::apps::access_log::LogFormat;
use waitress::config::OPTIONS;
use waitress::logging::Level;

use crate::cli::{AccessLogTarget, AppChoice, Command, CommandLine, parse_args};
use crate::help::help_text;

fn parse(args: &[&str]) -> Result<Command, String> {
    parse_args(args.iter().map(|s| s.to_string())).map_err(|e| e.to_string())
}

fn serve(args: &[&str]) -> CommandLine {
    match parse(args) {
        Ok(Command::Serve(cmdline)) => cmdline,
        other => panic!("expected Serve, got {other:?}"),
    }
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn help_and_version_win() {
    assert_eq!(parse(&["--threads=2", "--help"]), Ok(Command::Help));
    assert_eq!(parse(&["-h"]), Ok(Command::Help));
    assert_eq!(parse(&["--version"]), Ok(Command::Version));
    assert_eq!(parse(&["-V"]), Ok(Command::Version));
}

#[test]
fn value_flags_take_equals_or_the_next_argument() {
    let cmdline = serve(&[
        "--threads=8",
        "--url-prefix",
        "/app",
        "--server-name=example.com",
    ]);
    assert_eq!(
        cmdline.settings,
        pairs(&[
            ("threads", "8"),
            ("url_prefix", "/app"),
            ("server_name", "example.com")
        ])
    );
}

#[test]
fn boolean_flags_have_yes_and_no_forms() {
    let cmdline = serve(&[
        "--no-ipv6",
        "--expose-tracebacks",
        "--no-clear-untrusted-proxy-headers",
    ]);
    assert_eq!(
        cmdline.settings,
        pairs(&[
            ("ipv6", "false"),
            ("expose_tracebacks", "true"),
            ("clear_untrusted_proxy_headers", "false")
        ])
    );
}

#[test]
fn boolean_flags_take_no_value() {
    assert_eq!(
        parse(&["--ipv6=yes"]),
        Err("--ipv6 takes no value: use --ipv6 or --no-ipv6".to_string())
    );
}

#[test]
fn no_prefix_only_applies_to_booleans() {
    assert_eq!(
        parse(&["--no-threads"]),
        Err("unknown option --no-threads".to_string())
    );
}

#[test]
fn repeated_listen_flags_accumulate() {
    let cmdline = serve(&[
        "--listen=127.0.0.1:8080",
        "--threads=8",
        "--listen=127.0.0.1:8081",
    ]);
    let adj = cmdline.adjustments().unwrap();
    let ports: Vec<u16> = adj.listen.iter().map(|a| a.port()).collect();
    assert_eq!(ports, [8080, 8081]);
}

#[test]
fn unknown_flags_and_missing_values_are_usage_errors() {
    assert_eq!(
        parse(&["--thread=4"]),
        Err("unknown option --thread".to_string())
    );
    assert_eq!(
        parse(&["--threads"]),
        Err("--threads needs a value".to_string())
    );
    assert_eq!(parse(&["-x"]), Err("unknown option -x".to_string()));
}

#[test]
fn one_application_at_most() {
    assert_eq!(serve(&["echo"]).app.as_deref(), Some("echo"));
    assert_eq!(serve(&["--app=echo"]).app.as_deref(), Some("echo"));
    assert_eq!(serve(&[]).app, None);
    assert_eq!(
        parse(&["echo", "hello"]),
        Err("provide only one application".to_string())
    );
    assert_eq!(
        parse(&["--app=echo", "hello"]),
        Err("provide only one application".to_string())
    );
    assert_eq!(
        serve(&["--", "--odd-name"]).app.as_deref(),
        Some("--odd-name")
    );
}

#[test]
fn logging_flags() {
    let cmdline = serve(&["--log-level=debug", "--access-log", "hello"]);
    assert_eq!(cmdline.log_level, Some(Level::Debug));
    assert_eq!(cmdline.access_log, Some(AccessLogTarget::Stderr));
    assert_eq!(cmdline.app.as_deref(), Some("hello"));
    assert!(cmdline.settings.is_empty());
    let cmdline = serve(&[
        "--access-log=/var/log/a.log",
        "--access-log-format",
        "timed",
    ]);
    assert_eq!(
        cmdline.access_log,
        Some(AccessLogTarget::File("/var/log/a.log".into()))
    );
    assert_eq!(cmdline.access_log_format, Some(LogFormat::Timed));
    assert_eq!(
        parse(&["--log-level=loud"]),
        Err("--log-level=loud: expected one of error, warn, info, debug".to_string())
    );
    assert!(parse(&["--access-log-format=json"]).is_err());
}

#[test]
fn applications_by_name_or_directory() {
    let dir = std::env::temp_dir();
    let dir_text = dir.to_str().unwrap();
    assert_eq!(AppChoice::parse(Some("hello")), Ok(AppChoice::Hello));
    assert_eq!(
        AppChoice::parse(Some(dir_text)),
        Ok(AppChoice::Static(dir.clone()))
    );
    assert!(AppChoice::parse(Some("static:")).is_err());
    let error = AppChoice::parse(Some("nosuchapp")).unwrap_err();
    assert!(
        error.starts_with("unknown application \"nosuchapp\""),
        "{error}"
    );
    assert!(!error.contains('\n'), "one line");
}

#[test]
fn bad_values_are_reported_with_the_key() {
    let error = serve(&["--threads=zero"]).adjustments().unwrap_err();
    assert_eq!(
        error,
        "invalid value for threads: \"zero\" (expected a whole number of at least 1)"
    );
}

fn config_file(name: &str, text: &str) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("waitress-runner-{}-{name}.ini", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn flags_override_the_config_file() {
    let path = config_file(
        "override",
        "[server:main]\nthreads = 3\nident = fromfile\nlisten = 127.0.0.1:7001\n",
    );
    let config = path.to_str().unwrap().to_string();
    let adj = serve(&["--config", &config, "--threads=5"])
        .adjustments()
        .unwrap();
    assert_eq!((adj.threads, adj.ident.as_deref()), (5, Some("fromfile")));
    assert_eq!(adj.listen[0].port(), 7001);
    // An address given by flags replaces the file's address entirely.
    let adj = serve(&["--config", &config, "--port=7002", "--host=127.0.0.1"])
        .adjustments()
        .unwrap();
    assert_eq!(adj.listen[0].port(), 7002);
    std::fs::remove_file(path).unwrap();
}

#[test]
fn config_file_errors_name_the_file() {
    let path = config_file("bad", "[server:main]\nthreads = none\n");
    let error = serve(&["--config", path.to_str().unwrap()])
        .adjustments()
        .unwrap_err();
    assert_eq!(
        error,
        format!(
            "{}:2: invalid value for threads: \"none\" (expected a whole number of at least 1)",
            path.display()
        )
    );
    std::fs::remove_file(&path).unwrap();
    let error = serve(&["--config", path.to_str().unwrap()])
        .adjustments()
        .unwrap_err();
    assert!(error.starts_with("cannot read "), "{error}");
}

#[test]
fn help_lists_every_option_with_its_default() {
    let help = help_text();
    for spec in OPTIONS {
        let name = spec.name.replace('_', "-");
        let line = help
            .lines()
            .map(str::trim_start)
            .find(|l| {
                l.starts_with(&format!("--{name}=")) || l.starts_with(&format!("--[no-]{name} "))
            })
            .unwrap_or_else(|| panic!("{name} missing"));
        let default = if spec.default.is_empty() {
            "none"
        } else {
            spec.default
        };
        assert!(line.ends_with(&format!("[{default}]")), "{line}");
    }
    assert!(
        help.lines().all(|l| l.len() < 80),
        "help lines fit 80 columns"
    );
}

#[test]
fn cache_control_flag_is_for_static_files_only() {
    let dir = std::env::temp_dir();
    let app = format!("static:{}", dir.display());
    let cmdline = serve(&["--cache-control=no-cache", &app]);
    assert_eq!(cmdline.cache_control.as_deref(), Some("no-cache"));
    assert!(crate::prepare(&cmdline).is_ok());
    let cmdline = serve(&["--cache-control", "max-age=60, public", &app]);
    assert_eq!(cmdline.cache_control.as_deref(), Some("max-age=60, public"));
    assert_eq!(
        parse(&["--cache-control"]),
        Err("--cache-control needs a value".to_string())
    );
    let error = crate::prepare(&serve(&["--cache-control=no-cache", "hello"])).err();
    assert_eq!(
        error.as_deref(),
        Some("--cache-control applies to static:DIR only")
    );
    let error = crate::prepare(&serve(&["--cache-control=a\nb", &app])).err();
    assert!(
        error
            .as_deref()
            .unwrap_or("")
            .starts_with("--cache-control: "),
        "{error:?}"
    );
}

#[test]
fn config_hash_name_chooses_the_server_section() {
    let cmdline = serve(&["--config=/etc/app.ini#web", "hello"]);
    assert_eq!(cmdline.config, Some(PathBuf::from("/etc/app.ini")));
    assert_eq!(cmdline.config_section.as_deref(), Some("web"));
    let cmdline = serve(&["--config", "/etc/app.ini"]);
    assert_eq!(cmdline.config_section, None);
    assert_eq!(
        parse(&["--config=/etc/app.ini#"]),
        Err("--config=/etc/app.ini#: a section name after #".to_string())
    );
    let path = config_file(
        "sections",
        "[server:main]\nthreads = 3\n[server:web]\nthreads = 7\n",
    );
    let config = format!("--config={}#web", path.display());
    assert_eq!(serve(&[&config]).adjustments().unwrap().threads, 7);
    let config = format!("--config={}#api", path.display());
    let error = serve(&[&config]).adjustments().unwrap_err();
    assert_eq!(
        error,
        format!(
            "{}: no [server:api] section (the file has [server:main], [server:web])",
            path.display()
        )
    );
    std::fs::remove_file(path).unwrap();
}

#[test]
fn a_bad_value_in_the_file_is_an_error_even_under_a_flag() {
    let path = config_file(
        "overridden",
        "[server:main]\n# threads\nthreads = none\nport = 99999\n",
    );
    let config = format!("--config={}", path.display());
    let error = serve(&[&config, "--threads=2"]).adjustments().unwrap_err();
    assert_eq!(
        error,
        format!(
            "{}:3: invalid value for threads: \"none\" (expected a whole number of at least 1) \
             (the command line replaces --threads, but the file is wrong all the same)",
            path.display()
        )
    );
    // Without the flag, the same line, without the note.
    let error = serve(&[&config]).adjustments().unwrap_err();
    assert!(
        error.starts_with(&format!("{}:3: invalid value for threads", path.display())),
        "{error}"
    );
    assert!(!error.contains("command line"), "{error}");
    std::fs::write(&path, "[server:main]\nport = 99999\n").unwrap();
    // An address from flags replaces the file's: its bad port still counts.
    let error = serve(&[&config, "--listen=127.0.0.1:0"])
        .adjustments()
        .unwrap_err();
    assert!(
        error.starts_with(&format!("{}:2: invalid value for port", path.display())),
        "{error}"
    );
    std::fs::remove_file(path).unwrap();
}
