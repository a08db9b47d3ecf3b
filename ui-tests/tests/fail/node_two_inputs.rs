use typedflow::prelude::*;

#[node]
async fn join(title: String, body: String) -> String {
    title + &body
}

graph! {
    Article(String) -> String {
        START -> join -> END;
    }
}

fn main() {}
