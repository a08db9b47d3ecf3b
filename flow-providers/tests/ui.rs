//! Compile-fail cases of `#[tool]`: each mistake is one error on the user's token, with a
//! message that says how to fix it. They live here rather than in ui-tests because they
//! need this crate. The `.stderr` files are rustc's exact output on the pinned toolchain,
//! each one reviewed; regenerate with
//! `TRYBUILD=overwrite cargo test -p typedflow-providers --test ui` and read the diff.

use std::path::Path;

/// Every case with the number of errors its `.stderr` holds: one per mistake.
const EXPECTED: &[(&str, usize)] = &[
    ("tool_args_without_schema", 1),
    ("tool_attribute_arguments", 1),
    ("tool_borrowed_arg", 1),
    ("tool_future_not_send", 1),
    ("tool_generic", 1),
    ("tool_method", 1),
    ("tool_not_async", 1),
    ("tool_output_not_serialize", 1),
    ("tool_two_args", 1),
    ("tool_without_doc", 1),
];

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}

#[test]
fn every_case_reports_one_error_and_names_no_machinery() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui");
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("tests/ui") {
        let path = entry.expect("an entry").path();
        if path.extension().is_none_or(|e| e != "stderr") {
            continue;
        }
        let case = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("a UTF-8 name")
            .to_owned();
        let text = std::fs::read_to_string(&path).expect("a readable .stderr");
        let errors = text
            .lines()
            .filter(|l| {
                l.strip_prefix("error")
                    .is_some_and(|rest| rest.starts_with(':') || rest.starts_with("[E"))
            })
            .count();
        let expected = EXPECTED.iter().find(|(n, _)| *n == case).map(|(_, n)| *n);
        assert_eq!(
            Some(errors),
            expected,
            "{case}.stderr has {errors} error(s)"
        );
        for private in ["__", "__private", "ToolOutcome"] {
            assert!(
                !text.contains(private),
                "{case}.stderr names the machinery (`{private}`):\n{text}"
            );
        }
        seen.push(case);
    }
    for (name, _) in EXPECTED {
        assert!(seen.iter().any(|c| c == name), "no .stderr for `{name}`");
    }
}
