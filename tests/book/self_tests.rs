//! The checkers of `main.rs`, checked: each notices the mistake it is there
//! to catch, on a small made-up chapter or source file.

use std::path::Path;

use super::{
    TestIndex, cargo_test_commands, check_link, has_anchor, heading_id, heading_ids, includes,
    indented_includes, link_targets, test_names,
};

#[test]
fn the_include_checker_notices_a_missing_anchor() {
    let source = "// ANCHOR: present\nfn f() {}\n// ANCHOR_END: present\n";
    assert!(has_anchor(source, "present"));
    assert!(!has_anchor(source, "absent"));
    assert!(!has_anchor("// ANCHOR: half\n", "half"));
    let found = includes("x {{#include ../../src/gateway/mod.rs:body}} y {{#include ../a.rs}}");
    assert_eq!(
        found,
        vec![
            (
                "../../src/gateway/mod.rs".to_string(),
                Some("body".to_string())
            ),
            ("../a.rs".to_string(), None)
        ]
    );
}

#[test]
fn the_test_filter_checker_notices_a_filter_that_matches_nothing() {
    let source = "fn helper() {}\n#[test]\nfn top() {}\nmod tests {\n    use super::*;\n\n    #[test]\n    #[ignore = \"exercise\"]\n    fn inner_one() {}\n\n    fn not_a_test() {}\n}\nproptest! {\n    #[test]\n    fn a_property(x in 0..1u8) {}\n}\n";
    assert_eq!(
        test_names(source, "parser::"),
        [
            "parser::top",
            "parser::tests::inner_one",
            "parser::a_property"
        ]
    );
    let index = TestIndex {
        unit: vec!["parser::tests::inner_one".to_string()],
        bins: vec![("serve".to_string(), vec!["tests::flags".to_string()])],
        integration: vec![("server".to_string(), vec!["pipelined_requests".to_string()])],
        sources: vec!["src/http/parser.rs".to_string()],
    };
    assert_eq!(index.check("--test server pipelined"), Ok(()));
    assert_eq!(index.check("--lib parser::tests"), Ok(()));
    assert_eq!(index.check("--doc parser"), Ok(()));
    assert_eq!(index.check("inner"), Ok(()));
    assert!(index.check("--test server pipelnied").is_err(), "a typo");
    assert!(index.check("--test sever").is_err(), "no such file");
    assert!(index.check("--lib pipelined").is_err(), "wrong binary");
    assert_eq!(index.check("--bin serve tests::flags"), Ok(()));
    assert_eq!(index.check("tests::flags"), Ok(()), "all targets");
    assert!(
        index.check("--lib tests::flags").is_err(),
        "a binary's test"
    );
    assert!(index.check("--bin serve inner").is_err(), "a library test");
    assert!(index.check("--bin srve").is_err(), "no such binary");
    assert!(index.check("--test server -- --exact pipelined").is_err());
    assert_eq!(index.check("--test server -- --ignored pipelined_"), Ok(()));
    let commands = cargo_test_commands(
        "cargo test nope\n```sh\n$ cargo test --test server x   # why\ncargo run\n```\n",
    );
    assert_eq!(commands, ["--test server x"]);
}

#[test]
fn the_link_checker_notices_a_missing_file_and_heading() {
    assert_eq!(
        heading_id("`poll(2)` without the `libc` crate"),
        "poll2-without-the-libc-crate"
    );
    assert_eq!(
        heading_id("Forwarded vs X-Forwarded-*"),
        "forwarded-vs-x-forwarded-"
    );
    assert_eq!(
        heading_ids("# A\n```\n# not a heading\n```\n## A\n### B c\n"),
        ["a", "a-1", "b-c"]
    );
    let chapter = "# Top\nSee [here](#top), [there](introduction.md#how-to-read-it), \
                   `[not](code.md)` and ![map](architecture.svg).\n[ref]: gone.md\n";
    assert_eq!(
        link_targets(chapter),
        [
            "#top",
            "introduction.md#how-to-read-it",
            "architecture.svg",
            "gone.md"
        ]
    );
    let book = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src");
    let here = book.join("introduction.md");
    assert_eq!(check_link(&here, chapter, "#top"), Ok(()));
    assert!(check_link(&here, chapter, "#bottom").is_err());
    assert_eq!(check_link(&here, chapter, "parser.md"), Ok(()));
    assert!(check_link(&here, chapter, "parsr.md").is_err());
    assert!(check_link(&here, chapter, "parser.md#no-such-heading").is_err());
    assert_eq!(
        check_link(&here, chapter, "https://example.com/x.md"),
        Ok(())
    );
}

#[test]
fn the_indentation_checker_notices_an_include_in_a_list_item() {
    let chapter = "1. Write it:\n\n   ```rust\n   {{#include ../a.rs:x}}\n   ```\n\n```rust\n{{#include ../b.rs:y}}\n```\n";
    assert_eq!(indented_includes(chapter), ["   {{#include ../a.rs:x}}"]);
}

#[test]
fn inline_cargo_test_commands_are_checked_too() {
    let chapter = "Run `cargo test --test server` or `cargo test FILTER`.\n\n```sh\ncargo test --lib # all\n```\n";
    assert_eq!(cargo_test_commands(chapter), ["--test server", "--lib"]);
}
