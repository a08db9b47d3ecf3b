//! A worker serving a three-node durable flow as a Restate workflow.
//!
//! ```text
//! cargo run -p typedflow-restate --example essay_worker          # serves on 127.0.0.1:19080
//! ```
//!
//! It prints the workflow's service name (`Essay-<fingerprint>`); register the worker
//! with Restate and start runs as the README's Restate section shows. Set
//! `FLOW_RESTATE_WORKER_ADDR` to serve elsewhere.

use restate_sdk::endpoint::Endpoint;
use restate_sdk::http_server::HttpServer;
use serde::{Deserialize, Serialize};
use typedflow::prelude::*;

/// A draft: what `outline` and `write` hand on.
#[derive(Debug, Serialize, Deserialize)]
pub struct Draft {
    /// The topic.
    pub topic: String,
    /// The points made so far.
    pub points: Vec<String>,
}

#[node]
async fn outline(topic: String) -> Draft {
    let points = vec![format!("why {topic}"), format!("how {topic}")];
    Draft { topic, points }
}

#[node]
async fn write(mut draft: Draft, cx: &Context) -> Draft {
    // A step that Restate retries after a crash runs again with the same key: an API
    // that deduplicates by it makes its side effect happen once.
    tracing::info!(key = %cx.idempotency_key(), "writing");
    draft.points.push(format!("so: {}", draft.topic));
    draft
}

#[node]
async fn publish(draft: Draft) -> String {
    format!("{}: {}", draft.topic, draft.points.join("; "))
}

graph! {
    #[flow(durable)]
    Essay(String) -> String {
        START -> outline -> write -> publish -> END;
    }
}

#[tokio::main]
async fn main() {
    let addr =
        std::env::var("FLOW_RESTATE_WORKER_ADDR").unwrap_or_else(|_| "127.0.0.1:19080".to_owned());
    let essay = typedflow_restate::workflow!(Essay::new(()));
    println!("{}", essay.name());
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("serving on {addr}");
    HttpServer::new(Endpoint::builder().bind(essay).build())
        .serve(listener)
        .await;
}
