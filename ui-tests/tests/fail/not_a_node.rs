use typedflow::prelude::*;

struct Summary;

#[node]
async fn outline(topic: String) -> String {
    topic
}

graph! {
    Essay(String) -> String {
        START -> outline -> Summary -> END;
    }
}

fn main() {}
