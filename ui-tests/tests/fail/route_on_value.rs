use typedflow::prelude::*;

#[node]
async fn check(text: String) -> bool {
    !text.is_empty()
}

#[node]
async fn publish(_: ()) -> String {
    "published".to_owned()
}

graph! {
    Review(String) -> String {
        START -> check;
        check => {
            true -> publish,
            false -> END,
        }
        publish -> END;
    }
}

fn main() {}
