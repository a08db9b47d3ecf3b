//! Rules about the entry of a flow.

use crate::diag::{Diagnostics, catalogue as msg};
use crate::model::Graph;

/// A flow has exactly one entry, `START -> node`.
///
/// Without one no run could begin; with two the first step would be ambiguous.
///
/// ```text
/// Essay(Topic) -> Draft { outline -> END; }                   // no entry
/// Essay(Topic) -> Draft { START -> a -> END; START -> b; .. } // two entries
/// ```
pub fn check_entry(cx: &mut Diagnostics, graph: &Graph) {
    match graph.entries.as_slice() {
        [] => {
            let first = graph
                .live_nodes()
                .next()
                .map_or("first_node".to_owned(), |(_, n)| n.name.to_string());
            cx.error(
                graph.name.span(),
                msg::missing_entry(&graph.name.to_string(), &first),
            );
        }
        [first, rest @ ..] => {
            for entry in rest {
                cx.error(
                    entry.start.span(),
                    msg::second_entry(&first.to_ident.to_string()),
                );
            }
        }
    }
}
