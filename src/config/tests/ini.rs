//! The ini reader, PasteDeploy's subset (`cargo test config::tests::ini`):
//! the chosen section, `[DEFAULT]`, `%(name)s`, `here` and `__file__`,
//! `use`, and errors that name the line.
#![forbid(unsafe_code)]

use std::path::Path;

use super::super::{Adjustments, ConfigError, check_setting, parse_ini};

const FILE: &str = "/srv/app/production.ini";

/// `(key, value, line)` of the `[server:NAME]` section.
fn read(text: &str, name: &str) -> Result<Vec<(String, String, usize)>, ConfigError> {
    let settings = parse_ini(text, Path::new(FILE), name)?;
    Ok(settings
        .into_iter()
        .map(|s| (s.key, s.value, s.line))
        .collect())
}

fn triple(key: &str, value: &str, line: usize) -> (String, String, usize) {
    (key.to_string(), value.to_string(), line)
}

/// The message of a syntax error at `line`, or a panic.
fn error_at(text: &str, line: usize) -> String {
    match read(text, "main") {
        Err(ConfigError::Syntax { line: at, message }) if at == line => message,
        other => panic!("expected an error on line {line}, got {other:?}"),
    }
}

#[test]
fn ini_reads_only_the_chosen_server_section() {
    let text = "# comment\n[app:main]\nthreads = 99\n\n[server:main]\nuse = egg:waitress#main\nhost = 127.0.0.1\n; another comment\nport: 6543\n[server:other]\nport = 1\n";
    assert_eq!(
        read(text, "main").unwrap(),
        [triple("host", "127.0.0.1", 7), triple("port", "6543", 9)]
    );
    assert_eq!(read(text, "other").unwrap(), [triple("port", "1", 11)]);
}

#[test]
fn ini_section_names_match_as_paste_deploy_does() {
    // `[server]` alone is the main server; spaces after the colon are fine.
    assert_eq!(
        read("[server]\nthreads = 2\n", "main").unwrap(),
        [triple("threads", "2", 2)]
    );
    assert_eq!(
        read("[server: web]\nthreads = 3\n", "web").unwrap(),
        [triple("threads", "3", 2)]
    );
    assert!(matches!(
        read("[server]\n[server:main]\n", "main"),
        Err(ConfigError::Conflict { .. })
    ));
}

#[test]
fn ini_without_the_section_names_the_sections_it_has() {
    let error = read("[app:main]\nuse = egg:x\n[composite:main]\n", "main").unwrap_err();
    assert_eq!(
        error,
        ConfigError::MissingSection {
            section: "server:main".to_string(),
            found: vec!["[app:main]".to_string(), "[composite:main]".to_string()]
        }
    );
    assert_eq!(
        error.to_string(),
        "no [server:main] section (the file has [app:main], [composite:main])"
    );
    assert_eq!(
        read("", "web").unwrap_err().to_string(),
        "no [server:web] section (the file has no sections)"
    );
}

#[test]
fn ini_interpolates_from_the_section_then_default() {
    let text = "[DEFAULT]\nport = 80\nhost = 127.0.0.1\n\n[server:main]\nbase = %(port)s\nlisten = %(host)s:%(BASE)s80\n";
    // `base` is not a setting, but a value to interpolate: an unknown key.
    assert_eq!(error_at(text, 6), "unknown adjustment \"base\"");
    let text = "[DEFAULT]\nport_base = 80\nhost = 127.0.0.1\n\n[server:main]\nlisten = %(host)s:%(port_base)s80 [::1]:%(Port_Base)s81\n";
    assert_eq!(
        read(text, "main").unwrap(),
        [triple("listen", "127.0.0.1:8080 [::1]:8081", 6)]
    );
    let text = "[DEFAULT]\nv = default\n[server:main]\nident = %(v)s\n[server:other]\nident = %(ident)s!\n";
    assert_eq!(read(text, "main").unwrap()[0].1, "default");
}

#[test]
fn ini_default_keys_are_not_settings() {
    // PasteDeploy gives [DEFAULT] to the server as global settings, which
    // Waitress ignores: `debug` here is no error, and no setting.
    let text =
        "[DEFAULT]\ndebug = true\nthreads = 9\n[server:main]\nget threads = threads\nport = 1\n";
    assert_eq!(
        read(text, "main").unwrap(),
        [triple("threads", "9", 5), triple("port", "1", 6)]
    );
    // A section key that is also in DEFAULT: PasteDeploy drops it silently.
    let message = error_at("[DEFAULT]\nport = 1\n[server:main]\nport = 2\n", 4);
    assert!(
        message.starts_with("port is also a key of [DEFAULT]"),
        "{message}"
    );
    let message = error_at("[server:main]\nget port = http_port\n", 2);
    assert_eq!(message, "get port: [DEFAULT] has no \"http_port\"");
}

#[test]
fn ini_here_and_file_are_the_files_folder_and_path() {
    let text = "[server:main]\nunix_socket = %(here)s/app.sock\nident = %(__file__)s\n";
    assert_eq!(
        read(text, "main").unwrap(),
        [
            triple("unix_socket", "/srv/app/app.sock", 2),
            triple("ident", FILE, 3)
        ]
    );
    // A relative path is made absolute, as PasteDeploy does.
    let settings = parse_ini(text, Path::new("server.ini"), "main").unwrap();
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(settings[0].value, format!("{}/app.sock", cwd.display()));
    assert_eq!(
        settings[1].value,
        cwd.join("server.ini").display().to_string()
    );
}

#[test]
fn ini_double_percent_is_a_percent() {
    let text = "[server:main]\nident = 100%% %%(not)s\n";
    assert_eq!(read(text, "main").unwrap()[0].1, "100% %(not)s");
}

#[test]
fn ini_interpolation_errors_name_the_line() {
    let message = error_at("[server:main]\nthreads = 4\nident = %(nope)s\n", 3);
    assert_eq!(
        message,
        "%(nope)s: no \"nope\" in [server:main] or [DEFAULT]"
    );
    let message = error_at("[server:main]\nident = %(ident)s\n", 2);
    assert_eq!(message, "interpolation loop: %(ident)s -> %(ident)s");
    // The loop is reported where it closes: a DEFAULT line.
    let text = "[DEFAULT]\na = %(b)s\nb = %(a)s\n[server:main]\nident = %(a)s\n";
    assert_eq!(
        error_at(text, 3),
        "interpolation loop: %(a)s -> %(b)s -> %(a)s"
    );
    for bad in ["%(x)r", "50%", "%x", "%(x"] {
        let text = format!("[DEFAULT]\nx = 1\n[server:main]\nident = {bad}\n");
        let message = error_at(&text, 4);
        assert!(
            message.contains("only %(name)s and %% can follow a %"),
            "{bad}: {message}"
        );
    }
}

#[test]
fn ini_use_must_name_waitress() {
    for fine in ["egg:waitress#main", "egg:waitress", "egg:Waitress#main"] {
        let text = format!("[server:main]\nuse = {fine}\nthreads = 2\n");
        assert_eq!(read(&text, "main").unwrap(), [triple("threads", "2", 3)]);
    }
    for other in ["egg:gunicorn#main", "config:other.ini#main", "call:x:y"] {
        let text = format!("[server:main]\nthreads = 2\nuse = {other}\n");
        let message = error_at(&text, 3);
        assert!(message.contains("only egg:waitress#main"), "{message}");
    }
    // `use` in other sections is theirs.
    assert!(read("[app:main]\nuse = egg:myapp\n[server:main]\n", "main").is_ok());
}

#[test]
fn ini_errors_name_the_line() {
    assert_eq!(
        error_at("[server:main]\nthreads 4\n", 2),
        "expected `key = value`"
    );
    assert_eq!(
        error_at("[server:main]\nthread = 4\n", 2),
        "unknown adjustment \"thread\""
    );
    error_at("[server:main\n", 1);
    error_at("threads = 4\n[server:main]\n", 1);
    error_at("\n[server:main]\nthreads = 4\nthreads = 5\n", 4);
    error_at("[server:main]\n[app:main]\n[server:main]\n", 3);
    error_at("[server:main]\nset threads = 4\n", 2);
    // A syntax error in another section is still an error, as configparser
    // reads the whole file.
    error_at("[app:main]\nnot a setting\n[server:main]\n", 2);
}

#[test]
fn ini_keys_are_lower_case_and_continuations_join() {
    let text =
        "[server:main]\nThreads = 2\nlisten =\n  127.0.0.1:7001\n\n  # comment\n  127.0.0.1:7002\n";
    assert_eq!(
        read(text, "main").unwrap(),
        [
            triple("threads", "2", 2),
            triple("listen", "127.0.0.1:7001\n127.0.0.1:7002", 3)
        ]
    );
}

#[test]
fn ini_multiline_listen_builds() {
    let settings = parse_ini(
        "[server:main]\nlisten =\n  127.0.0.1:7001\n  127.0.0.1:7002\n",
        Path::new(FILE),
        "main",
    )
    .unwrap();
    let mut builder = Adjustments::builder();
    for setting in &settings {
        builder = builder.set(&setting.key, &setting.value).unwrap();
    }
    assert_eq!(builder.build().unwrap().listen.len(), 2);
}

#[test]
fn check_setting_judges_one_value_without_the_others() {
    assert!(check_setting("threads", "8").is_ok());
    assert_eq!(
        check_setting("threads", "0").unwrap_err().to_string(),
        "invalid value for threads: \"0\" (expected a whole number of at least 1)"
    );
    // Rules between keys are for the whole configuration, not one value.
    assert!(check_setting("trusted_proxy_count", "2").is_ok());
    assert!(check_setting("trusted_proxy_headers", "x-forwarded-for").is_ok());
    assert!(check_setting("trusted_proxy_headers", "x-bogus").is_err());
    assert!(check_setting("ipv4", "false").is_ok());
    assert!(check_setting("ipv4", "maybe").is_err());
    assert!(check_setting("listen", "127.0.0.1:99999").is_err());
    assert!(check_setting("unknown", "1").is_err());
}
