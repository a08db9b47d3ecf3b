//! What the graph's queries answer, computed once after resolving: each step's
//! successors, each node's position among the user's nodes, whether a step can come
//! round again, and the edge list the user sees.

use super::{Branch, Graph, Kind, Mode, Node, Succ, Target, Via};

#[derive(Default)]
pub(super) struct Index {
    pub succ: Vec<Vec<Succ>>,
    pub pos: Vec<Option<usize>>,
    pub cyclic: bool,
    pub user_edges: Vec<UserEdge>,
}

/// An edge between nodes of the user's, numbered by their position among them; `None` is
/// `START` as a source and `END` as a target.
pub struct UserEdge {
    pub from: Option<usize>,
    pub to: Option<usize>,
    pub kind: UserEdgeKind,
}

/// How an edge is taken, mirroring `typedflow::EdgeKind`.
#[derive(Clone, Copy)]
pub enum UserEdgeKind {
    Plain,
    /// The arm `graph.routes[r].arms[a]`.
    Route(usize, usize),
    Branch,
    Join,
    Merge,
    Map(u32),
    Collect,
    Error,
}

/// Mirrors `typedflow::DEFAULT_MAP_LIMIT`.
pub const DEFAULT_MAP_LIMIT: u32 = 16;

impl Index {
    pub fn build(graph: &Graph) -> Index {
        let succ: Vec<Vec<Succ>> = (0..graph.nodes.len())
            .map(|i| successors(graph, i))
            .collect();
        let pos = positions(&graph.nodes);
        let cyclic = cyclic(&succ);
        let user_edges = user_edges(graph, &pos);
        Index {
            succ,
            pos,
            cyclic,
            user_edges,
        }
    }
}

fn successors(graph: &Graph, i: usize) -> Vec<Succ> {
    let node = &graph.nodes[i];
    if !node.kind.is_step() {
        return Vec::new();
    }
    let plain = graph
        .edges
        .iter()
        .enumerate()
        .filter(|(_, e)| e.from == i)
        .map(|(k, e)| Succ {
            to: e.to,
            via: Via::Edge(k),
        });
    let arms = graph
        .routes
        .iter()
        .enumerate()
        .filter(|(_, r)| r.from == i)
        .flat_map(|(r, route)| {
            route.arms.iter().enumerate().map(move |(a, arm)| Succ {
                to: arm.to,
                via: Via::Arm(r, a),
            })
        });
    // The error edge of a step leads to a step; that of a node inside a fan-out or a map
    // leads to a handler running in its place, within the same step.
    let error = node.error_edge.as_ref().map(|e| Succ {
        to: Target::Node(e.handler),
        via: Via::Error,
    });
    plain.chain(arms).chain(error).collect()
}

fn positions(nodes: &[Node]) -> Vec<Option<usize>> {
    let mut next = 0;
    nodes
        .iter()
        .map(|n| {
            (n.merged_into.is_none() && n.kind.is_user_node()).then(|| {
                next += 1;
                next - 1
            })
        })
        .collect()
}

fn cyclic(succ: &[Vec<Succ>]) -> bool {
    let next = |i: usize| {
        succ[i].iter().filter_map(|s| match s.to {
            Target::Node(j) => Some(j),
            Target::End => None,
        })
    };
    (0..succ.len()).any(|start| {
        let mut seen = vec![false; succ.len()];
        let mut stack: Vec<usize> = next(start).collect();
        while let Some(i) = stack.pop() {
            if i == start {
                return true;
            }
            if !std::mem::replace(&mut seen[i], true) {
                stack.extend(next(i));
            }
        }
        false
    })
}

/// The user nodes an edge into step `i` reaches: the node itself, the first node of
/// each branch of a fan-out, a map's worker.
fn user_entries(graph: &Graph, pos: &[Option<usize>], i: usize) -> Vec<Option<usize>> {
    match &graph.nodes[i].kind {
        Kind::Fan { branches, .. } => branches.iter().map(|b| pos[b.first()]).collect(),
        Kind::Map { worker, .. } => vec![pos[*worker]],
        _ => vec![pos[i]],
    }
}

/// The kind of the edge into the `j`-th node of a branch: a map edge if that node is
/// mapped, else `kind`.
fn into_branch_node(branch: &Branch, j: usize, kind: UserEdgeKind) -> UserEdgeKind {
    match branch.modes.get(j) {
        Some(Mode::Map { limit }) => UserEdgeKind::Map(limit.unwrap_or(DEFAULT_MAP_LIMIT)),
        _ => kind,
    }
}

/// The user nodes an edge out of step `i` leaves from: the node itself, the last node
/// of each branch of a fan-out, a map's worker.
fn user_exits(graph: &Graph, pos: &[Option<usize>], i: usize) -> Vec<Option<usize>> {
    match &graph.nodes[i].kind {
        Kind::Fan { branches, .. } => branches.iter().map(|b| pos[b.last()]).collect(),
        _ => user_entries(graph, pos, i),
    }
}

fn user_edges(graph: &Graph, pos: &[Option<usize>]) -> Vec<UserEdge> {
    let mut out = Vec::new();
    // Every pair of `from` × the user nodes `to` meets; an edge into a fan-out is a branch
    // and into a map a map edge, whatever its kind would otherwise be.
    // A branch that starts with a map, `([w; 4], b)`, is entered by a map edge.
    let mut add = |from: &[Option<usize>], to: Target, kind: UserEdgeKind| {
        let targets: Vec<(Option<usize>, UserEdgeKind)> = match to {
            Target::End => vec![(None, kind)],
            Target::Node(j) => match &graph.nodes[j].kind {
                Kind::Fan { branches, .. } => branches
                    .iter()
                    .map(|b| (pos[b.first()], into_branch_node(b, 0, UserEdgeKind::Branch)))
                    .collect(),
                Kind::Map { limit, .. } => user_entries(graph, pos, j)
                    .into_iter()
                    .map(|t| (t, UserEdgeKind::Map(limit.unwrap_or(DEFAULT_MAP_LIMIT))))
                    .collect(),
                _ => vec![(pos[j], kind)],
            },
        };
        for f in from {
            for (t, kind) in &targets {
                out.push(UserEdge {
                    from: *f,
                    to: *t,
                    kind: *kind,
                });
            }
        }
    };
    for e in &graph.entries {
        add(&[None], Target::Node(e.to), UserEdgeKind::Plain);
    }
    for (i, node) in graph.steps() {
        // Inside each branch of a fan-out, one node hands to the next.
        if let Kind::Fan { branches, .. } = &node.kind {
            for b in branches {
                for (j, pair) in b.nodes.windows(2).enumerate() {
                    let plain = match b.is_mapped(j) {
                        true => UserEdgeKind::Collect,
                        false => UserEdgeKind::Plain,
                    };
                    let kind = into_branch_node(b, j + 1, plain);
                    add(&[pos[pair[0]]], Target::Node(pair[1]), kind);
                }
            }
        }
        let exits = user_exits(graph, pos, i);
        let after = match node.kind {
            Kind::Fan { merge: true, .. } => UserEdgeKind::Merge,
            Kind::Fan { .. } => UserEdgeKind::Join,
            Kind::Map { .. } => UserEdgeKind::Collect,
            _ => UserEdgeKind::Plain,
        };
        for s in successors(graph, i) {
            match s.via {
                Via::Edge(_) => add(&exits, s.to, after),
                Via::Arm(r, a) => add(&exits, s.to, UserEdgeKind::Route(r, a)),
                Via::Error => {}
            }
        }
    }
    // Error edges, of steps and of the nodes inside fan-outs and maps alike.
    for (i, node) in graph.live_nodes() {
        if let Some(e) = &node.error_edge {
            out.push(UserEdge {
                from: pos[i],
                to: pos[e.handler],
                kind: UserEdgeKind::Error,
            });
        }
    }
    out
}
