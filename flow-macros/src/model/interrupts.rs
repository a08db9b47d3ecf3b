//! `interrupt name: Question => Answer;`: a step where a durable run stops to ask a
//! question. It is resolved as a node whose type is the runtime's
//! `Interrupt<Question, Answer>` (so every check
//! of what goes in and out of it is a node's), then marked, and checked to be where a run
//! can wait: in a durable flow, as a step of its own, without an error edge.

use syn::{Ident, Type};

use super::{Graph, Kind};
use crate::diag::{Diagnostics, catalogue as msg};
use crate::parse::graph::{Alias, Interrupt, Stmt};

/// An interrupt declared in the graph: keyword, name, question and answer.
pub(super) type Declared = (Ident, Ident, (Type, Type));

/// The interrupts declared in the graph.
pub(super) fn declared(stmts: &[Stmt]) -> Vec<Declared> {
    stmts
        .iter()
        .filter_map(|s| match s {
            Stmt::Interrupt(i) => Some((
                i.keyword.clone(),
                i.name.clone(),
                (i.question.clone(), i.answer.clone()),
            )),
            _ => None,
        })
        .collect()
}

/// The interrupt as the alias of its node type: `node review = Interrupt<Approval, bool>;`.
pub(super) fn as_alias(i: &Interrupt) -> Alias {
    let (question, answer) = (&i.question, &i.answer);
    Alias {
        name: i.name.clone(),
        path: syn::parse_quote_spanned!(i.name.span()=> ::typedflow::durable::Interrupt<#question, #answer>),
    }
}

/// Marks the nodes of the declared interrupts, and reports one that is not where a run
/// can wait.
pub(super) fn mark(cx: &mut Diagnostics, graph: &mut Graph, interrupts: Vec<Declared>) {
    for (keyword, name, question) in interrupts {
        let text = name.to_string();
        if !graph.durable {
            cx.error(keyword.span(), msg::interrupt_needs_durable(&text));
        }
        for node in graph.nodes.iter_mut().filter(|n| n.name == name) {
            match node.kind {
                Kind::Step | Kind::Fan { .. } | Kind::Map { .. } => {}
                Kind::Branch { .. } | Kind::Worker { .. } | Kind::Handler { .. } => {
                    cx.error(node.name.span(), msg::interrupt_inside(&text));
                }
            }
            if let Some(e) = &node.error_edge {
                cx.error(e.handler_ident.span(), msg::interrupt_error_edge(&text));
            }
            if node.kind == Kind::Step {
                node.interrupt = Some(question.clone());
            }
        }
    }
}
