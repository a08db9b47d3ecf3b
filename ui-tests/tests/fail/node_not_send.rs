use std::rc::Rc;

use typedflow::prelude::*;

#[node]
async fn outline(topic: String) -> String {
    topic
}

#[node]
async fn count(text: String) -> usize {
    let shared = Rc::new(text);
    tokio::task::yield_now().await;
    shared.len()
}

graph! {
    Essay(String) -> usize {
        START -> outline -> count -> END;
    }
}

fn main() {}
