use typedflow::prelude::*;

#[node]
fn outline(topic: String) -> String {
    topic
}

graph! {
    Essay(String) -> String {
        START -> outline -> END;
    }
}

fn main() {}
