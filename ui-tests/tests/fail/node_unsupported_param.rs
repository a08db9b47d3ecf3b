use typedflow::prelude::*;

#[node]
async fn write(topic: String, log: &mut Vec<String>) -> String {
    log.push(topic.clone());
    topic
}

#[node]
async fn show(value: impl std::fmt::Display) -> String {
    value.to_string()
}

fn main() {}
