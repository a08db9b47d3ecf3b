use typedflow::prelude::*;

pub struct Topic(String);

#[node]
async fn outline(topic: Topic) -> String {
    topic.0
}

#[node]
async fn count(text: String) -> usize {
    text.len()
}

graph! {
    #[flow(durable)]
    Essay(Topic) -> usize {
        START -> outline -> count -> END;
    }
}

fn main() {}
