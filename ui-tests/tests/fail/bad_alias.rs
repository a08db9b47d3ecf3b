use typedflow::prelude::*;

#[node]
async fn write(topic: String) -> String {
    topic
}

graph! {
    Essay(String) -> String {
        node rewrite = write;
        START -> write -> END;
    }
}

fn main() {}
