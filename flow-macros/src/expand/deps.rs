//! `#[derive(Deps)]`: `Provides<Field>` for the type of every field.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Index};

use crate::diag::{Diagnostics, catalogue as msg};

pub fn expand_deps(cx: &mut Diagnostics, input: &DeriveInput) -> TokenStream {
    let Data::Struct(data) = &input.data else {
        cx.error(input.ident.span(), msg::deps_not_struct());
        return TokenStream::new();
    };
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let impls = data.fields.iter().enumerate().map(|(i, field)| {
        let ty = &field.ty;
        let access = match &field.ident {
            Some(name) => quote!(#name),
            None => {
                let index = Index::from(i);
                quote!(#index)
            }
        };
        quote! {
            impl #impl_generics ::typedflow::Provides<#ty> for #ident #ty_generics #where_clause {
                #[inline(always)]
                fn provide(&self) -> &#ty {
                    &self.#access
                }
            }
        }
    });
    quote!(#(#impls)*)
}
