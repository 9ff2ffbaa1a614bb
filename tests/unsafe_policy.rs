//! `unsafe` lives in one module, `src/io/sys/` (one file per concern), and
//! every `unsafe` block there says why it is sound in a `// SAFETY:` comment;
//! every other source file forbids it. Among the examples, only the course's
//! `poll(2)` declaration (`examples/course/stage5/poll.rs`) may use it.

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use support::rust_files;

/// Lines with the `unsafe` keyword outside comments.
fn unsafe_lines(source: &str) -> Vec<(usize, &str)> {
    source
        .lines()
        .enumerate()
        .filter(|(_, line)| {
            let code = line.split("//").next().unwrap_or("");
            code.split(|c: char| !c.is_alphanumeric() && c != '_')
                .any(|word| word == "unsafe")
                && !code.contains("unsafe_code")
        })
        .collect()
}

#[test]
fn only_the_sys_module_contains_unsafe() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for file in rust_files(&src) {
        let relative = file.strip_prefix(&src).unwrap();
        if relative.starts_with("io/sys") {
            continue; // the FFI: checked by the test below
        }
        if relative == Path::new("lib.rs") || relative == Path::new("io/mod.rs") {
            // The FFI's parents deny rather than forbid, so that it can
            // allow; everything else inside them forbids.
            let source = fs::read_to_string(&file).unwrap();
            assert!(
                unsafe_lines(&source).is_empty(),
                "{} uses unsafe",
                file.display()
            );
            assert!(
                source.contains("#![deny(unsafe_code)]"),
                "{}",
                file.display()
            );
            continue;
        }
        let source = fs::read_to_string(&file).unwrap();
        assert!(
            unsafe_lines(&source).is_empty(),
            "{} uses unsafe",
            file.display()
        );
        assert!(
            source.contains("#![forbid(unsafe_code)]"),
            "{} must forbid unsafe code",
            file.display()
        );
    }
}

#[test]
fn every_unsafe_block_in_sys_has_a_safety_comment() {
    let sys = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/io/sys");
    let files = rust_files(&sys);
    assert!(
        files.iter().any(|file| file.ends_with("mod.rs")),
        "{} has no mod.rs",
        sys.display()
    );
    for file in files {
        let source = fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = source.lines().collect();
        let unsafe_lines = unsafe_lines(&source);
        // The FFI is the files directly in `sys/`; its tests (`sys/tests/`)
        // call safe wrappers, like every other caller.
        assert!(
            file.parent() == Some(sys.as_path()) || unsafe_lines.is_empty(),
            "{}: unsafe belongs in the files of src/io/sys/ itself",
            file.display()
        );
        // A file with unsafe code says so at its top; one without forbids it.
        let attribute = if unsafe_lines.is_empty() {
            "#![forbid(unsafe_code)]"
        } else {
            "#![allow(unsafe_code)]"
        };
        assert!(
            source.contains(attribute),
            "{} must say {attribute}",
            file.display()
        );
        for (index, line) in unsafe_lines {
            if line.trim_start().starts_with("unsafe extern") || line.contains("unsafe fn") {
                continue; // declarations: their callers carry the SAFETY comments
            }
            let preceding = lines[index.saturating_sub(4)..index].join("\n");
            assert!(
                preceding.contains("// SAFETY:"),
                "{}:{}: unsafe without a SAFETY comment",
                file.display(),
                index + 1
            );
        }
    }
}

#[test]
fn the_checker_sees_unsafe_code_but_not_comments() {
    assert_eq!(unsafe_lines("let x = unsafe { f() };").len(), 1);
    assert!(unsafe_lines("// unsafe in a comment").is_empty());
    assert!(unsafe_lines("#![forbid(unsafe_code)]").is_empty());
}

/// The example files allowed `unsafe` (relative to `examples/`): stage 5
/// of the course declares and calls `poll(2)` itself, independent of the
/// crate, and the parser benchmark counts allocations with a global
/// allocator. Every other example, and every other course file, forbids it.
const EXAMPLES_UNSAFE: [&str; 2] = ["course/stage5/poll.rs", "parse_bench.rs"];

/// `source` with the inside of one-line string literals blanked, so that a
/// string such as `'unsafe-inline'` is not taken for the keyword.
fn blank_strings(source: &str) -> String {
    let mut blanked = String::with_capacity(source.len());
    let (mut inside, mut escaped) = (false, false);
    for c in source.chars() {
        let quote = c == '"' && !escaped;
        escaped = inside && c == '\\' && !escaped;
        if c == '\n' {
            inside = false;
        } else if quote {
            inside = !inside;
        }
        blanked.push(if inside && !quote { ' ' } else { c });
    }
    blanked
}

/// What breaks the examples' rule, given `(path under examples/, source)`
/// pairs: `unsafe` outside [`EXAMPLES_UNSAFE`], or an `unsafe` block there
/// without a `// SAFETY:` comment in the four lines before it.
fn examples_unsafe_violations(sources: &[(PathBuf, String)]) -> Vec<String> {
    let mut violations = Vec::new();
    for (path, source) in sources {
        let code = blank_strings(source);
        let lines: Vec<&str> = code.lines().collect();
        for (index, line) in unsafe_lines(&code) {
            let place = format!("examples/{}:{}", path.display(), index + 1);
            let declaration =
                line.trim_start().starts_with("unsafe extern") || line.contains("unsafe fn");
            if !EXAMPLES_UNSAFE
                .iter()
                .any(|allowed| path == Path::new(allowed))
            {
                violations.push(format!("{place}: unsafe outside {EXAMPLES_UNSAFE:?}"));
            } else if !declaration
                && !lines[index.saturating_sub(4)..index]
                    .join("\n")
                    .contains("// SAFETY:")
            {
                violations.push(format!("{place}: unsafe without a SAFETY comment"));
            }
        }
    }
    violations
}

#[test]
fn among_the_examples_only_the_course_poll_ffi_and_the_bench_allocator_use_unsafe() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let sources: Vec<(PathBuf, String)> = rust_files(&examples)
        .into_iter()
        .map(|file| {
            let source = fs::read_to_string(&file).unwrap();
            (file.strip_prefix(&examples).unwrap().to_path_buf(), source)
        })
        .collect();
    assert_eq!(examples_unsafe_violations(&sources), Vec::<String>::new());
    // The rule is not vacuous: the course's FFI is there, and uses unsafe.
    let ffi = sources
        .iter()
        .find(|(path, _)| path == Path::new(EXAMPLES_UNSAFE[0]));
    assert!(ffi.is_some_and(|(_, source)| !unsafe_lines(source).is_empty()));
}

#[test]
fn the_examples_rule_refuses_unsafe_elsewhere_and_without_safety_comments() {
    let commented = "// SAFETY: the reason\nlet ready = unsafe { poll(fds, n, -1) };";
    let bare = "let ready = unsafe { poll(fds, n, -1) };";
    let sources = |path: &str, source: &str| vec![(PathBuf::from(path), source.to_string())];
    let ffi = EXAMPLES_UNSAFE[0];
    assert!(examples_unsafe_violations(&sources(ffi, commented)).is_empty());
    assert_eq!(examples_unsafe_violations(&sources(ffi, bare)).len(), 1);
    let elsewhere = sources("course/stage6/gateway.rs", commented);
    assert_eq!(examples_unsafe_violations(&elsewhere).len(), 1);
    // A string is not code.
    let string = sources(
        "device_ui/pages.rs",
        r#"let csp = "style-src 'unsafe-inline'";"#,
    );
    assert!(examples_unsafe_violations(&string).is_empty());
}
