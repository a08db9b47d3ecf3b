use flow_runtime::prelude::*;

#[node]
fn outline(topic: String) -> String {
    topic
}

fn main() {}
