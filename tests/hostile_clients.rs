//! The hostile-clients benchmark (`examples/hostile_clients/`) takes
//! minutes at full size; here each scenario runs with tiny parameters, so
//! that the program keeps building, running and printing its `RESULT` line.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The example's binary, built once (same profile and target directory as
/// this test) and found next to this test's own binary.
fn example() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().unwrap().parent().unwrap(); // target/<profile>
        let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        build
            .args(["build", "--quiet", "--example", "hostile_clients"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if profile_dir.ends_with("release") {
            build.arg("--release");
        }
        assert!(build.status().unwrap().success(), "the example builds");
        profile_dir.join("examples/hostile_clients")
    })
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
