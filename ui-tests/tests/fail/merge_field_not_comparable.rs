use typedflow::prelude::*;

#[derive(Clone)]
struct Handle;

#[derive(Clone, Merge)]
struct State {
    #[merge(append)]
    notes: Vec<String>,
    handle: Handle,
}

fn main() {}
