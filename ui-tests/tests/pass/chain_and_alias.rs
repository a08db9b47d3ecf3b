//! Chains, `START`/`END` in one line, several uses of one node through aliases, a node
//! with no input, a fallible node returning an alias of `Result`, and the flow attribute
//! written inside `graph!`.
use typedflow::prelude::*;

type Result<T> = std::result::Result<T, std::num::ParseIntError>;

#[node]
async fn seed() -> String {
    "20".to_owned()
}

#[node]
async fn parse(text: String) -> Result<u64> {
    text.parse()
}

#[node]
async fn add_one(n: u64) -> u64 {
    n + 1
}

graph! {
    #[flow(max_steps = 8)]
    Pipeline(()) -> u64 {
        node again = add_one;
        START -> seed -> parse -> add_one -> again -> END;
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(rt.block_on(Pipeline::new(()).run(()).into_future()).unwrap(), 22);
    assert_eq!(Pipeline::GRAPH.nodes.len(), 4);
}
