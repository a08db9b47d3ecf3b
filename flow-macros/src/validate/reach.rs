//! Rules about paths: every node reachable from `START`, every node with a way on, and
//! every loop with a way out to `END`.

use proc_macro2::TokenStream;
use quote::quote;

use crate::diag::Diagnostics;
use crate::model::{Graph, Kind, Target};

/// Every successor of node `i`, with the tokens of the edge, arm or error edge that leads
/// there. Nodes that run inside a fan-out or a map have none of their own.
fn successors(graph: &Graph, i: usize) -> Vec<(Target, TokenStream)> {
    if !graph.nodes[i].kind.is_step() {
        return Vec::new();
    }
    let plain = graph.edges.iter().filter(|e| e.from == i).map(|e| {
        let (from, arrow, to) = (&e.from_ident, &e.arrow, &e.to_ident);
        (e.to, quote!(#from #arrow #to))
    });
    let arms = graph.routes.iter().filter(|r| r.from == i).flat_map(|r| {
        r.arms.iter().map(|a| {
            let (variant, arrow, to) = (&a.variant, &a.arrow, &a.to_ident);
            (a.to, quote!(#variant #arrow #to))
        })
    });
    let catch = graph.nodes[i]
        .catch
        .as_ref()
        .filter(|_| graph.nodes[i].kind == Kind::Step)
        .map(|c| {
            let to = &c.to_ident;
            (Target::Node(c.to), quote!(#to))
        });
    plain.chain(arms).chain(catch).collect()
}

/// Whether a step has an edge or a route on; nested nodes count as having one.
fn has_way_on(graph: &Graph, i: usize) -> bool {
    !graph.nodes[i].kind.is_step()
        || graph.edges.iter().any(|e| e.from == i)
        || graph.routes.iter().any(|r| r.from == i)
}

/// Nodes reachable from the entries.
fn reachable(graph: &Graph) -> Vec<bool> {
    let mut seen = vec![false; graph.nodes.len()];
    let mut stack: Vec<usize> = graph.entries.iter().map(|e| e.to).collect();
    while let Some(i) = stack.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        for (t, _) in successors(graph, i) {
            if let Target::Node(j) = t {
                stack.push(j);
            }
        }
    }
    seen
}

/// Every node can be reached from `START`.
///
/// A node no path reaches never runs: usually a missing edge or a leftover.
///
/// ```text
/// START -> a -> END;
/// b -> END;            // `b` is unreachable
/// ```
pub fn check_reachable(cx: &mut Diagnostics, graph: &Graph) {
    if graph.entries.is_empty() {
        return; // the missing entry is reported; everything would be unreachable
    }
    let seen = reachable(graph);
    // Report only where an unreachable part begins: nodes reached from an unreachable
    // node report nothing of their own, so `c -> b -> END` with no way into `c` is one
    // error at `c`.
    // Nodes inside fan-outs and maps are reached with them.
    let mut covered: Vec<bool> = seen
        .iter()
        .zip(&graph.nodes)
        .map(|(seen, n)| *seen || !n.kind.is_step())
        .collect();
    for (i, node) in graph.live_nodes() {
        if covered[i] {
            continue;
        }
        cx.error(
            node.name.span(),
            format!(
                "node `{}` is unreachable: no path from `START` leads to it; add an edge to it or remove it",
                node.name
            ),
        );
        let mut stack = vec![i];
        while let Some(k) = stack.pop() {
            if std::mem::replace(&mut covered[k], true) {
                continue;
            }
            for (t, _) in successors(graph, k) {
                if let Target::Node(j) = t {
                    stack.push(j);
                }
            }
        }
    }
}

/// Every node has a way on: an edge, a route, or an edge to `END`.
///
/// A run that reaches such a node would have nowhere to go with its output.
///
/// ```text
/// START -> a -> b;     // `b` has no way on
/// ```
pub fn check_dead_ends(cx: &mut Diagnostics, graph: &Graph) {
    for (i, node) in graph.live_nodes() {
        if !has_way_on(graph, i) {
            cx.error(
                node.name.span(),
                format!(
                    "node `{0}` has no way on; add an edge from it (`{0} -> next;` or `{0} -> END;`) or a route (`{0} => {{ .. }}`)",
                    node.name
                ),
            );
        }
    }
}

/// Every loop has a way out towards `END`.
///
/// A cycle none of whose nodes leads to `END` runs until the step limit, every time:
/// it is reported on the edge that closes it.
///
/// ```text
/// START -> a -> b;
/// b -> a;              // this loop never ends
/// ```
pub fn check_loops_end(cx: &mut Diagnostics, graph: &Graph) {
    let n = graph.nodes.len();
    // Which nodes can reach END; dead ends count as able, their own error is enough.
    let mut can_end: Vec<bool> = (0..n).map(|i| !has_way_on(graph, i)).collect();
    loop {
        let mut changed = false;
        for i in 0..n {
            if !can_end[i]
                && successors(graph, i).iter().any(|(t, _)| match t {
                    Target::End => true,
                    Target::Node(j) => can_end[*j],
                })
            {
                can_end[i] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    // Depth-first from the entries; an edge back onto the stack closes a cycle.
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnStack,
        Done,
    }
    let mut mark = vec![Mark::New; n];
    for entry in &graph.entries {
        if mark[entry.to] != Mark::New {
            continue;
        }
        let mut stack: Vec<(usize, Vec<(Target, TokenStream)>)> =
            vec![(entry.to, successors(graph, entry.to))];
        mark[entry.to] = Mark::OnStack;
        while let Some((_, succ)) = stack.last_mut() {
            let Some((target, tokens)) = succ.pop() else {
                let (done, _) = stack.pop().unwrap_or((0, Vec::new()));
                mark[done] = Mark::Done;
                continue;
            };
            let Target::Node(j) = target else { continue };
            match mark[j] {
                Mark::New => {
                    mark[j] = Mark::OnStack;
                    stack.push((j, successors(graph, j)));
                }
                Mark::OnStack if !can_end[j] => cx.error_spanned(
                    tokens,
                    "this loop never ends: no node in it leads to `END`; give one of its nodes a way out, e.g. a route arm to `END`",
                ),
                _ => {}
            }
        }
    }
}
