use typedflow::prelude::*;

#[node]
async fn join(title: String, body: String) -> String {
    title + &body
}

fn main() {}
