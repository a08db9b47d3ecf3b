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

/// A flow is not named like one of its nodes.
///
/// A node is a type of the same name as its function, in the namespace of the flow's own
/// type: the two would clash, and rustc would report the clash at every use of either.
///
/// ```text
/// #[node] async fn Essay(..) { .. }
/// graph! { Essay(Topic) -> Draft { START -> Essay -> END; } }
/// ```
pub fn check_flow_name(cx: &mut Diagnostics, graph: &Graph) {
    if flow_named_like_node(graph) {
        cx.error(
            graph.name.span(),
            msg::flow_named_like_node(&graph.name.to_string()),
        );
    }
}

/// Whether a node's type has the flow's name (then the flow type cannot be emitted).
pub fn flow_named_like_node(graph: &Graph) -> bool {
    graph.user_nodes().any(|(_, n)| {
        n.ty.segments.len() == 1 && n.ty.segments.last().is_some_and(|s| s.ident == graph.name)
    })
}
