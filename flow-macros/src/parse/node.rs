//! The signature of a `#[node]` function: its input, dependencies, context and result.
//!
//! Rules (DESIGN §3 row 12): a node is a free, non-generic `async fn`; it takes at most one
//! value (its input), any number of `&T` dependencies and optionally `&Context`; it
//! returns a value (infallible) or a `Result` (fallible: any type named `Result`, so
//! aliases such as `anyhow::Result<T>` work).

use syn::{FnArg, Ident, ItemFn, ReturnType, Type, Visibility};

use crate::diag::Diagnostics;

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
            format!(
                "`#[node]` needs an `async fn`; write `async fn {}`",
                sig.ident
            ),
        );
    }
    if let Some(c) = &sig.constness {
        cx.error(c.span, "a node cannot be a `const fn`; remove `const`");
    }
    if let Some(abi) = &sig.abi {
        cx.error_spanned(abi, "a node cannot have an `extern` ABI; remove it");
    }
    if let syn::Safety::Unsafe(u) = &sig.safety {
        cx.error(
            u.span,
            "a node cannot be an `unsafe fn`; make it safe and keep `unsafe` blocks inside",
        );
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        cx.error_spanned(
            &sig.generics,
            "a node cannot be generic: the graph needs one concrete input and output type; write a node per type, or make the input an enum",
        );
    }
    if let Some(v) = &sig.variadic {
        cx.error_spanned(v, "a node cannot be variadic");
    }
    let mut params = Vec::new();
    let mut input: Option<Type> = None;
    for arg in &sig.inputs {
        let pat_ty = match arg {
            FnArg::Receiver(recv) => {
                cx.error_spanned(
                    recv,
                    "`#[node]` cannot be used on a method: a node is a free `async fn`; move it out of the `impl` block and take what `self` holds as a `&T` dependency",
                );
                continue;
            }
            FnArg::Typed(pat_ty) => pat_ty,
        };
        match &*pat_ty.ty {
            Type::Reference(r) => {
                if let Some(m) = &r.mutability {
                    cx.error(
                        m.span,
                        "a node cannot take `&mut`: dependencies are shared by concurrent runs; take `&T` and use a `Mutex` or atomics inside",
                    );
                } else if is_context(&r.elem) {
                    params.push(Param::Context);
                } else {
                    params.push(Param::Dep(r.elem.clone()));
                }
            }
            Type::ImplTrait(t) => cx.error_spanned(
                t,
                "a node cannot take `impl Trait`: its input must be one concrete type; name the type",
            ),
            ty => {
                if input.is_some() {
                    cx.error_spanned(
                        pat_ty,
                        "a node takes one input value, and this is a second; put the values in a struct or a tuple, or take shared values as `&T` dependencies",
                    );
                    continue;
                }
                if contains_infer_lifetime(ty) {
                    cx.error_spanned(
                        ty,
                        "a node's input cannot borrow: it is moved from node to node; use an owned type",
                    );
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
                cx.error_spanned(t, "a node cannot return `impl Trait`: name the type");
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
