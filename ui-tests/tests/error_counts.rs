//! Each compile-fail case reports as many errors as it has mistakes: the count of
//! `error` lines in every reviewed `.stderr` is pinned here, so a cascade of follow-on
//! errors cannot be checked in as reviewed (darling's `accrue_errors` does the same).

use std::path::Path;

/// Every case, with its count; the cases with more than one say why.
const EXPECTED: &[(&str, usize)] = &[
    ("ambiguous_edge", 1),
    ("bad_alias", 1),
    ("type_named_like_hook", 1),
    ("misplaced_interrupt", 1),
    ("bad_argument_type", 4), // four bad values, each its own mistake
    ("bad_error_edge", 1),
    ("dead_end", 1),
    ("derive_not_struct", 1),
    ("duplicate_edge", 1),
    ("duplicate_node", 1),
    ("duration_without_unit", 3), // three durations without a unit
    ("edge_out_of_end", 1),
    ("edge_type_mismatch", 1),
    ("empty_route", 1),
    ("error_edge_input_not_clone", 1),
    ("error_handler_type_mismatch", 1),
    ("fan_value_not_clone", 1),
    ("flow_input_mismatch", 1),
    ("flow_named_like_node", 1),
    ("flow_output_mismatch", 1),
    ("graph_syntax", 1),
    ("handler_output_mismatch", 1),
    ("join_type_mismatch", 1),
    ("loop_never_ends", 1),
    ("map_not_collection", 1),
    ("merge_field_not_comparable", 1),
    ("merge_state_not_merge", 1),
    ("merge_unknown_strategy", 2), // an unknown strategy and a second strategy
    ("misplaced_attribute", 1),
    ("misplaced_group", 1),
    ("misplaced_start", 1),
    ("missing_argument", 1),
    ("missing_dependency", 1),
    ("missing_entry", 1),
    ("nested_node_edges", 1),
    ("node_generic", 1),
    ("node_method", 1),
    ("node_not_async", 1),
    ("node_not_in_scope", 1),
    ("node_not_send", 1),
    ("node_reference_input", 1),
    ("node_signature", 1),
    ("node_two_inputs", 1),
    ("node_unsupported_param", 2), // `&mut` and `impl Trait`, two parameters
    ("not_a_node", 1),
    ("policy_contradiction", 5), // five contradictory settings
    ("retry_error_not_retryable", 1),
    ("route_arm_type_mismatch", 1),
    ("route_arm_fields", 1),
    ("route_missing_variant", 1),
    ("route_not_enum", 1),
    ("route_on_value", 1),
    ("route_struct_variant", 1),
    ("route_unit_variant", 1),
    ("route_unknown_variant", 1),
    ("step_limit_too_low", 1),
    ("subgraph_type_mismatch", 1),
    ("unknown_argument", 5), // five misspelt names
    ("unknown_node", 1),
    ("unreachable_node", 1),
    // Existing codes in newer shapes (`tests/fail/shapes/`): a map as a branch, a map
    // inside a branch path, two nodes named by paths with the same last segment, a route
    // arm's field bound to another name, a route inside a branch.
    ("shapes/map_branch_join_mismatch", 1),
    ("shapes/map_branch_not_collection", 1),
    ("shapes/map_in_path_type_mismatch", 1),
    ("shapes/node_paths_same_name", 1),
    ("shapes/route_arm_field_renamed", 1),
    ("shapes/route_in_branch", 1),
    // Issue 21 item 6: a name not in scope is reported beside the graph's own mistakes,
    // and a dead end that is only an unknown name is reported once, as the name.
    ("shapes/unknown_name_and_dead_end", 2), // two mistakes, one error each
    ("shapes/unknown_dead_end", 1),
    // `#[flow(durable)]` (`tests/fail/durable/`): a value that cannot be saved, and a
    // durable graph with an error whose runs, set up elsewhere, add none.
    ("durable/flow_input_not_serializable", 1),
    ("durable/flow_output_not_serializable", 1),
    ("durable/graph_error", 1),
    ("durable/node_input_not_serializable", 1),
    // A value a branch path hands on, and a join's input, each saved as its call ends.
    ("durable/branch_value_not_serializable", 1),
    ("durable/join_input_not_serializable", 1),
    // Interrupts: an error edge out of one, one inside a fan-out, an answer that cannot
    // be saved, `resume_with` given an answer of another type, and a hand-over of
    // another type than the question.
    ("durable/interrupt_error_edge", 1),
    ("durable/interrupt_in_fan_out", 1),
    ("durable/interrupt_not_serializable", 1),
    ("durable/interrupt_wrong_answer", 1),
    ("durable/interrupt_wrong_question", 1),
    // `typedflow_restate::workflow!` (`tests/fail/restate/`).
    ("restate/not_durable", 1),
];

#[test]
fn every_case_reports_one_error_per_mistake() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut seen = Vec::new();
    let cases = [
        "tests/fail",
        "tests/fail/shapes",
        "tests/fail/durable",
        "tests/fail/restate",
    ]
    .into_iter()
    .flat_map(|dir| {
        let entries = std::fs::read_dir(root.join(dir)).expect("a directory of cases");
        entries.map(move |e| (dir, e.expect("an entry").path()))
    });
    for (dir, path) in cases {
        if path.extension().is_none_or(|e| e != "stderr") {
            continue;
        }
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("a UTF-8 name");
        let case = match dir.strip_prefix("tests/fail/") {
            Some(sub) => format!("{sub}/{stem}"),
            None => stem.to_owned(),
        };
        let text = std::fs::read_to_string(&path).expect("a readable .stderr");
        let errors = text
            .lines()
            .filter(|l| {
                l.strip_prefix("error")
                    .is_some_and(|rest| rest.starts_with(':') || rest.starts_with("[E"))
            })
            .count();
        let expected = EXPECTED
            .iter()
            .find(|(name, _)| *name == case)
            .map(|(_, n)| *n);
        assert_eq!(
            Some(errors),
            expected,
            "{case}.stderr has {errors} error(s); add the case to EXPECTED, or fix the cascade"
        );
        seen.push(case);
    }
    for (name, _) in EXPECTED {
        assert!(seen.iter().any(|c| c == name), "no .stderr for `{name}`");
    }
}
