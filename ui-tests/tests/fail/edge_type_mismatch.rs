use typedflow::prelude::*;

#[node]
async fn outline(topic: String) -> String {
    topic
}

#[node]
async fn count(n: u32) -> u32 {
    n
}

graph! {
    Essay(String) -> u32 {
        START -> outline -> count -> END;
    }
}

fn main() {}
