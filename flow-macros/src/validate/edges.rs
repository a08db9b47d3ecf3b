//! Rules about the successors of each node.

use crate::diag::{Diagnostics, catalogue as msg};
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
                    msg::second_route(&node.name.to_string()),
                );
            }
            continue;
        };
        for edge in edges.iter().skip(1) {
            if edge.to == first_edge.to {
                cx.error(
                    edge.arrow.spans[0],
                    msg::duplicate_edge(&edge.from_ident.to_string(), &edge.to_ident.to_string()),
                );
            } else {
                cx.error(
                    edge.arrow.spans[0],
                    msg::second_successor(&node.name.to_string(), &first_edge.to_ident.to_string()),
                );
            }
        }
        for route in &routes {
            cx.error(
                route.fat_arrow.spans[0],
                msg::route_after_edge(&node.name.to_string(), &first_edge.to_ident.to_string()),
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
        cx.error(span, msg::nested_node_edge(&node.name.to_string(), place));
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
                msg::empty_route(&route.from_ident.to_string()),
            );
        }
        for (k, arm) in route.arms.iter().enumerate() {
            if route.arms[..k].iter().any(|a| a.variant == arm.variant) {
                let to = match arm.to {
                    Target::End => "END".to_owned(),
                    Target::Node(_) => arm.to_ident.to_string(),
                };
                let path = match &arm.value {
                    Some(value) => quote::ToTokens::to_token_stream(value).to_string(),
                    None => quote::ToTokens::to_token_stream(&arm.variant).to_string(),
                }
                .replace(' ', "");
                cx.error(Graph::arm_span(arm), msg::duplicate_arm(&path, &to));
            }
        }
    }
}
