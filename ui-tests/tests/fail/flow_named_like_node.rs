use typedflow::prelude::*;

#[node]
#[allow(non_snake_case)]
async fn Summary(text: String) -> String {
    text
}

graph! {
    Summary(String) -> String {
        START -> Summary -> END;
    }
}

fn main() {}
