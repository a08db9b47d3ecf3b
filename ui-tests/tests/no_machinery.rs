//! No reviewed `.stderr` names the machinery (DESIGN §3): no `__` item, no private
//! module, no path into our sources, no "required by a bound in" note, no list of other
//! impls, and no trait of ours in rustc's own help lines other than the public checks of
//! `typedflow::checks` (whose one `help: the trait .. is not implemented for ..` line per
//! error rustc always prints).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What never appears in a `.stderr`, and why.
const FORBIDDEN: &[(&str, &str)] = &[
    ("__", "a generated or hidden item"),
    ("private", "the runtime's private module"),
    ("$WORKSPACE", "a path into our sources"),
    ("flow-runtime/", "a path into our sources"),
    ("flow-macros/", "a path into our sources"),
    ("required by a bound in", "a note quoting a bound of ours"),
    ("required by this bound", "a note quoting a bound of ours"),
    ("required for `", "a chain of impls of ours"),
    ("is implemented for it", "another impl of a trait of ours"),
    ("the following other types implement", "a list of impls"),
];

/// Cases whose output still has one of the above, each with the reason; the test fails
/// for every other case, and for a listed case that no longer needs to be listed.
const KNOWN: &[(&str, &str)] = &[
    (
        "missing_dependency",
        "the dependency is a bound of the node's generic `NodeFn` impl: rustc notes the impl, which points at the `&T` parameter (issue 21)",
    ),
    (
        "not_a_node",
        "one error, on the name, but rustc's help names `typedflow::Node` and lists the nodes in scope (\"the following other types implement\")",
    ),
];

fn stderr_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = [
        "tests/fail",
        "tests/fail/shapes",
        "tests/fail/durable",
        "tests/fail/restate",
    ]
    .into_iter()
    .flat_map(|dir| std::fs::read_dir(root.join(dir)).expect("a directory of cases"))
    .map(|e| e.expect("an entry").path())
    .filter(|p| p.extension().is_some_and(|e| e == "stderr"))
    .collect();
    files.sort();
    files
}

/// The public traits of the runtime, read from its sources: `pub trait Name`.
fn our_traits() -> (BTreeSet<String>, BTreeSet<String>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../flow-runtime/src");
    let mut all = BTreeSet::new();
    let mut checks = BTreeSet::new();
    let mut dirs = vec![src];
    while let Some(path) = dirs.pop() {
        if path.is_dir() {
            dirs.extend(
                std::fs::read_dir(&path)
                    .expect("a source dir")
                    .map(|e| e.expect("an entry").path()),
            );
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("a source file");
        for rest in text.split("pub trait ").skip(1) {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if path.ends_with("checks.rs") {
                checks.insert(name.clone());
            }
            all.insert(name);
        }
    }
    (all, checks)
}

/// Whether `line` contains `needle`; for `__`, only as the start of a name (rustc draws
/// multi-line spans with underscores).
fn contains(line: &str, needle: &str) -> bool {
    if needle != "__" {
        return line.contains(needle);
    }
    line.match_indices("__").any(|(at, _)| {
        line[at..]
            .trim_start_matches('_')
            .starts_with(|c: char| c.is_alphanumeric())
    })
}

/// The problems of one `.stderr`'s text.
fn problems(text: &str, ours: &BTreeSet<String>, allowed: &BTreeSet<String>) -> Vec<String> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        for (needle, why) in FORBIDDEN {
            if contains(line, needle) {
                found.push(format!("line {}: `{needle}` ({why}): {line}", n + 1));
            }
        }
        // rustc's own sentence naming a trait: `the trait `Name<..>` is not implemented`.
        if let Some(rest) = line.split("the trait `").nth(1) {
            let path: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let name = path.rsplit("::").next().unwrap_or_default();
            let public_check = allowed.contains(name)
                && (path == name || path == format!("typedflow::checks::{name}"));
            if ours.contains(name) && !public_check {
                found.push(format!(
                    "line {}: names `{path}`, a trait of ours that is not a public check: {line}",
                    n + 1
                ));
            }
        }
    }
    found
}

#[test]
fn no_stderr_names_the_machinery() {
    let (ours, allowed) = our_traits();
    assert!(
        allowed.contains("Edge"),
        "the checks were read: {allowed:?}"
    );
    let mut failures = Vec::new();
    for file in stderr_files() {
        let case = file
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("a UTF-8 name");
        let text = std::fs::read_to_string(&file).expect("a readable .stderr");
        let found = problems(&text, &ours, &allowed);
        let known = KNOWN.iter().any(|(name, _)| *name == case);
        match (found.is_empty(), known) {
            (false, false) => failures.push(format!("{case}.stderr:\n  {}", found.join("\n  "))),
            (true, true) => {
                failures.push(format!("{case}.stderr is clean now: remove it from KNOWN"))
            }
            _ => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_scan_catches_each_kind_of_leak() {
    let (ours, allowed) = our_traits();
    let leaks = [
        "note: required by a bound in `typedflow::__private::Hand::<T>::edge`",
        "  --> $WORKSPACE/flow-runtime/src/private.rs",
        "   = help: the trait `NodeFn<()>` is not implemented for `Summary`",
        "help: the trait `Provides<Llm>` is not implemented for `AppDeps`",
        "   = help: the trait `typedflow::__private::End<Count, String, a>` is not implemented for `u32`",
        "   = note: required for `Ticket` to implement `FanOut`",
        "within `__FlowEssayNodes`, the trait",
    ];
    for leak in leaks {
        assert!(
            !problems(leak, &ours, &allowed).is_empty(),
            "missed: {leak}"
        );
    }
    let fine = [
        "   = help: the trait `Edge<outline, count, String, u32>` is not implemented for `Graph`",
        "   = help: the trait `typedflow::checks::FlowInput<Count, a, String, u32>` is not implemented for `Graph`",
        "   = help: the trait `Clone` is not implemented for `Ticket`",
        "   | |_________^ pattern `Verdict::Reject(_)` not covered",
    ];
    for line in fine {
        assert_eq!(
            problems(line, &ours, &allowed),
            Vec::<String>::new(),
            "{line}"
        );
    }
}
