//! Futures that move between threads: unless the flow is `#[flow(local)]`, the future of
//! every node call is checked to be `Send`, spanned on the node's name in the graph, so a
//! node holding an `Rc` across an `.await` is one error on that node, not an error at the
//! user's `tokio::spawn` far away.

use proc_macro2::TokenStream;
use quote::quote_spanned;

use super::Cx;

impl Cx<'_> {
    /// `future`, a call of user node `k`, through the `Send` check of a flow that is not
    /// local (an inlined identity); as it is in a local flow.
    pub(super) fn send_checked(&self, k: usize, future: TokenStream) -> TokenStream {
        if self.graph.local {
            return future;
        }
        let at = self.graph.nodes[k].name.span();
        let ty = self.ty_at(k, at);
        // Every token on the node's name, as the call's: a flow lacking the node's
        // dependencies is then told once, not again for this check of the same call.
        Self::check(at, "SendNode", quote_spanned!(at=> #ty, _), "check", future)
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use crate::diag::Diagnostics;
    use crate::parse::args::FlowArgs;

    /// The expansion of a two-node flow, local or not.
    fn expansion(local: bool) -> String {
        let mut cx = Diagnostics::default();
        let input = crate::parse::graph::parse_graph(
            &mut cx,
            quote!(Essay(String) -> usize { START -> outline -> count -> END; }),
        )
        .expect("a valid graph");
        let args = FlowArgs {
            local,
            ..FlowArgs::default()
        };
        let graph = crate::model::resolve(&mut cx, input, args);
        assert!(cx.messages().is_empty());
        super::super::expand_flow(&graph).to_string()
    }

    #[test]
    fn every_node_call_is_checked_send_unless_the_flow_is_local() {
        let checked = expansion(false);
        assert_eq!(
            checked.matches("SendNode < outline").count(),
            1,
            "{checked}"
        );
        assert_eq!(checked.matches("SendNode < count").count(), 1, "{checked}");
        assert!(!expansion(true).contains("SendNode"));
    }
}
