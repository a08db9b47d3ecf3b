use typedflow::prelude::*;

/// Holds what a checkpoint cannot save.
pub struct Draft {
    pub text: String,
}

#[node]
async fn split(topic: String) -> String {
    topic
}

#[node]
async fn outline(topic: String) -> Draft {
    Draft { text: topic }
}

#[node]
async fn write(draft: Draft) -> String {
    draft.text
}

#[node]
async fn title(topic: String) -> String {
    topic.to_uppercase()
}

#[node]
async fn join(parts: (String, String)) -> String {
    format!("{}: {}", parts.1, parts.0)
}

graph! {
    #[flow(durable)]
    Essay(String) -> String {
        START -> split -> (outline -> write, title) -> join -> END;
    }
}

fn main() {}
