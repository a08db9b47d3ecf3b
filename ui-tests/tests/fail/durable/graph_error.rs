use typedflow::checkpoint::MemoryStore;
use typedflow::prelude::*;

#[node]
async fn outline(topic: String) -> usize {
    topic.len()
}

#[node]
async fn count(text: String) -> usize {
    text.len()
}

graph! {
    #[flow(durable)]
    Essay(String) -> usize {
        START -> outline -> END;
        count -> END;
    }
}

// A graph with an error still declares the flow: the runs set up below add no errors.
async fn runs(store: &MemoryStore) {
    let flow = Essay::new(());
    let _ = flow
        .run("rust".into())
        .checkpoint(store)
        .run_id(RunId::from_u64(1))
        .timeout(std::time::Duration::from_secs(1))
        .await;
    let _ = flow.resume(store, RunId::from_u64(1)).max_steps(5).await;
}

fn main() {
    drop(runs(&MemoryStore::new()));
}
