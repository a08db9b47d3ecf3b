use typedflow::prelude::*;

pub struct Summary(usize);

#[node]
async fn outline(topic: String) -> String {
    topic
}

#[node]
async fn count(text: String) -> Summary {
    Summary(text.len())
}

graph! {
    #[flow(durable)]
    Essay(String) -> Summary {
        START -> outline -> count -> END;
    }
}

fn main() {}
