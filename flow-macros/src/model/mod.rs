//! The resolved graph: a node table and the edges between its entries, each keeping the
//! user's tokens for error spans and generated code, and the read-only queries every
//! later stage asks of it.
//!
//! `resolve` builds it (one function per statement kind), `typos` reads a dead-end name
//! that looks like another node's as that node, `variants` names the state enum's
//! variants, and `index` computes once what the queries answer: the successors of each
//! step, the position of each node of the user's, the edge list the user sees. No later
//! stage computes adjacency itself.
//!
//! One word per concept, as in the DSL and the docs: an *error edge* (`a !-> h;`) leads
//! from a node to its *handler*; a handler inside a fan-out or a map runs in the failed
//! node's place.

mod header;
mod index;
mod interrupts;
mod resolve;
mod typos;
mod variants;

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{Attribute, Ident, LitStr, Path, Token, Type, Visibility, token};

use crate::parse::value::DurationLit;

pub use index::{UserEdge, UserEdgeKind};
pub use resolve::resolve;

pub struct Graph {
    pub docs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    /// The flow's name as shown at run time (`#[flow(name = ..)]` or the type's name).
    pub display_name: LitStr,
    pub input: Type,
    pub output: Type,
    pub max_steps: Option<u32>,
    /// Where `max_steps` was written.
    pub max_steps_span: Option<Span>,
    pub timeout: Option<DurationLit>,
    pub deps: Option<Type>,
    /// `#[flow(local)]`: the flow runs on one thread, so its run future need not be
    /// `Send`; otherwise every node's future is checked to be.
    pub local: bool,
    /// `#[flow(durable)]`: every step's input, the flow's input and its output are
    /// checked serializable, and the flow can checkpoint and resume its runs.
    pub durable: bool,
    pub nodes: Vec<Node>,
    pub entries: Vec<Entry>,
    pub edges: Vec<Edge>,
    pub routes: Vec<Route>,
    /// What the queries answer, computed once the table is final.
    index: index::Index,
}

pub struct Node {
    /// The name as first written in the graph (for a fan-out or map, its first node).
    pub name: Ident,
    /// The node type: the name itself, or the path an alias names.
    pub ty: Path,
    /// The state enum's variant for this node.
    pub variant: Ident,
    /// Set when the name was a typo of another node's name; such a node is not used.
    pub merged_into: Option<usize>,
    pub kind: Kind,
    /// `name !-> handler;`
    pub error_edge: Option<ErrorEdge>,
    /// `interrupt name: Question => Answer;`: the question's and the answer's types. The
    /// node's type is then the runtime's `Interrupt<Question, Answer>`, and its step
    /// stops the run rather than call it.
    pub interrupt: Option<(Type, Type)>,
}

/// What a node table entry is.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Kind {
    /// A node run as a step of its own, with a state variant.
    Step,
    /// A branch of a fan-out: runs inside the fan's step.
    Branch { fan: usize },
    /// The worker of a map: runs inside the map's step, once per item.
    Worker { map: usize },
    /// The handler of a failed branch or map item: runs in its place.
    Handler { of: usize },
    /// A fan-out group `(a, b -> c, ..)` (or `{a, b, ..}`, merged), a step of its own;
    /// not a node of the user's.
    Fan { branches: Vec<Branch>, merge: bool },
    /// A map `[worker; limit]`, a step of its own; not a node of the user's.
    Map { worker: usize, limit: Option<u32> },
}

impl Kind {
    /// Whether the entry runs as a step of the state machine (has a state variant).
    pub fn is_step(&self) -> bool {
        matches!(self, Kind::Step | Kind::Fan { .. } | Kind::Map { .. })
    }

    /// Whether the entry is a node of the user's (has a node type and a `NodeInfo`).
    pub fn is_user_node(&self) -> bool {
        !matches!(self, Kind::Fan { .. } | Kind::Map { .. })
    }
}

/// One branch of a fan-out: its nodes, run one after the other, the arrows between them
/// (one fewer than the nodes), and how each node runs.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Branch {
    pub nodes: Vec<usize>,
    pub arrows: Vec<Token![->]>,
    /// One per node: once on the value handed to it, or mapped over it (`[w; 4]`).
    pub modes: Vec<Mode>,
}

/// How a node of a fan-out's branch runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// Once, on the value handed to it.
    Once,
    /// `[w; limit]`: once per item of the collection handed to it, at most `limit` at once
    /// (the default when `None`); what it hands on is the `Vec` of its outputs, in order.
    Map { limit: Option<u32> },
}

impl Branch {
    /// The node that takes the branch's input.
    pub fn first(&self) -> usize {
        self.nodes[0]
    }

    /// The node whose output is the branch's.
    pub fn last(&self) -> usize {
        self.nodes[self.nodes.len() - 1]
    }

    /// Whether the branch's `j`-th node is mapped over what it is handed.
    pub fn is_mapped(&self, j: usize) -> bool {
        matches!(self.modes.get(j), Some(Mode::Map { .. }))
    }

    /// The branch's nodes as written: `a -> [w] -> c`.
    pub fn describe(&self, nodes: &[Node]) -> String {
        let names: Vec<String> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(j, k)| match self.is_mapped(j) {
                true => format!("[{}]", nodes[*k].name),
                false => nodes[*k].name.to_string(),
            })
            .collect();
        names.join(" -> ")
    }
}

/// `node !-> handler;`
pub struct ErrorEdge {
    pub handler: usize,
    pub handler_ident: Ident,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Target {
    Node(usize),
    End,
}

/// `START -> node`
pub struct Entry {
    pub start: Ident,
    pub to: usize,
    pub to_ident: Ident,
}

/// `from -> to`
pub struct Edge {
    pub from: usize,
    pub from_ident: Ident,
    pub arrow: Token![->],
    pub to: Target,
    pub to_ident: Ident,
}

/// `from => { arms }`
pub struct Route {
    pub from: usize,
    pub from_ident: Ident,
    pub fat_arrow: Token![=>],
    pub brace: token::Brace,
    pub arms: Vec<Arm>,
}

/// `Enum::Variant -> to`, or `Enum::Variant { a, b } -> to`
pub struct Arm {
    pub variant: Path,
    /// The named fields written after the variant, if any (`{}` for a unit variant).
    pub fields: Option<Vec<Ident>>,
    /// Whether fields are left out (`{ draft, .. }`, `{ draft: _ }`).
    pub rest: bool,
    /// `true -> to`: a value written where a variant goes (a mistake the expansion
    /// reports with the type the routed node returns).
    pub value: Option<syn::Lit>,
    pub arrow: Token![->],
    pub to: Target,
    pub to_ident: Ident,
}

/// A way from one step to the next, as written: which statement leads there.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Via {
    /// `graph.edges[k]`
    Edge(usize),
    /// `graph.routes[r].arms[a]`
    Arm(usize, usize),
    /// The step's error edge.
    Error,
}

/// A successor of a step.
#[derive(Clone, Copy, Debug)]
pub struct Succ {
    pub to: Target,
    pub via: Via,
}

/// How a step's output goes on: its one plain edge, or its one route block.
pub enum WayOn<'a> {
    Edge(&'a Edge),
    Route(&'a Route),
}

impl Graph {
    /// The nodes that are used (not typos read as another node), with their indices.
    pub fn live_nodes(&self) -> impl Iterator<Item = (usize, &Node)> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.merged_into.is_none())
    }

    /// The steps of the state machine, in the order they were written.
    pub fn steps(&self) -> impl Iterator<Item = (usize, &Node)> {
        self.live_nodes().filter(|(_, n)| n.kind.is_step())
    }

    /// The nodes of the user's (each with a `NodeInfo`), in `GRAPH.nodes` order.
    pub fn user_nodes(&self) -> impl Iterator<Item = (usize, &Node)> {
        self.live_nodes().filter(|(_, n)| n.kind.is_user_node())
    }

    /// The position of node `i` among the user nodes (`GRAPH.nodes`, the node-state
    /// tuple), if it is one.
    pub fn position(&self, i: usize) -> Option<usize> {
        self.index.pos[i]
    }

    /// Where step `i` can go next: its plain edges, its route arms and its error edge, in
    /// that order. Nodes that run inside a fan-out or a map have none of their own.
    pub fn successors(&self, i: usize) -> &[Succ] {
        &self.index.succ[i]
    }

    /// The tokens of the statement a successor comes from, for an error spanned on it.
    pub fn via_tokens(&self, i: usize, via: Via) -> TokenStream {
        match via {
            Via::Edge(k) => {
                let e = &self.edges[k];
                let (from, arrow, to) = (&e.from_ident, &e.arrow, &e.to_ident);
                quote!(#from #arrow #to)
            }
            Via::Arm(r, a) => {
                let a = &self.routes[r].arms[a];
                let (variant, arrow, to) = (&a.variant, &a.arrow, &a.to_ident);
                quote!(#variant #arrow #to)
            }
            Via::Error => match &self.nodes[i].error_edge {
                Some(e) => {
                    let to = &e.handler_ident;
                    quote!(#to)
                }
                None => TokenStream::new(),
            },
        }
    }

    /// The plain edges written out of node `i`.
    pub fn edges_from(&self, i: usize) -> impl Iterator<Item = &Edge> {
        self.edges.iter().filter(move |e| e.from == i)
    }

    /// The route blocks written for node `i`.
    pub fn routes_from(&self, i: usize) -> impl Iterator<Item = &Route> {
        self.routes.iter().filter(move |r| r.from == i)
    }

    /// The one way on of step `i`: its first plain edge, else its first route block.
    /// (More than one is reported by validation.)
    pub fn way_on(&self, i: usize) -> Option<WayOn<'_>> {
        match self.edges_from(i).next() {
            Some(e) => Some(WayOn::Edge(e)),
            None => self.routes_from(i).next().map(WayOn::Route),
        }
    }

    /// Whether node `i` has a way on; nodes inside a fan-out or a map go on with it.
    pub fn has_way_on(&self, i: usize) -> bool {
        !self.nodes[i].kind.is_step() || self.way_on(i).is_some()
    }

    /// The steps with a plain edge into step `i`.
    pub fn predecessors(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.edges
            .iter()
            .filter(move |e| e.to == Target::Node(i))
            .map(|e| e.from)
    }

    /// The steps that can reach `END`; a dead end counts as able (its own error is enough).
    pub fn can_end(&self) -> Vec<bool> {
        let n = self.nodes.len();
        let mut can: Vec<bool> = (0..n).map(|i| !self.has_way_on(i)).collect();
        loop {
            let mut changed = false;
            for i in 0..n {
                if !can[i]
                    && self.successors(i).iter().any(|s| match s.to {
                        Target::End => true,
                        Target::Node(j) => can[j],
                    })
                {
                    can[i] = true;
                    changed = true;
                }
            }
            if !changed {
                return can;
            }
        }
    }

    /// Whether some step can be reached again from itself.
    pub fn has_cycle(&self) -> bool {
        self.index.cyclic
    }

    /// The edges between nodes of the user's, as the description and diagrams show them.
    pub fn user_edges(&self) -> &[UserEdge] {
        &self.index.user_edges
    }

    /// The route arm `graph.routes[r].arms[a]`.
    pub fn arm(&self, r: usize, a: usize) -> &Arm {
        &self.routes[r].arms[a]
    }

    /// A span covering a route arm.
    pub fn arm_span(arm: &Arm) -> Span {
        let first = arm
            .variant
            .segments
            .first()
            .map_or(arm.arrow.spans[0], |s| s.ident.span());
        first.join(arm.to_ident.span()).unwrap_or(first)
    }

    /// How step `i` is named in errors: its node, `(a, b)` for a fan-out, `[w]` for a map.
    pub fn step_name(&self, i: usize) -> String {
        match &self.nodes[i].kind {
            Kind::Fan { branches, .. } => {
                let names: Vec<String> = branches.iter().map(|b| b.describe(&self.nodes)).collect();
                format!("({})", names.join(", "))
            }
            Kind::Map { worker, .. } => format!("[{}]", self.nodes[*worker].name),
            _ => self.nodes[i].name.to_string(),
        }
    }
}
