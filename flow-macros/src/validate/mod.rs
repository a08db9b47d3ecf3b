//! Validation: structural rules over the resolved graph. Every rule runs and reports all
//! it finds; no tokens are emitted here.
//!
//! Assumes `model::resolve` ran: names are node indices, `START`/`END` are in legal places.

mod edges;
mod names;
mod reach;

pub use names::flow_named_like_node;

use crate::diag::Diagnostics;
use crate::model::Graph;

/// Runs every rule.
pub fn all(cx: &mut Diagnostics, graph: &Graph) {
    names::check_entry(cx, graph);
    names::check_flow_name(cx, graph);
    edges::check_single_successor(cx, graph);
    edges::check_route_arms(cx, graph);
    reach::check_reachable(cx, graph);
    reach::check_dead_ends(cx, graph);
    reach::check_loops_end(cx, graph);
    reach::check_step_limit(cx, graph);
}
