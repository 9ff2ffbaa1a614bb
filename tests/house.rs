//! The house stays one a reader can live in: every source file reads in one
//! sitting, and the folders' arrows point one way (the order `src/lib.rs`
//! gives). These fail when a change breaks either, naming the file.

mod support;

use std::fs;
use std::path::Path;

use support::rust_files;

/// About 600 lines, docs and unit tests included: one sitting.
const MOST_LINES: usize = 620;

/// Lowest first: a folder (or top-level file) may use only itself and the
/// ones before it.
const LAYERS: [&str; 9] = [
    "http", "logging", "io", "config", "gateway", "pool", "task", "apps", "server",
];

fn src() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The layer a file of `src/` belongs to: its folder, or its own name.
fn layer_of(file: &Path) -> Option<usize> {
    let relative = file.strip_prefix(src()).ok()?;
    let first = relative.components().next()?.as_os_str().to_string_lossy();
    let name = first.trim_end_matches(".rs");
    LAYERS.iter().position(|layer| *layer == name)
}

#[test]
fn every_source_file_reads_in_one_sitting() {
    let long: Vec<String> = rust_files(&src())
        .into_iter()
        .filter_map(|file| {
            let lines = fs::read_to_string(&file).unwrap().lines().count();
            (lines > MOST_LINES).then(|| format!("{} has {lines} lines", file.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these: {long:#?}");
}

/// The lines of `source`, in layer `own`, that use a layer above it.
fn upward_uses(own: usize, source: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in source.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        for (at, _) in code.match_indices("crate::") {
            let used: String = code[at + 7..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if LAYERS.iter().position(|layer| *layer == used) > Some(own) {
                found.push((number + 1, used));
            }
        }
    }
    found
}

#[test]
fn a_folder_uses_only_the_folders_below_it() {
    let mut upward = Vec::new();
    for file in rust_files(&src()) {
        let Some(own) = layer_of(&file) else { continue };
        let source = fs::read_to_string(&file).unwrap();
        for (line, used) in upward_uses(own, &source) {
            upward.push(format!(
                "{}:{line}: {} uses {used}",
                file.display(),
                LAYERS[own]
            ));
        }
    }
    assert!(upward.is_empty(), "arrows pointing up: {upward:#?}");
}

#[test]
fn the_layer_check_sees_an_upward_use() {
    let http = layer_of(&src().join("http/parser/mod.rs")).unwrap();
    let source = "use crate::http::grammar;\nuse crate::server::Server; // up\n// crate::apps in a comment\n";
    assert_eq!(upward_uses(http, source), vec![(2, "server".to_string())]);
    assert_eq!(layer_of(&src().join("logging.rs")), Some(1));
    assert_eq!(layer_of(&src().join("lib.rs")), None);
}
