//! Expansion: tokens from a validated model. No structural errors are reported here;
//! type errors are left to rustc through spanned bounds (see `flow.rs`).

pub mod deps;
pub mod diagram;
pub mod fallback;
pub mod flow;
pub mod merge;
pub mod node;
