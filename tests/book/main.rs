//! The book and the code never drift: every `{{#include}}` in the book must
//! name a file that exists and, when it names an anchor, an anchor that the
//! file marks with `ANCHOR:` / `ANCHOR_END:`; every `cargo test` command in
//! it runs a test; every relative link points somewhere.
//!
//! The checks are here; `self_tests` checks the checkers themselves.

#[path = "../support/mod.rs"]
mod support;

mod listings;
mod self_tests;
mod solutions;

use std::fs;
use std::path::{Path, PathBuf};

use support::rust_files;

fn markdown_files(dir: &Path) -> Vec<PathBuf> {
    support::files_with_extension(dir, "md")
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

// ---------------------------------------------------------------------------
// `cargo test FILTER` commands in the book match a test.
// ---------------------------------------------------------------------------

/// The tests a source file defines, by the name `cargo test -- --list`
/// shows: `prefix` (the module path of the file, `parser::` for
/// `src/http/parser.rs`, empty for `tests/*.rs`), then the enclosing `mod`s, then
/// the function. A test is a `fn` whose attributes include `#[test]` (which
/// is also how tests inside `proptest! { }` are written).
fn test_names(source: &str, prefix: &str) -> Vec<String> {
    let mut names = Vec::new();
    // Enclosing modules by indentation: (indent, name).
    let mut modules: Vec<(usize, String)> = Vec::new();
    let mut is_test = false;
    for line in source.lines() {
        let code = line.trim_start();
        let indent = line.len() - code.len();
        if code.is_empty() || code.starts_with("//") {
            continue;
        }
        if code == "}" || code.starts_with("} ") {
            continue;
        }
        modules.retain(|(level, _)| *level < indent);
        let item = code
            .strip_prefix("pub(crate) ")
            .or_else(|| code.strip_prefix("pub "))
            .unwrap_or(code);
        if let Some(rest) = item.strip_prefix("mod ") {
            if let Some(name) = rest.strip_suffix('{') {
                modules.push((indent, name.trim().to_string()));
            }
            is_test = false;
        } else if code.starts_with("#[test]") {
            is_test = true;
        } else if code.starts_with("#[") {
            // Other attributes (`#[ignore]`, `#[cfg(..)]`) keep the state.
        } else if let Some(rest) = item.strip_prefix("fn ") {
            if is_test {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let mut full = prefix.to_string();
                for (_, module) in &modules {
                    full.push_str(module);
                    full.push_str("::");
                }
                full.push_str(&name);
                names.push(full);
            }
            is_test = false;
        } else {
            is_test = false;
        }
    }
    names
}

/// The module path `cargo test --lib` gives the tests of a file in `src/`:
/// `src/http/parser.rs` → `http::parser::`, `src/lib.rs` → ``.
fn module_prefix(root: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(root.join("src")).unwrap();
    let mut parts: Vec<String> = relative
        .with_extension("")
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    if parts.first().is_some_and(|p| p == "bin") {
        parts.remove(0); // a binary's own tests: `tests::name`
        parts.remove(0);
    }
    if parts
        .last()
        .is_some_and(|p| p == "lib" || p == "main" || p == "mod")
    {
        parts.pop();
    }
    parts.iter().map(|p| format!("{p}::")).collect()
}

/// The binary a file of the crate belongs to: `src/bin/NAME.rs` or
/// `src/bin/NAME/…` → `NAME`; `None` for the library.
fn binary_name(relative: &Path) -> Option<String> {
    let mut parts = relative.strip_prefix("src/bin").ok()?.iter();
    let first = Path::new(parts.next()?);
    Some(first.file_stem()?.to_string_lossy().into_owned())
}

/// Which tests a `cargo test` command can run.
#[derive(Debug, Default)]
struct TestIndex {
    /// The library's unit tests (`src/` but `src/bin/`), by full path.
    unit: Vec<String>,
    /// `src/bin/NAME.rs` (or `src/bin/NAME/main.rs` and its modules) → its
    /// unit tests, by full path (`cargo test --bin NAME`).
    bins: Vec<(String, Vec<String>)>,
    /// `tests/NAME.rs` (or `tests/NAME/main.rs` and its modules) → its tests.
    integration: Vec<(String, Vec<String>)>,
    /// Files in `src/` (relative paths): doc tests are named after them.
    sources: Vec<String>,
}

impl TestIndex {
    fn of_crate(root: &Path) -> TestIndex {
        let mut index = TestIndex::default();
        for file in rust_files(&root.join("src")) {
            let source = fs::read_to_string(&file).unwrap();
            let names = test_names(&source, &module_prefix(root, &file));
            let relative = file.strip_prefix(root).unwrap();
            match binary_name(relative) {
                None => index.unit.extend(names),
                Some(bin) => match index.bins.iter_mut().find(|(name, _)| *name == bin) {
                    Some((_, tests)) => tests.extend(names),
                    None => index.bins.push((bin, names)),
                },
            }
            index.sources.push(relative.to_string_lossy().into_owned());
        }
        for file in fs::read_dir(root.join("tests")).unwrap() {
            let file = file.unwrap().path();
            let name = file.file_stem().unwrap().to_string_lossy().into_owned();
            if file.extension().is_some_and(|e| e == "rs") {
                let source = fs::read_to_string(&file).unwrap();
                index.integration.push((name, test_names(&source, "")));
            } else if file.join("main.rs").is_file() {
                // A test target in a folder: `main.rs` and its modules,
                // one file each (`tests/parser/limits.rs` → `limits::`).
                let mut names = Vec::new();
                for part in rust_files(&file) {
                    let stem = part.file_stem().unwrap().to_string_lossy().into_owned();
                    let prefix = if stem == "main" {
                        String::new()
                    } else {
                        format!("{stem}::")
                    };
                    names.extend(test_names(&fs::read_to_string(&part).unwrap(), &prefix));
                }
                index.integration.push((name, names));
            }
        }
        index
    }

    /// Why `command` (the words after `cargo test`) would run no test, if it would not.
    fn check(&self, command: &str) -> Result<(), String> {
        let words: Vec<&str> = command.split_whitespace().collect();
        let mut targets: Vec<String> = Vec::new();
        let mut bins: Vec<String> = Vec::new();
        let (mut lib, mut doc, mut exact, mut other_target) = (false, false, false, false);
        let mut filters = Vec::new();
        let mut after_dashes = false;
        let mut i = 0;
        while i < words.len() {
            let word = words[i];
            match word {
                "--" if !after_dashes => after_dashes = true,
                "--test" if !after_dashes => {
                    i += 1;
                    targets.push(words.get(i).ok_or("--test without a name")?.to_string());
                }
                "--lib" => lib = true,
                "--doc" => doc = true,
                "--exact" => exact = true,
                "--bin" if !after_dashes => {
                    i += 1;
                    bins.push(words.get(i).ok_or("--bin without a name")?.to_string());
                }
                "--example" | "--bench" | "-p" | "--package" | "--features" | "-j" => {
                    other_target |= matches!(word, "--example" | "--bench");
                    i += 1;
                }
                _ if word.starts_with('-') => {}
                _ => filters.push(word.to_string()),
            }
            i += 1;
        }
        if other_target {
            return Ok(()); // examples and benches: not indexed
        }
        let mut candidates: Vec<&str> = Vec::new();
        let everything = targets.is_empty() && bins.is_empty() && !lib && !doc;
        for bin in &bins {
            let Some((_, tests)) = self.bins.iter().find(|(name, _)| name == bin) else {
                return Err(format!("no binary {bin} in src/bin/"));
            };
            candidates.extend(tests.iter().map(String::as_str));
        }
        for target in &targets {
            let Some((_, tests)) = self.integration.iter().find(|(name, _)| name == target) else {
                return Err(format!("no tests/{target}.rs"));
            };
            candidates.extend(tests.iter().map(String::as_str));
        }
        if lib || everything {
            candidates.extend(self.unit.iter().map(String::as_str));
        }
        if everything {
            for (_, tests) in self.bins.iter().chain(&self.integration) {
                candidates.extend(tests.iter().map(String::as_str));
            }
        }
        if doc || everything {
            candidates.extend(self.sources.iter().map(String::as_str));
        }
        if candidates.is_empty() {
            return Err("selects no test at all".to_string());
        }
        for filter in &filters {
            let matches = |name: &&str| {
                if exact {
                    *name == filter
                } else {
                    name.contains(filter.as_str())
                }
            };
            if !candidates.iter().any(matches) {
                return Err(format!("the filter {filter:?} matches no test"));
            }
        }
        Ok(())
    }
}

/// Every `cargo test ...` command in a fenced code block, without a leading
/// `$ ` and without its trailing `# comment`, and every one in inline code.
fn cargo_test_commands(chapter: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut fenced = false;
    for line in chapter.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            // Inline code in prose: `cargo test --test server`, unless it
            // names a placeholder (`cargo test FILTER`, `--test task …`).
            for span in line.split('`').skip(1).step_by(2) {
                if let Some(rest) = span.strip_prefix("cargo test") {
                    let placeholder = ["FILTER", "NAME", "…", "..."]
                        .iter()
                        .any(|p| rest.contains(p));
                    if (rest.is_empty() || rest.starts_with(' ')) && !placeholder {
                        commands.push(rest.trim().to_string());
                    }
                }
            }
            continue;
        }
        let command = trimmed.strip_prefix("$ ").unwrap_or(trimmed);
        let command = command.split(" #").next().unwrap();
        let command = command.split(['|', ';', '&']).next().unwrap();
        if let Some(rest) = command.strip_prefix("cargo test") {
            if rest.is_empty() || rest.starts_with(' ') {
                commands.push(rest.trim().to_string());
            }
        }
    }
    commands
}

/// Every `cargo test FILTER` that the book shows in a code block runs at
/// least one test. The list of tests is built from the sources, not from
/// `cargo test -- --list` (which would build every test binary): a test is
/// a `fn` marked `#[test]` (proptest's included), named as `--list` names it
/// (`http::parser::tests::name` for a unit test in `src/http/parser.rs`, `name` in
/// `tests/NAME.rs`), and a filter matches when it is part of a name. Known
/// limits: doc tests are matched by their file's path only (`cargo test
/// --doc proxy_headers`), tests made by other macros are not seen, and a
/// `#[cfg]`'d test counts on every platform.
#[test]
fn every_cargo_test_command_in_the_book_runs_a_test() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let index = TestIndex::of_crate(root);
    assert!(
        index.unit.len() > 50 && index.integration.len() > 10,
        "{index:?}"
    );
    let mut checked = 0;
    let mut problems = Vec::new();
    for chapter_path in markdown_files(&root.join("book/src")) {
        let chapter = fs::read_to_string(&chapter_path).unwrap();
        for command in cargo_test_commands(&chapter) {
            checked += 1;
            if let Err(why) = index.check(&command) {
                problems.push(format!(
                    "{}: `cargo test {command}`: {why}",
                    chapter_path.display()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        checked > 30,
        "the book shows its tests ({checked} commands)"
    );
}

// ---------------------------------------------------------------------------
// Relative links point somewhere.
// ---------------------------------------------------------------------------

/// The id mdBook gives a heading: lower case, spaces to `-`, only
/// alphanumerics, `-` and `_` kept (markup such as backticks dropped).
fn heading_id(heading: &str) -> String {
    heading
        .chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                Some(c.to_lowercase().next().unwrap())
            } else if c.is_whitespace() {
                Some('-')
            } else {
                None
            }
        })
        .collect()
}

/// The ids of a chapter's headings (outside code blocks); a repeated id
/// gets `-1`, `-2`, as mdBook does.
fn heading_ids(chapter: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    let mut fenced = false;
    for line in chapter.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced || !line.starts_with('#') {
            continue;
        }
        let text = line.trim_start_matches('#');
        if !text.starts_with(' ') {
            continue;
        }
        let id = heading_id(text.trim());
        let repeats = ids
            .iter()
            .filter(|seen| *seen == &id || seen.starts_with(&format!("{id}-")))
            .count();
        ids.push(if repeats == 0 {
            id
        } else {
            format!("{id}-{repeats}")
        });
    }
    ids
}

/// Every link target in a chapter, outside code: `[text](target)`,
/// `![alt](target)`, `[name]: target`, `href="target"` and `src="target"`.
fn link_targets(chapter: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut fenced = false;
    for line in chapter.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        // Drop inline code spans.
        let text: String = line.split('`').step_by(2).collect::<Vec<_>>().join(" ");
        let mut rest = text.as_str();
        while let Some(start) = rest.find("](") {
            let after = &rest[start + 2..];
            let end = after.find(')').unwrap_or(after.len());
            targets.push(
                after[..end]
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_string(),
            );
            rest = &after[end..];
        }
        for attribute in ["href=\"", "src=\""] {
            let mut rest = text.as_str();
            while let Some(start) = rest.find(attribute) {
                let after = &rest[start + attribute.len()..];
                let end = after.find('"').unwrap_or(after.len());
                targets.push(after[..end].to_string());
                rest = &after[end..];
            }
        }
        if let Some(reference) = text.trim_start().strip_prefix('[') {
            if let Some((_, target)) = reference.split_once("]: ") {
                targets.push(target.split_whitespace().next().unwrap_or("").to_string());
            }
        }
    }
    targets
}

/// Why a relative `target` in the chapter at `chapter_path` points nowhere.
fn check_link(chapter_path: &Path, chapter: &str, target: &str) -> Result<(), String> {
    if target.contains("://") || target.starts_with("mailto:") || target.is_empty() {
        return Ok(());
    }
    let (file, anchor) = match target.split_once('#') {
        Some((file, anchor)) => (file, Some(anchor)),
        None => (target, None),
    };
    let linked_text;
    let linked = if file.is_empty() {
        chapter
    } else {
        let path = chapter_path.parent().unwrap().join(file);
        if !path.exists() {
            return Err(format!("no file {file}"));
        }
        if anchor.is_none() {
            return Ok(());
        }
        linked_text = fs::read_to_string(&path).map_err(|e| format!("{file}: {e}"))?;
        &linked_text
    };
    match anchor {
        Some(anchor) if !heading_ids(linked).iter().any(|id| id == anchor) => {
            Err(format!("no heading with the id {anchor:?}"))
        }
        _ => Ok(()),
    }
}

/// Every relative link in the book points to a file that exists, and a
/// `#anchor` to a heading that has that id. `SUMMARY.md` is left to
/// `mdbook build`, which reports a chapter it cannot find.
#[test]
fn every_relative_link_in_the_book_points_somewhere() {
    let book = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src");
    let mut checked = 0;
    let mut problems = Vec::new();
    for chapter_path in markdown_files(&book) {
        if chapter_path.ends_with("SUMMARY.md") {
            continue;
        }
        let chapter = fs::read_to_string(&chapter_path).unwrap();
        for target in link_targets(&chapter) {
            checked += 1;
            if let Err(why) = check_link(&chapter_path, &chapter, &target) {
                problems.push(format!("{}: ({target}): {why}", chapter_path.display()));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
    assert!(
        checked > 0,
        "the chapters link to each other ({checked} links)"
    );
}

/// The lines of a chapter that put an `{{#include}}` after indentation (in a
/// list item, say): mdBook inserts the file's lines without it, so the
/// listing ends the list and breaks out of its code fence.
fn indented_includes(chapter: &str) -> Vec<&str> {
    chapter
        .lines()
        .filter(|line| {
            let trimmed = line.trim_start();
            trimmed.starts_with("{{#") && trimmed.len() != line.len()
        })
        .collect()
}

#[test]
fn every_book_include_starts_its_line() {
    let book = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src");
    let mut problems = Vec::new();
    for chapter_path in markdown_files(&book) {
        let chapter = fs::read_to_string(&chapter_path).unwrap();
        for line in indented_includes(&chapter) {
            problems.push(format!("{}: {}", chapter_path.display(), line.trim()));
        }
    }
    assert!(
        problems.is_empty(),
        "indented includes (move them out of the list item):\n{}",
        problems.join("\n")
    );
}
