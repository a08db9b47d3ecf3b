//! Procedural macros of `flow`. Use them through `flow-runtime`, which re-exports them.
use proc_macro::TokenStream;

/// Makes an `async fn` a node.
#[proc_macro_attribute]
pub fn node(_args: TokenStream, item: TokenStream) -> TokenStream {
    item
}

/// Settings of a flow.
#[proc_macro_attribute]
pub fn flow(_args: TokenStream, _item: TokenStream) -> TokenStream {
    TokenStream::new()
}

/// Declares a flow.
#[proc_macro]
pub fn graph(_input: TokenStream) -> TokenStream {
    TokenStream::new()
}

/// Implements `Provides<Field>` for each field.
#[proc_macro_derive(Deps)]
pub fn derive_deps(_input: TokenStream) -> TokenStream {
    TokenStream::new()
}
