//! Listings are short enough to read: an included region is at most
//! [`LONGEST_LISTING`] lines. Longer code is shown by a narrower anchor (an
//! excerpt), and the chapter links the whole file.
//!
//! `cargo test --test book longest_listings -- --nocapture` prints the ten
//! longest, so the figure stays visible as the book grows.

use std::fs;
use std::path::Path;

use super::{includes, markdown_files};

/// The most lines a listing may have (ANCHOR lines do not count).
pub const LONGEST_LISTING: usize = 40;

/// The lines mdBook shows for `{{#include FILE:ANCHOR}}`: those between the
/// anchor's markers, without any line that marks an anchor (mdBook drops
/// those). `None` when the anchor is absent (another test reports it).
pub fn anchored_lines(source: &str, anchor: &str) -> Option<usize> {
    let named = |line: &str, keyword: &str| {
        line.split_once(keyword)
            .is_some_and(|(_, name)| name.trim() == anchor)
    };
    let mut inside = false;
    let mut seen = false;
    let mut count = 0;
    for line in source.lines() {
        if named(line, "ANCHOR_END:") {
            inside = false;
        } else if named(line, "ANCHOR:") {
            inside = true;
            seen = true;
        } else if inside && !line.contains("ANCHOR:") && !line.contains("ANCHOR_END:") {
            count += 1;
        }
    }
    seen.then_some(count)
}

/// Every listing of the book: (lines, chapter, included file, anchor).
fn listings() -> Vec<(usize, String, String, String)> {
    let book = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src");
    let mut found = Vec::new();
    for chapter_path in markdown_files(&book) {
        let chapter = fs::read_to_string(&chapter_path).unwrap();
        let name = chapter_path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        for (path, selector) in includes(&chapter) {
            let Ok(source) = fs::read_to_string(chapter_path.parent().unwrap().join(&path)) else {
                continue; // a missing file is another test's failure
            };
            let (lines, anchor) = match &selector {
                // A whole file, or a line range (which the book avoids).
                None => (source.lines().count(), String::from("(whole file)")),
                Some(anchor) => match anchored_lines(&source, anchor) {
                    Some(lines) => (lines, anchor.clone()),
                    None => continue,
                },
            };
            found.push((lines, name.clone(), path, anchor));
        }
    }
    found.sort_by_key(|listing| std::cmp::Reverse(listing.0));
    found
}

#[test]
fn every_listing_is_at_most_40_lines() {
    let listings = listings();
    assert!(listings.len() > 100, "the book has its listings");
    let long: Vec<String> = listings
        .iter()
        .filter(|(lines, _, path, _)| *lines > LONGEST_LISTING && !path.ends_with(".patch"))
        .map(|(lines, chapter, path, anchor)| {
            format!("{lines:4} lines: {chapter}: {path}:{anchor}")
        })
        .collect();
    assert!(
        long.is_empty(),
        "{} listings are longer than {LONGEST_LISTING} lines (show an excerpt by a \
         narrower anchor and link the file):\n{}",
        long.len(),
        long.join("\n")
    );
}

#[test]
fn longest_listings() {
    println!("The longest listings of the book (solution patches aside):");
    for (lines, chapter, path, anchor) in listings()
        .iter()
        .filter(|(_, _, path, _)| !path.ends_with(".patch"))
        .take(10)
    {
        println!("{lines:4} lines  {chapter}: {path}:{anchor}");
    }
}

#[test]
fn anchored_lines_counts_what_mdbook_shows() {
    let source = "a\n// ANCHOR: outer\nb\n// ANCHOR: inner\nc\n// ANCHOR_END: inner\nd\n// ANCHOR_END: outer\ne\n";
    assert_eq!(anchored_lines(source, "outer"), Some(3));
    assert_eq!(anchored_lines(source, "inner"), Some(1));
    assert_eq!(anchored_lines(source, "missing"), None);
}

/// Every anchor marked in the code is one the book includes: an anchor no
/// chapter shows is a listing that was dropped, and its markers are noise.
#[test]
fn every_anchor_in_the_code_is_shown_by_the_book() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let book = root.join("book/src");
    let mut shown = Vec::new();
    for chapter_path in markdown_files(&book) {
        let chapter = fs::read_to_string(&chapter_path).unwrap();
        for (path, selector) in includes(&chapter) {
            if let Ok(file) = book.join(&path).canonicalize() {
                shown.push((file, selector.unwrap_or_default()));
            }
        }
    }
    let mut unshown = Vec::new();
    for folder in ["src", "examples", "tests"] {
        for file in super::support::rust_files(&root.join(folder)) {
            if file.starts_with(root.join("tests/book")) {
                continue; // the checks' own test strings
            }
            let source = fs::read_to_string(&file).unwrap();
            let file = file.canonicalize().unwrap();
            for line in source.lines() {
                let Some((_, name)) = line.split_once("ANCHOR: ") else {
                    continue;
                };
                let name = name.trim();
                if !shown.iter().any(|(f, a)| *f == file && a == name) {
                    unshown.push(format!("{}: {name}", file.display()));
                }
            }
        }
    }
    assert!(
        unshown.is_empty(),
        "anchors no chapter includes (remove their markers):\n{}",
        unshown.join("\n")
    );
}
