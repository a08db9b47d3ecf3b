//! What `graph!` emits when the graph has errors: the errors, plus a flow type with the
//! right name and signatures, so uses of `Essay::new(..)` and `.run(..)` elsewhere do not
//! add errors of their own while the graph is being fixed. And what `#[node]` emits beside
//! the function when its signature or arguments have errors: a stand-in node type.
//!
//! It cannot also make rustc report node names that are not in scope: measured on rustc
//! 1.95, once any macro of the crate emitted `compile_error!`, rustc still type-checks
//! (a mismatched `let` is reported) but drops every "cannot find type/value" error, even
//! for names used in a graph that expanded without errors.

use proc_macro2::TokenStream;
use quote::quote;

use crate::parse::graph::GraphInput;

/// The stand-in for a node `#[node]` rejected: a node of the same name and, as far as
/// the signature can be read, the same input and output types, with no policies and no
/// dependencies, so a graph using it reports nothing more (rustc type-checks the graph
/// even after the macro's error). It is never run: the crate does not compile. A method
/// gets none: a type cannot be declared inside an `impl` block.
pub fn expand_node_stand_in(func: &syn::ItemFn) -> TokenStream {
    if func.sig.receiver().is_some() {
        return TokenStream::new();
    }
    let sig = crate::parse::node::lenient_sig(func);
    crate::expand::node::expand_stand_in(&sig)
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
            pub async fn run(
                &self,
                input: #in_ty,
            ) -> ::core::result::Result<#output, ::typedflow::FlowError> {
                ::core::unreachable!("the flow did not compile")
            }

            pub async fn run_with<R>(
                &self,
                input: #in_ty,
                hook: R,
            ) -> ::core::result::Result<#output, ::typedflow::FlowError> {
                ::core::unreachable!("the flow did not compile")
            }
        }
    }
}
