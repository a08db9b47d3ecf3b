use typedflow::prelude::*;

pub enum Verdict {
    Revise { draft: String },
    Accept(String),
}

#[node]
async fn review(text: String) -> Verdict {
    if text.len() > 3 {
        Verdict::Accept(text)
    } else {
        Verdict::Revise { draft: text }
    }
}

#[node]
async fn revise(text: String) -> String {
    text + "!"
}

graph! {
    Essay(String) -> String {
        START -> review;
        review => {
            Verdict::Revise { draft: text } -> revise,
            Verdict::Accept -> END,
        }
        revise -> review;
    }
}

fn main() {}
