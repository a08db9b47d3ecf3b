//! A dead-end name that resembles another node is a typo of it: reported once, and read
//! as that node, so the rest of the graph is checked as the user meant it.

use super::{Edge, Entry, Kind, Node, Route, Target};
use crate::diag::{Diagnostics, catalogue as msg, did_you_mean};

/// Reports a dead-end name that resembles another node as a typo, and reads it as that node.
///
/// `START -> outline -> reviw; review => { .. }` says "unknown node `reviw`; did you mean
/// `review`?" once, instead of a dead end at `reviw` and an unreachable `review`.
pub(super) fn merge_typos(
    cx: &mut Diagnostics,
    nodes: &mut [Node],
    entries: &mut [Entry],
    edges: &mut [Edge],
    routes: &mut [Route],
) {
    for i in 0..nodes.len() {
        let has_way_on = edges.iter().any(|e| e.from == i) || routes.iter().any(|r| r.from == i);
        if nodes[i].kind != Kind::Step || has_way_on {
            continue;
        }
        let name = nodes[i].name.to_string();
        let candidates: Vec<String> = nodes
            .iter()
            .enumerate()
            .filter(|(j, n)| *j != i && n.merged_into.is_none() && n.kind.is_user_node())
            .map(|(_, n)| n.name.to_string())
            .collect();
        let Some(close) = did_you_mean(&name, candidates.iter().map(String::as_str)) else {
            continue;
        };
        let Some(j) = nodes.iter().position(|n| n.name == close) else {
            continue;
        };
        let message = msg::unknown_node(&name, close);
        cx.error_on_node(nodes[i].name.span(), &nodes[i].ty, message);
        nodes[i].merged_into = Some(j);
        for entry in entries.iter_mut().filter(|e| e.to == i) {
            entry.to = j;
        }
        let redirect = |t: &mut Target| {
            if *t == Target::Node(i) {
                *t = Target::Node(j);
            }
        };
        edges.iter_mut().for_each(|e| redirect(&mut e.to));
        routes
            .iter_mut()
            .flat_map(|r| r.arms.iter_mut())
            .for_each(|a| redirect(&mut a.to));
    }
}
