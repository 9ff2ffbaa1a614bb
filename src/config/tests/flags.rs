//! The settings' flags: [`Flags`] reads them, [`AdjustmentsBuilder::args`]
//! applies them (`cargo test config::tests::flags`).
//!
//! [`AdjustmentsBuilder::args`]: crate::config::AdjustmentsBuilder::args
#![forbid(unsafe_code)]

use crate::config::{Adjustments, Arg, ConfigError, Flags, OPTIONS, help_text};

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|a| a.to_string()).collect()
}

/// Every argument `Flags` reads, or the first error as text.
fn read(list: &[&str]) -> Result<Vec<Arg>, String> {
    let mut flags = Flags::new(args(list));
    let mut found = Vec::new();
    while let Some(arg) = flags.next_arg().map_err(|e| e.to_string())? {
        found.push(arg);
    }
    Ok(found)
}

fn setting(key: &'static str, value: &str) -> Arg {
    Arg::Setting {
        key,
        value: value.to_string(),
    }
}

#[test]
fn settings_take_equals_or_the_next_argument() {
    assert_eq!(
        read(&["--threads=8", "--url-prefix", "/app", "--no-ipv6", "--ipv4"]),
        Ok(vec![
            setting("threads", "8"),
            setting("url_prefix", "/app"),
            setting("ipv6", "false"),
            setting("ipv4", "true"),
        ])
    );
    assert_eq!(read(&["--threads"]), Err("--threads needs a value".into()));
    assert_eq!(
        read(&["--ipv6=yes"]),
        Err("--ipv6 takes no value: use --ipv6 or --no-ipv6".into())
    );
}

#[test]
fn other_flags_and_arguments_are_left_to_the_program() {
    assert_eq!(
        read(&["-h", "--no-threads", "app", "-", "--", "--threads=2"]),
        Ok(vec![
            Arg::Flag("-h".into()),
            Arg::Flag("--no-threads".into()),
            Arg::Positional("app".into()),
            Arg::Positional("-".into()),
            Arg::Positional("--threads=2".into()),
        ])
    );
    // A `=value` the program did not take is a mistake, not silence.
    assert_eq!(
        read(&["--verbose=yes"]),
        Err("--verbose takes no value (got \"yes\")".into())
    );
    let mut flags = Flags::new(args(&["--name=x", "--out", "file"]));
    assert_eq!(flags.next_arg(), Ok(Some(Arg::Flag("--name".into()))));
    assert_eq!(flags.value(), Ok("x".to_string()));
    assert_eq!(flags.next_arg(), Ok(Some(Arg::Flag("--out".into()))));
    assert_eq!(flags.inline_value(), None, "never the next argument");
    assert_eq!(flags.value(), Ok("file".to_string()));
    assert_eq!(flags.next_arg(), Ok(None));
}

#[test]
fn args_replaces_the_address_set_in_code() {
    let built = |list: &[&str]| {
        Adjustments::builder()
            .host("127.0.0.1")
            .port(8080)
            .args(args(list))
            .unwrap()
            .build()
            .unwrap()
    };
    assert_eq!(
        built(&["--port=9000"]).listen[0].to_string(),
        "127.0.0.1:9000"
    );
    let adj = built(&["--listen=127.0.0.2:1", "--listen=127.0.0.3:2"]);
    let listen: Vec<String> = adj.listen.iter().map(|a| a.to_string()).collect();
    assert_eq!(listen, ["127.0.0.2:1", "127.0.0.3:2"]);
}

#[test]
fn help_lists_every_setting() {
    let help = help_text();
    for spec in OPTIONS {
        assert!(help.contains(&spec.flag()[2..]), "{}", spec.name);
    }
    assert!(help.lines().all(|l| l.len() < 80), "fits 80 columns");
}

#[test]
fn args_errors_are_config_errors_that_name_what_was_wrong() {
    let err = Adjustments::builder()
        .args(args(&["--thread=4"]))
        .unwrap_err();
    assert!(matches!(err, ConfigError::Usage { .. }), "{err:?}");
    assert!(err.to_string().contains("--thread"), "{err}");
    // Values are checked by `build`, with the same error type.
    let builder = Adjustments::builder()
        .args(args(&["--threads=many"]))
        .unwrap();
    let err = builder.build().unwrap_err();
    assert_eq!(
        err,
        ConfigError::InvalidValue {
            key: "threads".to_string(),
            value: "many".to_string(),
            expected: "expected a whole number of at least 1".to_string(),
        }
    );
    let err = Adjustments::builder().args(args(&["--help"])).unwrap_err();
    assert!(matches!(&err, ConfigError::Help { text } if text.contains("--threads")));
    let err = Adjustments::builder().args(args(&["hello"])).unwrap_err();
    assert_eq!(err.to_string(), "unexpected argument \"hello\"");
}
