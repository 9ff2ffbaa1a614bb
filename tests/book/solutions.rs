//! Solutions cannot drift. Each exercise's solution is a patch,
//! `book/solutions/chN_M.patch`, that `book/check-solutions.sh` applies to a
//! scratch copy of the tree before running the tests its `# test:` lines
//! name (CI runs it). These tests check, without building anything, that
//! the set is complete: every patch is shown in the solutions appendix and
//! names tests that exist, and every exercise test is run by a patch.

use std::fs;
use std::path::Path;

use support::rust_files;

use super::{TestIndex, support};

/// An exercise test: (test target, name, chapter).
fn exercise_tests(root: &Path) -> Vec<(String, String, u32)> {
    let mut found = Vec::new();
    for file in rust_files(&root.join("tests")) {
        let relative = file.strip_prefix(root.join("tests")).unwrap();
        let target = relative.iter().next().unwrap().to_string_lossy();
        let target = target.trim_end_matches(".rs").to_string();
        let source = fs::read_to_string(&file).unwrap();
        let mut chapter = None;
        for line in source.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("#[ignore = \"exercise: chapter ") {
                chapter = rest.split('"').next().and_then(|n| n.parse().ok());
            } else if let (Some(n), Some(rest)) = (chapter, line.strip_prefix("fn ")) {
                let name = rest.split('(').next().unwrap().to_string();
                found.push((target.clone(), name, n));
                chapter = None;
            }
        }
    }
    found
}

/// A patch's `# test:` commands, each split into (target, filters).
fn test_commands(patch: &str) -> Vec<String> {
    patch
        .lines()
        .filter_map(|line| line.strip_prefix("# test: "))
        .map(str::to_string)
        .collect()
}

/// Whether `cargo test ...` (`command`) runs the exercise test `name` of `target`.
fn runs(command: &str, target: &str, name: &str) -> bool {
    let words: Vec<&str> = command.split_whitespace().collect();
    let named_target = words
        .windows(2)
        .find(|pair| pair[0] == "--test")
        .map(|pair| pair[1]);
    let Some(dashes) = words.iter().position(|word| *word == "--") else {
        return false; // without `-- --ignored`, an exercise test never runs
    };
    let after = &words[dashes + 1..];
    let filters: Vec<&&str> = after.iter().filter(|word| !word.starts_with('-')).collect();
    named_target == Some(target)
        && (after.contains(&"--ignored") || after.contains(&"--include-ignored"))
        && (filters.is_empty() || filters.iter().any(|filter| name.contains(**filter)))
}

#[test]
fn every_solution_patch_is_shown_and_names_tests_that_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let index = TestIndex::of_crate(root);
    let appendix = fs::read_to_string(root.join("book/src/solutions.md")).unwrap();
    let mut problems = Vec::new();
    for patch in support::files_with_extension(&root.join("book/solutions"), "patch") {
        let id = patch.file_stem().unwrap().to_string_lossy().into_owned();
        let text = fs::read_to_string(&patch).unwrap();
        let number = id.trim_start_matches("ch").replacen('_', ".", 1);
        if !text.starts_with(&format!("# Exercise {number}:")) {
            problems.push(format!(
                "{id}: does not start with '# Exercise {number}: title'"
            ));
        }
        if !appendix.contains(&format!("{{{{#include ../solutions/{id}.patch}}}}")) {
            problems.push(format!("{id}: not included in solutions.md"));
        }
        if !text.contains("\ndiff --git ") {
            problems.push(format!("{id}: no diff in it"));
        }
        let commands = test_commands(&text);
        if commands.is_empty() {
            problems.push(format!("{id}: no '# test: cargo test ...' line"));
        }
        for command in commands {
            match command.strip_prefix("cargo test ") {
                None => problems.push(format!("{id}: '{command}' is not a cargo test command")),
                Some(rest) => {
                    if let Err(why) = index.check(rest) {
                        problems.push(format!("{id}: `{command}`: {why}"));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_exercise_test_is_run_by_a_solution() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let exercises = exercise_tests(root);
    assert!(
        exercises.len() > 30,
        "the exercises are found: {exercises:?}"
    );
    let commands: Vec<(String, String)> =
        support::files_with_extension(&root.join("book/solutions"), "patch")
            .iter()
            .flat_map(|patch| {
                let id = patch.file_stem().unwrap().to_string_lossy().into_owned();
                let text = fs::read_to_string(patch).unwrap();
                test_commands(&text)
                    .into_iter()
                    .map(move |c| (id.clone(), c))
            })
            .collect();
    let mut orphans = Vec::new();
    for (target, name, chapter) in &exercises {
        let prefix = format!("ch{chapter}_");
        if !name.starts_with(&prefix) {
            orphans.push(format!(
                "{target}: {name}: an exercise of chapter {chapter} is named {prefix}..."
            ));
        }
        let patch_prefix = format!("ch{chapter}_");
        let solved = commands
            .iter()
            .any(|(id, command)| id.starts_with(&patch_prefix) && runs(command, target, name));
        if !solved {
            orphans.push(format!(
                "{target}: {name}: no book/solutions/{patch_prefix}N.patch runs it"
            ));
        }
    }
    assert!(orphans.is_empty(), "{}", orphans.join("\n"));
}

#[test]
fn runs_matches_target_and_filter() {
    let command = "cargo test --test exercises -- --ignored ch10_obs";
    assert!(runs(
        command,
        "exercises",
        "ch10_parser::ch10_obs_fold_becomes_a_space"
    ));
    assert!(!runs(command, "course", "ch10_obs_fold_becomes_a_space"));
    assert!(!runs(command, "exercises", "ch10_parser::ch10_field_count"));
    assert!(!runs(
        "cargo test --test exercises ch10_obs",
        "exercises",
        "ch10_obs"
    ));
}
