use typedflow::prelude::*;

#[node]
async fn draft(topic: String) -> String {
    topic
}

#[node]
async fn review(draft: &str) -> bool {
    !draft.is_empty()
}

fn main() {}
