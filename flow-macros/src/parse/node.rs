//! The signature of a `#[node]` function: its input, dependencies, context and result.
//!
//! Rules (DESIGN §3 row 12): a node is a free, non-generic `async fn`; it takes at most one
//! value (its input), any number of `&T` dependencies and optionally `&Context`; it
//! returns a value (infallible) or a `Result` (fallible: any type named `Result`, so
//! aliases such as `anyhow::Result<T>` work).

use syn::{FnArg, Ident, ItemFn, ReturnType, Type, Visibility};

use crate::diag::{Diagnostics, catalogue as msg};

/// A node function, read from its signature.
pub struct NodeSig {
    pub vis: Visibility,
    pub ident: Ident,
    pub params: Vec<Param>,
    pub input: Option<Type>,
    pub output: Output,
}

/// One parameter, in declaration order.
pub enum Param {
    Input,
    Dep(Box<Type>),
    Context,
}

/// What the function returns.
pub enum Output {
    /// `-> T` or nothing.
    Value(Option<Type>),
    /// `-> Result<T, E>` (or an alias named `Result`).
    Result(Type),
}

/// Reads a node's signature, reporting every unsupported part.
pub fn parse_node_sig(cx: &mut Diagnostics, item: &ItemFn) -> Option<NodeSig> {
    let sig = &item.sig;
    let before = cx.has_errors();
    if sig.asyncness.is_none() {
        cx.error(
            sig.fn_token.span,
            msg::node_not_async(&sig.ident.to_string()),
        );
    }
    if let Some(c) = &sig.constness {
        cx.error(c.span, msg::node_const());
    }
    if let Some(abi) = &sig.abi {
        cx.error_spanned(abi, msg::node_extern());
    }
    if let syn::Safety::Unsafe(u) = &sig.safety {
        cx.error(u.span, msg::node_unsafe());
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        cx.error_spanned(&sig.generics, msg::node_generic());
    }
    if let Some(v) = &sig.variadic {
        cx.error_spanned(v, msg::node_variadic());
    }
    let mut params = Vec::new();
    let mut input: Option<Type> = None;
    for arg in &sig.inputs {
        let pat_ty = match arg {
            FnArg::Receiver(recv) => {
                cx.error_spanned(recv, msg::node_method());
                continue;
            }
            FnArg::Typed(pat_ty) => pat_ty,
        };
        match &*pat_ty.ty {
            Type::Reference(r) => {
                if let Some(m) = &r.mutability {
                    cx.error(m.span, msg::node_mut_param());
                } else if is_context(&r.elem) {
                    params.push(Param::Context);
                } else {
                    params.push(Param::Dep(r.elem.clone()));
                }
            }
            Type::ImplTrait(t) => cx.error_spanned(t, msg::node_impl_trait_param()),
            ty => {
                if input.is_some() {
                    cx.error_spanned(pat_ty, msg::node_second_input());
                    continue;
                }
                if contains_infer_lifetime(ty) {
                    cx.error_spanned(ty, msg::node_borrowed_input());
                    continue;
                }
                input = Some(ty.clone());
                params.push(Param::Input);
            }
        }
    }
    let output = match &sig.output {
        ReturnType::Default => Output::Value(None),
        ReturnType::Type(_, ty) => {
            if let Type::ImplTrait(t) = &**ty {
                cx.error_spanned(t, msg::node_returns_impl_trait());
            }
            if is_result(ty) {
                Output::Result((**ty).clone())
            } else {
                Output::Value(Some((**ty).clone()))
            }
        }
    };
    if cx.has_errors() && !before {
        return None;
    }
    Some(NodeSig {
        vis: item.vis.clone(),
        ident: sig.ident.clone(),
        params,
        input,
        output,
    })
}

/// `Context`, `typedflow::Context` or `::typedflow::Context`.
fn is_context(ty: &Type) -> bool {
    match ty {
        Type::Path(p) if p.qself.is_none() => p
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "Context" && s.arguments.is_none()),
        _ => false,
    }
}

fn is_result(ty: &Type) -> bool {
    match ty {
        Type::Path(p) if p.qself.is_none() => {
            p.path.segments.last().is_some_and(|s| s.ident == "Result")
        }
        _ => false,
    }
}

fn contains_infer_lifetime(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'ast> syn::visit::Visit<'ast> for Finder {
        fn visit_lifetime(&mut self, l: &'ast syn::Lifetime) {
            if l.ident != "static" {
                self.0 = true;
            }
        }
        fn visit_type_reference(&mut self, r: &'ast syn::TypeReference) {
            match &r.lifetime {
                Some(l) if l.ident == "static" => {}
                _ => self.0 = true,
            }
            syn::visit::visit_type_reference(self, r);
        }
    }
    let mut f = Finder(false);
    syn::visit::Visit::visit_type(&mut f, ty);
    f.0
}
