use typedflow::prelude::*;

#[node]
async fn a(x: u32) -> u32 {
    x + 1
}

graph! {
    Count(u32) -> u32 {
        START -> a => END;
    }
}

fn main() {}
