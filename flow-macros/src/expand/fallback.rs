//! What `graph!` emits when the graph has errors: the errors, plus a flow type with the
//! right name and signatures, so uses of `Essay::new(..)` and `.run(..)` elsewhere do not
//! add errors of their own while the graph is being fixed. And what `#[node]` emits beside
//! the function when its signature or arguments have errors: a stand-in node type.
//!
//! With it, `graph!` names each node's type once (`node_names`), so that rustc reports
//! every name that is not in scope in the same build as the graph's errors; this works
//! because those errors are failing type checks, not `compile_error!`s (see `diag`).
//! A rejected `#[node]` does emit `compile_error!`: its stand-in may then name a type that
//! does not exist, which rustc no longer reports.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use crate::model::Graph;
use crate::parse::graph::GraphInput;

/// The stand-in for a node `#[node]` rejected: a node of the same name and, as far as
/// the signature can be read, the same input and output types, with no policies and no
/// dependencies, so a graph using it reports nothing more (rustc type-checks the graph
/// even after the macro's error). It is never run: the crate does not compile. A method
/// gets none: a type cannot be declared inside an `impl` block.
pub fn expand_node_stand_in(func: &crate::parse::node::NodeItem) -> TokenStream {
    if func.sig.receiver().is_some() {
        return TokenStream::new();
    }
    let sig = crate::parse::node::lenient_sig(func);
    crate::expand::node::expand_stand_in(&sig)
}

/// One use of each node's type, on its name in the graph: a name not in scope is then
/// rustc's "cannot find type `h2` in this scope", with the similar names it knows.
pub fn node_names(graph: &Graph) -> TokenStream {
    let nodes = graph.nodes.iter().filter(|n| n.kind.is_user_node());
    nodes
        .map(|node| {
                        let span = node.name.span();
            let ty = &node.ty;
            quote_spanned! {span=>
                const _: () = {
                    // A `static` takes no generics: rustc suggests none for an unknown name.
                    static NAMED: () = <::typedflow::checks::Graph as ::typedflow::__private::Named<#ty>>::NAMED;
                };
            }
        })
        .collect()
}

pub fn expand_fallback(input: &GraphInput, deps: Option<&syn::Type>) -> TokenStream {
    let GraphInput {
        vis,
        name,
        input: in_ty,
        output,
        ..
    } = input;
    let deps = match deps {
        Some(ty) => quote!(#ty),
        None => quote!(()),
    };
    quote! {
        #[allow(dead_code)]
        #vis struct #name<H = ::typedflow::NoHook>(::core::marker::PhantomData<H>);

        #[allow(dead_code, unused_variables)]
        impl #name {
            pub const NAME: &'static str = "";
            pub const MERMAID: &'static str = "";
            pub const DOT: &'static str = "";
            pub fn new(deps: #deps) -> Self {
                ::core::unreachable!("the flow did not compile")
            }
        }

        #[allow(dead_code, unused_variables)]
        impl<H> #name<H> {
            pub fn run(&self, input: #in_ty) -> ::typedflow::__private::Unbuilt<#output> {
                ::core::unreachable!("the flow did not compile")
            }
            pub fn resume<C>(
                &self,
                store: &C,
                run_id: ::typedflow::RunId,
            ) -> ::typedflow::__private::Unbuilt<#output> {
                ::core::unreachable!("the flow did not compile")
            }
            pub fn fork<C>(
                &self,
                store: &C,
                run_id: ::typedflow::RunId,
                step: u32,
            ) -> ::typedflow::__private::Unbuilt<#output> {
                ::core::unreachable!("the flow did not compile")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    /// A node `#[node]` rejects still declares a node of its name, with the types it can
    /// read and a name that resolves to nothing for those it cannot; a method gets none.
    #[test]
    fn a_rejected_node_has_a_stand_in() {
        let not_async = crate::node_impl(
            quote!(),
            quote!(
                fn outline(t: String) -> u32 {
                    0
                }
            ),
        );
        let text = not_async.to_string();
        assert!(text.contains("compile_error"), "{text}");
        assert!(text.contains("enum outline"), "{text}");
        assert!(text.contains("type Input = String"), "{text}");
        assert!(text.contains("type Output = u32"), "{text}");

        let generic = crate::node_impl(
            quote!(),
            quote!(
                async fn echo<T>(v: T) -> T {
                    v
                }
            ),
        );
        let text = generic.to_string();
        assert!(text.contains("enum echo"), "{text}");
        assert!(
            text.contains("type Input = __FlowTypeOfRejectedNode"),
            "{text}"
        );

        let bad_policy = crate::node_impl(
            quote!(retry(attempts = "3")),
            quote!(
                async fn fetch(url: String, http: &Http) -> Result<String, E> {
                    Ok(url)
                }
            ),
        );
        let text = bad_policy.to_string();
        assert!(text.contains("enum fetch"), "{text}");
        assert!(
            !text.contains("Dependency"),
            "a stand-in takes no dependencies: {text}"
        );

        let method = crate::node_impl(
            quote!(),
            quote!(
                async fn write(&self, t: String) {}
            ),
        );
        assert!(!method.to_string().contains("enum"), "{method}");
    }
}
