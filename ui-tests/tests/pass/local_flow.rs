//! A node holding an `Rc` across an `.await` runs in a flow declared `#[flow(local)]`,
//! whose run future need not be `Send`.
use std::rc::Rc;

use typedflow::prelude::*;

#[node]
async fn count(text: String) -> usize {
    let shared = Rc::new(text);
    tokio::task::yield_now().await;
    shared.len()
}

#[flow(local)]
graph! {
    Count(String) -> usize {
        START -> count -> END;
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(rt.block_on(Count::new(()).run("four".into()).into_future()).unwrap(), 4);
}
