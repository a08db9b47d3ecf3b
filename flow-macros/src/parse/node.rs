//! The signature of a `#[node]` function: its input, dependencies, context and result.
//!
//! Rules (DESIGN §3 row 12): a node is a free, non-generic `async fn`; it takes at most one
//! value (its input), any number of `&T` dependencies and optionally `&Context`; it
//! returns a value (infallible) or a `Result` (fallible: any type named `Result`, so
//! aliases such as `anyhow::Result<T>` work).

use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, FnArg, Ident, ReturnType, Signature, Type, Visibility};

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

/// The function under `#[node]`, read as far as the macro needs it: its visibility and
/// signature. The body is checked to be a block and not parsed (the function is emitted
/// as written, and rustc reads it): parsing every statement of every node was a
/// measurable part of a crate's compile time (docs/performance.md).
pub struct NodeItem {
    pub vis: Visibility,
    pub sig: Signature,
}

impl Parse for NodeItem {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        Attribute::parse_outer(input)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        input.step(|cursor| match cursor.group(proc_macro2::Delimiter::Brace) {
            Some((_, _, rest)) if rest.eof() => Ok(((), rest)),
            _ => Err(cursor.error(msg::node_not_fn())),
        })?;
        Ok(NodeItem { vis, sig })
    }
}

/// Reads a node's signature, reporting every unsupported part; `None` if there was one.
pub fn parse_node_sig(cx: &mut Diagnostics, item: &NodeItem) -> Option<NodeSig> {
    let sig = &item.sig;
    let fn_ok = check_fn(cx, sig);
    let params = parse_params(cx, sig);
    let output = parse_output(cx, sig);
    let (params, input) = params?;
    if !fn_ok {
        return None;
    }
    Some(NodeSig {
        vis: item.vis.clone(),
        ident: sig.ident.clone(),
        params,
        input,
        output: output?,
    })
}

/// The signature of a node `#[node]` rejected, read as far as it goes, for its stand-in
/// (see `expand::fallback`): the first by-value parameter is the input, references and
/// `impl Trait` parameters are left out, and a type that cannot be read (one naming a
/// generic parameter of the function, or `impl Trait`) is a name that resolves to
/// nothing: rustc drops "cannot find type" errors once a macro reported one (measured on
/// 1.95), and a type that failed to resolve silences every check involving it.
pub fn lenient_sig(item: &NodeItem) -> NodeSig {
    let sig = &item.sig;
    let generic = |ty: &Type| {
        let text = ty.to_token_stream().to_string();
        sig.generics.type_params().any(|p| {
            text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|word| p.ident == word)
        })
    };
    let unknown: Type = syn::parse_quote!(__FlowTypeOfRejectedNode);
    let input = sig.inputs.iter().find_map(|arg| match arg {
        FnArg::Typed(p) if !matches!(*p.ty, Type::Reference(_) | Type::ImplTrait(_)) => {
            Some(if generic(&p.ty) {
                unknown.clone()
            } else {
                (*p.ty).clone()
            })
        }
        _ => None,
    });
    let output = match &sig.output {
        ReturnType::Type(_, ty) if generic(ty) || matches!(**ty, Type::ImplTrait(_)) => {
            Output::Value(Some(unknown))
        }
        ReturnType::Type(_, ty) if is_result(ty) => Output::Result((**ty).clone()),
        ReturnType::Type(_, ty) => Output::Value(Some((**ty).clone())),
        ReturnType::Default => Output::Value(None),
    };
    NodeSig {
        vis: item.vis.clone(),
        ident: sig.ident.clone(),
        params: input.iter().map(|_| Param::Input).collect(),
        input,
        output,
    }
}

/// A node is a free, non-generic, safe `async fn` with the Rust ABI.
fn check_fn(cx: &mut Diagnostics, sig: &Signature) -> bool {
    let mut ok = true;
    let mut report = |cx: &mut Diagnostics, tokens: &dyn ToTokens, message| {
        cx.error_spanned(tokens, message);
        ok = false;
    };
    if sig.asyncness.is_none() {
        report(
            cx,
            &sig.fn_token,
            msg::node_not_async(&sig.ident.to_string()),
        );
    }
    if let Some(c) = &sig.constness {
        report(cx, c, msg::node_const());
    }
    if let Some(abi) = &sig.abi {
        report(cx, abi, msg::node_extern());
    }
    if let syn::Safety::Unsafe(u) = &sig.safety {
        report(cx, u, msg::node_unsafe());
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        report(cx, &sig.generics, msg::node_generic());
    }
    if let Some(v) = &sig.variadic {
        report(cx, v, msg::node_variadic());
    }
    ok
}

/// The parameters: one input value at most, `&T` dependencies, `&Context`.
fn parse_params(cx: &mut Diagnostics, sig: &Signature) -> Option<(Vec<Param>, Option<Type>)> {
    let mut ok = true;
    let mut params = Vec::new();
    let mut input: Option<Type> = None;
    for arg in &sig.inputs {
        let pat_ty = match arg {
            FnArg::Receiver(recv) => {
                cx.error_spanned(recv, msg::node_method());
                ok = false;
                continue;
            }
            FnArg::Typed(pat_ty) => pat_ty,
        };
        let param = match &*pat_ty.ty {
            Type::Reference(r) if r.mutability.is_some() => {
                Err((r.mutability.to_token_stream(), msg::node_mut_param()))
            }
            Type::Reference(r) if is_context(&r.elem) => Ok(Param::Context),
            // `&str` cannot be a dependency (no flow holds a `str`): it was meant as the
            // input, which a node takes by value.
            Type::Reference(r) if owned_of(&r.elem).is_some() => {
                let written = pat_ty.ty.to_token_stream();
                let owned = owned_of(&r.elem).unwrap_or_default();
                Err((
                    written.clone(),
                    msg::node_reference_input(&type_text(&written), &owned),
                ))
            }
            Type::Reference(r) => Ok(Param::Dep(r.elem.clone())),
            Type::ImplTrait(t) => Err((t.to_token_stream(), msg::node_impl_trait_param())),
            _ if input.is_some() => Err((pat_ty.to_token_stream(), msg::node_second_input())),
            ty if contains_infer_lifetime(ty) => {
                Err((ty.to_token_stream(), msg::node_borrowed_input()))
            }
            ty => {
                input = Some(ty.clone());
                Ok(Param::Input)
            }
        };
        match param {
            Ok(param) => params.push(param),
            Err((tokens, message)) => {
                cx.error_spanned(tokens, message);
                ok = false;
            }
        }
    }
    ok.then_some((params, input))
}

/// The return type: a value (infallible) or a `Result` (fallible); not `impl Trait`.
fn parse_output(cx: &mut Diagnostics, sig: &Signature) -> Option<Output> {
    match &sig.output {
        ReturnType::Default => Some(Output::Value(None)),
        ReturnType::Type(_, ty) => match &**ty {
            Type::ImplTrait(t) => {
                cx.error_spanned(t, msg::node_returns_impl_trait());
                None
            }
            ty if is_result(ty) => Some(Output::Result(ty.clone())),
            ty => Some(Output::Value(Some(ty.clone()))),
        },
    }
}

/// The owned type of an unsized one a node might take by reference: `str` -> `String`,
/// `[T]` -> `Vec<T>`, `Path` -> `PathBuf`, `dyn Trait` -> `Box<dyn Trait>`.
fn owned_of(ty: &Type) -> Option<String> {
    let owned = match ty {
        Type::Slice(s) => format!("Vec<{}>", type_text(&s.elem.to_token_stream())),
        Type::TraitObject(_) => format!("Box<{}>", type_text(&ty.to_token_stream())),
        Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last()?;
            match last.ident.to_string().as_str() {
                "str" => "String".to_owned(),
                "Path" => "PathBuf".to_owned(),
                "OsStr" => "OsString".to_owned(),
                "CStr" => "CString".to_owned(),
                _ => return None,
            }
        }
        _ => return None,
    };
    Some(owned)
}

/// A type as written: `&[u8]`, `Vec<u8>`, `dyn Fn()`.
fn type_text(tokens: &proc_macro2::TokenStream) -> String {
    tokens
        .to_string()
        .replace(" < ", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace("& ", "&")
        .replace("[ ", "[")
        .replace(" ]", "]")
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
