//! Rules about the successors of each node.

use crate::diag::Diagnostics;
use crate::model::{Edge, Graph, Kind, Node, Route, Target};

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
        let edges: Vec<_> = graph.edges_from(i).collect();
        let routes: Vec<_> = graph.routes_from(i).collect();
        if !node.kind.is_step() {
            check_nested_has_no_edges(cx, node, &edges, &routes);
            continue;
        }
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

/// A node inside a fan-out or a map has no edges of its own.
///
/// It runs inside that step, and its output goes where the group's or the map's does; an
/// edge of its own would give it a second place in the graph.
///
/// ```text
/// split -> (a, b) -> join;
/// a -> c;                  // `a` is a branch of the fan-out
/// ```
fn check_nested_has_no_edges(
    cx: &mut Diagnostics,
    node: &Node,
    edges: &[&Edge],
    routes: &[&Route],
) {
    let place = match node.kind {
        Kind::Branch { .. } => "is a branch of a fan-out: its output goes to the join",
        Kind::Worker { .. } => {
            "is mapped over a collection: its outputs are collected for the node after the map"
        }
        _ => "stands in for a failed branch or map item: its output takes that one's place",
    };
    let spans = edges
        .iter()
        .map(|e| e.arrow.spans[0])
        .chain(routes.iter().map(|r| r.fat_arrow.spans[0]));
    for span in spans {
        cx.error(
            span,
            format!(
                "node `{0}` {place}, so it has no edges of its own; to use `{0}` elsewhere too, name that use: `node {0}2 = {0};`",
                node.name
            ),
        );
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
