// Two mistakes in one graph, as a newcomer makes them: a node name that is not in scope
// (`summarise` for `summarize`) and a node with no way on (`review`). Both are reported
// in the same build.
use typedflow::prelude::*;

#[node]
async fn outline(topic: String) -> String {
    topic
}

#[node]
async fn summarize(text: String) -> String {
    text
}

#[node]
async fn review(text: String) -> String {
    text
}

graph! {
    Essay(String) -> String {
        START -> outline -> summarise -> review;
    }
}

fn main() {}
