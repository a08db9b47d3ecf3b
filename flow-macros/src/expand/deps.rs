//! `#[derive(Deps)]`: `Provides<Field>` for the type of every field.

use proc_macro2::TokenStream;
use quote::quote;

use crate::parse::derive::DeriveStruct;

pub fn expand_deps(input: &DeriveStruct) -> TokenStream {
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let impls = input.fields.iter().map(|field| {
        let (ty, access) = (&field.ty, &field.access);
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
