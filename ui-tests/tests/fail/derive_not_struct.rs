use typedflow::prelude::*;

#[derive(Merge)]
enum State {
    Draft(String),
    Done(String),
}

fn main() {}
