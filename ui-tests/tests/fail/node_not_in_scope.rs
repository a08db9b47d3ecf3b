use typedflow::prelude::*;

#[node]
async fn outline(topic: String) -> String {
    topic
}

graph! {
    Essay(String) -> String {
        START -> outline -> summarize -> END;
    }
}

fn main() {}
