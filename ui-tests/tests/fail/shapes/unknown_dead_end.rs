// A name with no close match that is not in scope, at the end of a chain: it reads as
// a name rustc cannot find, not as a node with no way on.
use typedflow::prelude::*;

#[node]
async fn outline(topic: String) -> String {
    topic
}

graph! {
    Essay(String) -> String {
        START -> outline -> h2;
    }
}

fn main() {}
