//! Rules about paths: every node reachable from `START`, every node with a way on, and
//! every loop with a way out to `END`.

use crate::diag::{Diagnostics, catalogue as msg};
use crate::model::{Graph, Succ, Target, Via};

/// The steps reachable from `from`, marked in `seen` (which may already hold some).
fn mark_reachable(graph: &Graph, seen: &mut [bool], from: impl IntoIterator<Item = usize>) {
    let mut stack: Vec<usize> = from.into_iter().collect();
    while let Some(i) = stack.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        stack.extend(graph.successors(i).iter().filter_map(|s| match s.to {
            Target::Node(j) => Some(j),
            Target::End => None,
        }));
    }
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
    let mut seen = vec![false; graph.nodes.len()];
    mark_reachable(graph, &mut seen, graph.entries.iter().map(|e| e.to));
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
        cx.error_on_node(
            node.name.span(),
            &node.ty,
            msg::unreachable_node(&node.name.to_string()),
        );
        mark_reachable(graph, &mut covered, [i]);
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
        if !graph.has_way_on(i) {
            let message = msg::dead_end(&node.name.to_string());
            cx.error_on_node(node.name.span(), &node.ty, message);
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
    let can_end = graph.can_end();
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
        let mut stack: Vec<(usize, &[Succ])> = vec![(entry.to, graph.successors(entry.to))];
        mark[entry.to] = Mark::OnStack;
        while let Some((from, succ)) = stack.last_mut() {
            let from = *from;
            let Some((&Succ { to, via }, rest)) = succ.split_last() else {
                let (done, _) = stack.pop().unwrap_or((0, &[]));
                mark[done] = Mark::Done;
                continue;
            };
            *succ = rest;
            let Target::Node(j) = to else { continue };
            match mark[j] {
                Mark::New => {
                    mark[j] = Mark::OnStack;
                    stack.push((j, graph.successors(j)));
                }
                Mark::OnStack if !can_end[j] => {
                    cx.error_spanned(graph.via_tokens(from, via), msg::loop_never_ends())
                }
                _ => {}
            }
        }
    }
}

/// A flow's step limit lets its shortest run through.
///
/// With `max_steps` below the number of steps of the shortest path from `START` to `END`
/// (error edges aside), every run fails with the step limit: it is the limit that is wrong.
///
/// ```text
/// #[flow(max_steps = 2)]
/// START -> a -> b -> c -> END;   // three steps at least
/// ```
pub fn check_step_limit(cx: &mut Diagnostics, graph: &Graph) {
    let (Some(limit), Some(span), Some(entry)) =
        (graph.max_steps, graph.max_steps_span, graph.entries.first())
    else {
        return;
    };
    // Breadth-first over the steps: `depth[i]` is how many steps a run takes to reach `i`,
    // counting `i`.
    let mut depth: Vec<Option<usize>> = vec![None; graph.nodes.len()];
    depth[entry.to] = Some(1);
    let mut queue = std::collections::VecDeque::from([entry.to]);
    while let Some(i) = queue.pop_front() {
        let d = depth[i].unwrap_or(1);
        for s in graph.successors(i).iter().filter(|s| s.via != Via::Error) {
            match s.to {
                Target::End => {
                    if d > limit as usize {
                        cx.error(span, msg::step_limit_too_low(limit, d));
                    }
                    return;
                }
                Target::Node(j) if depth[j].is_none() => {
                    depth[j] = Some(d + 1);
                    queue.push_back(j);
                }
                Target::Node(_) => {}
            }
        }
    }
}
