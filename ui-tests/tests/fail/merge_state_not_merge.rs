use typedflow::prelude::*;

#[derive(Clone)]
pub struct State(u32);

#[node]
async fn start(x: u32) -> State {
    State(x)
}

#[node]
async fn left(s: State) -> State {
    s
}

#[node]
async fn right(s: State) -> State {
    s
}

#[node]
async fn done(s: State) -> u32 {
    s.0
}

graph! {
    Shared(u32) -> u32 {
        START -> start -> {left, right} -> done -> END;
    }
}

fn main() {}
