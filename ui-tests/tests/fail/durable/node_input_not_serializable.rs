use typedflow::prelude::*;

/// Holds a handle that cannot be saved.
pub struct Draft {
    pub text: String,
}

#[node]
async fn outline(topic: String) -> Draft {
    Draft { text: topic }
}

#[node]
async fn count(draft: Draft) -> usize {
    draft.text.len()
}

graph! {
    #[flow(durable)]
    Essay(String) -> usize {
        START -> outline -> count -> END;
    }
}

fn main() {}
