use typedflow::prelude::*;

#[node]
async fn outline(topic: String) -> String {
    topic
}

#[node]
async fn review(text: String) -> String {
    text
}

graph! {
    Essay(String) -> String {
        START -> outline -> reviw;
        review -> END;
    }
}

fn main() {}
