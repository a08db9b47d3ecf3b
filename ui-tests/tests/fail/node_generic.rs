use typedflow::prelude::*;

#[node]
async fn echo<T: Send>(value: T) -> T {
    value
}

fn main() {}
