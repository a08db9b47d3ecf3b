//! The header's types (`Name(Input) -> Output`, and `deps = ..`) as the generated code
//! names them: a type written as the bare name `H` would be read there as the flow's
//! hook parameter (`Name<H = NoHook>`), which the public impls keep for their rustdoc.

use syn::Type;

use super::Graph;
use crate::diag::{Diagnostics, catalogue as msg};

/// Reports each header type written as the bare name `H`.
pub(super) fn check(cx: &mut Diagnostics, graph: &Graph) {
    let types = [Some(&graph.input), Some(&graph.output), graph.deps.as_ref()];
    for ty in types.into_iter().flatten() {
        if let Type::Path(p) = ty
            && p.qself.is_none()
            && p.path.is_ident("H")
        {
            cx.error_spanned(ty, msg::type_named_like_hook());
        }
    }
}
