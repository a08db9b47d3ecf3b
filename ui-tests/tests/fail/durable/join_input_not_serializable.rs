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
async fn write(topic: String) -> Draft {
    Draft { text: topic }
}

#[node]
async fn title(topic: String) -> String {
    topic.to_uppercase()
}

#[node]
async fn join(parts: (Draft, String)) -> String {
    format!("{}: {}", parts.1, parts.0.text)
}

graph! {
    #[flow(durable)]
    Essay(String) -> String {
        START -> split -> (write, title) -> join -> END;
    }
}

fn main() {}
