//! Parsing: syntax only, no check across items.

pub mod args;
pub mod derive;
pub mod graph;
pub mod node;
pub mod value;
