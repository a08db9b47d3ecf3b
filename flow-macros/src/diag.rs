//! Diagnostics: the collector every stage reports into, and the catalogue of every
//! message the macros emit.
//!
//! Messages are lowercase, without a trailing period, with names in backticks; they say
//! what is wrong, then how to fix it. Each has a code in [`CATALOGUE`], a compile-fail
//! case `ui-tests/tests/fail/<code>.rs` and a section in `docs/errors.md`; a unit test
//! checks that the three lists match.

use std::fmt::Display;

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;

/// Collects errors within a stage; [`Diagnostics::gate`] stops between stages.
#[derive(Default)]
pub struct Diagnostics {
    errors: Option<syn::Error>,
}

impl Diagnostics {
    pub fn error(&mut self, span: Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    pub fn error_spanned(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    pub fn push(&mut self, error: syn::Error) {
        match &mut self.errors {
            Some(errors) => errors.combine(error),
            None => self.errors = Some(error),
        }
    }

    pub fn has_errors(&self) -> bool {
        self.errors.is_some()
    }

    /// The errors as `compile_error!` invocations, leaving the collector empty.
    pub fn take_tokens(&mut self) -> TokenStream {
        self.errors
            .take()
            .map(syn::Error::into_compile_error)
            .unwrap_or_default()
    }

    #[cfg(test)]
    pub fn messages(&self) -> Vec<String> {
        self.errors
            .clone()
            .into_iter()
            .flat_map(|e| e.into_iter().map(|e| e.to_string()))
            .collect()
    }
}

/// Every message code the macros emit, each with its compile-fail case and docs entry.
#[cfg_attr(not(test), allow(dead_code))] // reason: read by the test that checks the lists match
pub const CATALOGUE: &[&str] = &[
    "unknown_node",
    "node_not_in_scope",
    "not_a_node",
    "edge_type_mismatch",
    "route_missing_variant",
    "route_arm_type_mismatch",
    "route_not_enum",
    "route_unknown_variant",
    "unreachable_node",
    "dead_end",
    "ambiguous_edge",
    "duplicate_edge",
    "loop_never_ends",
    "flow_input_mismatch",
    "flow_output_mismatch",
    "node_not_async",
    "node_method",
    "node_unsupported_param",
    "node_two_inputs",
    "node_generic",
    "bad_argument_type",
    "duration_without_unit",
    "unknown_argument",
    "duplicate_node",
    "missing_entry",
    "edge_out_of_end",
    "missing_dependency",
    "empty_route",
    "join_type_mismatch",
    "error_handler_type_mismatch",
    "fan_value_not_clone",
    "error_edge_input_not_clone",
    "map_not_collection",
    "nested_node_edges",
    "handler_output_mismatch",
    "misplaced_group",
    "subgraph_type_mismatch",
    "merge_state_not_merge",
    "merge_unknown_strategy",
    "policy_wrong_value",
    "policy_missing_unit",
    "policy_unknown_key",
    "policy_contradiction",
    "retry_error_not_retryable",
];

/// Suggests the closest of `candidates` to `name`, if one is close enough to be a typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::CATALOGUE;

    /// The catalogue, the compile-fail cases and the docs' error catalogue list the same codes.
    #[test]
    fn catalogue_matches_cases_and_docs() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let docs = std::fs::read_to_string(root.join("docs/errors.md")).expect("docs/errors.md");
        for code in CATALOGUE {
            let case = root.join(format!("ui-tests/tests/fail/{code}.rs"));
            assert!(
                case.exists(),
                "no compile-fail case for `{code}`: {}",
                case.display()
            );
            assert!(
                case.with_extension("stderr").exists(),
                "no reviewed .stderr for `{code}`"
            );
            assert!(
                docs.contains(&format!("<a id=\"{code}\"></a>")),
                "docs/errors.md has no entry for `{code}`"
            );
        }
        let mut cases: Vec<String> = std::fs::read_dir(root.join("ui-tests/tests/fail"))
            .expect("ui-tests/tests/fail")
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter_map(|n| n.strip_suffix(".rs").map(str::to_owned))
            .collect();
        cases.sort();
        for case in cases {
            assert!(
                CATALOGUE.contains(&case.as_str()),
                "ui-tests/tests/fail/{case}.rs is not in the catalogue"
            );
        }
    }
}
