//! Rules about the successors of each node.

use crate::diag::Diagnostics;
use crate::model::{Graph, Target};

/// A node has one way on: one plain edge or one route block.
///
/// A run follows a single path; with two plain successors the next step is ambiguous
/// (choosing is what a route is for), and a repeated edge is a mistake of its own.
///
/// ```text
/// a -> b; a -> c;        // ambiguous edge
/// a -> b; a => { .. }    // ambiguous edge
/// a -> b; a -> b;        // duplicate edge
/// ```
pub fn check_single_successor(cx: &mut Diagnostics, graph: &Graph) {
    for (i, node) in graph.live_nodes() {
        let edges: Vec<_> = graph.edges.iter().filter(|e| e.from == i).collect();
        let routes: Vec<_> = graph.routes.iter().filter(|r| r.from == i).collect();
        let Some(first_edge) = edges.first() else {
            for route in routes.iter().skip(1) {
                cx.error(
                    route.fat_arrow.spans[0],
                    format!("ambiguous edge: `{}` already has a route; put all its arms in one route block", node.name),
                );
            }
            continue;
        };
        for edge in edges.iter().skip(1) {
            if edge.to == first_edge.to {
                cx.error(
                    edge.arrow.spans[0],
                    format!(
                        "duplicate edge `{} -> {}`; remove one of them",
                        edge.from_ident, edge.to_ident
                    ),
                );
            } else {
                cx.error(
                    edge.arrow.spans[0],
                    format!(
                        "ambiguous edge: `{0}` already goes to `{1}`; a node has one successor, so to choose at run time return an enum and route it: `{0} => {{ .. }}`",
                        node.name, first_edge.to_ident
                    ),
                );
            }
        }
        for route in &routes {
            cx.error(
                route.fat_arrow.spans[0],
                format!(
                    "ambiguous edge: `{}` already goes to `{}`; remove that edge or this route",
                    node.name, first_edge.to_ident
                ),
            );
        }
    }
}

/// A route has arms, each variant once.
///
/// ```text
/// review => { }                                              // empty route
/// review => { Verdict::Accept -> END, Verdict::Accept -> a } // duplicate arm
/// ```
pub fn check_route_arms(cx: &mut Diagnostics, graph: &Graph) {
    for route in &graph.routes {
        if route.arms.is_empty() {
            cx.error(
                route.brace.span.join(),
                format!(
                    "the route of `{}` has no arms; add one per variant of its output: `Enum::Variant -> node`",
                    route.from_ident
                ),
            );
        }
        for (k, arm) in route.arms.iter().enumerate() {
            if route.arms[..k].iter().any(|a| a.variant == arm.variant) {
                let to = match arm.to {
                    Target::End => "END".to_owned(),
                    Target::Node(_) => arm.to_ident.to_string(),
                };
                let path = quote::ToTokens::to_token_stream(&arm.variant)
                    .to_string()
                    .replace(' ', "");
                cx.error(
                    Graph::arm_span(arm),
                    format!("duplicate edge: `{path}` is already routed; remove this arm (`{path} -> {to}`)"),
                );
            }
        }
    }
}
