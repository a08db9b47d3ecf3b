//! What `graph!` emits when the graph has errors: the errors, plus a flow type with the
//! right name and signatures, so uses of `Essay::new(..)` and `.run(..)` elsewhere do not
//! add errors of their own while the graph is being fixed.
//!
//! It cannot also make rustc report node names that are not in scope: rustc stops after
//! macro expansion when a macro reported an error, before it resolves names.

use proc_macro2::TokenStream;
use quote::quote;

use crate::parse::graph::GraphInput;

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
        }
    }
}
