use typedflow::prelude::*;

#[node]
async fn a(x: u32) -> u32 {
    x + 1
}

#[node]
async fn b(x: u32) -> u32 {
    x + 1
}

#[node]
async fn c(x: u32) -> u32 {
    x + 1
}

#[flow(max_steps = 2)]
graph! {
    Count(u32) -> u32 {
        START -> a -> b -> c -> END;
    }
}

fn main() {}
