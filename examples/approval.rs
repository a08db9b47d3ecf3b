//! A post that waits for an editor's approval, for as long as it takes: each command is
//! its own process, and the run lives in the checkpoint store between them.
//!
//! ```text
//! cargo run --example approval -- start "durable runs"   # drafts, then waits: prints the run id
//! cargo run --example approval -- show <run-id>          # what the editor is asked
//! cargo run --example approval -- reject <run-id> "shorter, please"   # revised, waits again
//! cargo run --example approval -- approve <run-id>       # published
//! ```
//!
//! The store is the SQLite file `target/approval.sqlite` (or `APPROVAL_DB`), created on
//! first use; with `DATABASE_URL` set, the Postgres database it names.

use std::process::ExitCode;

use typedflow::RunId;
use typedflow::checkpoint::Checkpointer;
use typedflow_examples::approval::{self, Verdict};
use typedflow_store::{PostgresStore, SqliteStore};

const USAGE: &str = "usage: approval start <topic> [run-id] | show <run-id> | approve <run-id> | reject <run-id> <note>";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match std::env::var("DATABASE_URL") {
        Ok(url) => match PostgresStore::connect(&url).await {
            Ok(store) => {
                println!("store: Postgres");
                command(&store, &args).await
            }
            Err(e) => Err(format!("cannot reach the database of DATABASE_URL: {e}")),
        },
        Err(_) => {
            let path =
                std::env::var("APPROVAL_DB").unwrap_or_else(|_| "target/approval.sqlite".into());
            match SqliteStore::open(&path) {
                Ok(store) => {
                    println!("store: SQLite, {path}");
                    command(&store, &args).await
                }
                Err(e) => Err(format!("cannot open {path}: {e}")),
            }
        }
    };
    match result {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("approval: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn command<C: Checkpointer>(store: &C, args: &[String]) -> Result<String, String> {
    let run_id = |i: usize| -> Result<RunId, String> {
        let text = args.get(i).ok_or(USAGE)?;
        text.parse().map_err(|e| format!("`{text}`: {e}"))
    };
    let done = match args.first().map(String::as_str) {
        Some("start") => {
            let topic = args.get(1).ok_or(USAGE)?.clone();
            // A run id of the caller's, or one from the clock.
            let id = match args.get(2) {
                Some(_) => run_id(2)?,
                None => RunId::from_u64(
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_micros() as u64)
                        .unwrap_or(1),
                ),
            };
            approval::start(store, id, topic).await
        }
        Some("show") => approval::show(store, run_id(1)?).await,
        Some("approve") => approval::answer(store, run_id(1)?, Verdict::Approve).await,
        Some("reject") => {
            let note = args.get(2).ok_or(USAGE)?.clone();
            approval::answer(store, run_id(1)?, Verdict::Reject { note }).await
        }
        _ => return Err(USAGE.to_owned()),
    };
    done.map_err(|e| report(&e))
}

/// The error and its causes, on one line.
fn report(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}
