//! The book and the code never drift: every `{{#include}}` in the book must
//! name a file that exists and, when it names an anchor, an anchor that the
//! file marks with `ANCHOR:` / `ANCHOR_END:`.

use std::fs;
use std::path::{Path, PathBuf};

fn markdown_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).expect("book/src exists") {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(markdown_files(&path));
        } else if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    files
}

/// Every `{{#include PATH}}` or `{{#include PATH:ANCHOR}}` (also
/// `rustdoc_include`) in a chapter: (path, anchor or line range).
fn includes(chapter: &str) -> Vec<(String, Option<String>)> {
    let mut found = Vec::new();
    let mut rest = chapter;
    while let Some(start) = rest.find("{{#") {
        let after = &rest[start + 3..];
        let end = after.find("}}").expect("an include is closed with }}");
        let directive = after[..end].trim();
        if let Some(argument) = directive
            .strip_prefix("include ")
            .or_else(|| directive.strip_prefix("rustdoc_include "))
        {
            let argument = argument.trim();
            match argument.split_once(':') {
                Some((path, selector)) => {
                    found.push((path.to_string(), Some(selector.to_string())))
                }
                None => found.push((argument.to_string(), None)),
            }
        }
        rest = &after[end..];
    }
    found
}

fn has_anchor(source: &str, anchor: &str) -> bool {
    let marks = |keyword: &str| {
        source.lines().any(|line| {
            line.split_once(keyword)
                .is_some_and(|(_, name)| name.trim() == anchor)
        })
    };
    marks("ANCHOR:") && marks("ANCHOR_END:")
}

#[test]
fn every_book_include_names_an_existing_file_and_anchor() {
    let book = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src");
    let mut checked = 0;
    let mut problems = Vec::new();
    for chapter_path in markdown_files(&book) {
        let chapter = fs::read_to_string(&chapter_path).unwrap();
        for (target, selector) in includes(&chapter) {
            checked += 1;
            let file = chapter_path.parent().unwrap().join(&target);
            let Ok(source) = fs::read_to_string(&file) else {
                problems.push(format!("{}: no file {target}", chapter_path.display()));
                continue;
            };
            if let Some(anchor) = selector {
                let is_line_range = anchor.chars().all(|c| c.is_ascii_digit() || c == ':');
                if !is_line_range && !has_anchor(&source, &anchor) {
                    problems.push(format!(
                        "{}: {target} has no anchor {anchor}",
                        chapter_path.display()
                    ));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "broken includes:\n{}",
        problems.join("\n")
    );
    assert!(checked > 0, "the book includes code from src/");
}

#[test]
fn the_include_checker_notices_a_missing_anchor() {
    let source = "// ANCHOR: present\nfn f() {}\n// ANCHOR_END: present\n";
    assert!(has_anchor(source, "present"));
    assert!(!has_anchor(source, "absent"));
    assert!(!has_anchor("// ANCHOR: half\n", "half"));
    let found = includes("x {{#include ../../src/wsgi.rs:body}} y {{#include ../a.rs}}");
    assert_eq!(
        found,
        vec![
            ("../../src/wsgi.rs".to_string(), Some("body".to_string())),
            ("../a.rs".to_string(), None)
        ]
    );
}
