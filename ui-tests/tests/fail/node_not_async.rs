use typedflow::prelude::*;

#[node]
fn outline(topic: String) -> String {
    topic
}

fn main() {}
