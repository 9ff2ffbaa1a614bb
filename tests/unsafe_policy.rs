//! `unsafe` lives in one module, `src/io/sys/` (one file per concern), and
//! every `unsafe` block there says why it is sound in a `// SAFETY:` comment;
//! every other source file forbids it.

mod support;

use std::fs;
use std::path::Path;

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
