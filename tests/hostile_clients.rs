//! The hostile-clients benchmark (`examples/hostile_clients/`) takes
//! minutes at full size; here each scenario runs with tiny parameters, so
//! that the program keeps building, running and printing its `RESULT` line.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The example's binary, built once (same profile and target directory as
/// this test) and found next to this test's own binary.
fn example() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| support::build_examples(&["hostile_clients"]).join("hostile_clients"))
}

/// Runs one scenario and returns its `RESULT` line.
fn run(args: &[&str]) -> String {
    let output = Command::new(example()).args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{args:?}: {stdout}");
    let result = stdout.lines().find(|l| l.starts_with("RESULT scenario="));
    result
        .unwrap_or_else(|| panic!("{args:?}: no RESULT line in {stdout}"))
        .to_string()
}

#[test]
fn slowloris_runs_and_reports() {
    let result = run(&["slowloris", "--connections", "5", "--duration", "1"]);
    assert!(result.contains("scenario=slowloris"), "{result}");
    assert!(
        !result.contains(" ok=0 "),
        "the normal client was answered: {result}"
    );
}

#[test]
fn non_readers_runs_and_reports() {
    let result = run(&[
        "non-readers",
        "--connections",
        "2",
        "--duration",
        "1",
        "--wait-close",
        "0",
    ]);
    assert!(result.contains("scenario=non-readers"), "{result}");
    assert!(
        !result.contains(" ok=0 "),
        "the normal client was answered: {result}"
    );
}

#[test]
fn fd_exhaustion_runs_and_reports() {
    let result = run(&["fd-exhaustion", "--connections", "80", "--duration", "1"]);
    assert!(result.contains("scenario=fd-exhaustion"), "{result}");
    assert!(result.contains("recovered=true"), "{result}");
}
