//! `typedflow`: the runs in a checkpoint store, listed, shown step by step, deleted and
//! pruned.
//!
//! The store is a SQLite file (`--store runs.db`) or, built with the `postgres` feature,
//! a Postgres database (`--database-url`, or `DATABASE_URL`). The tool reads and deletes
//! checkpoints through `typedflow::checkpoint::Checkpointer` only; resuming a run stays
//! with the program that owns the flow, which has its code and its types.

mod cli;
mod commands;
mod error;
mod progress;
mod show;
mod store;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;
use crate::error::Failure;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(format!("cannot start the async runtime: {e}")))
        .and_then(|runtime| runtime.block_on(commands::run(cli)));
    match outcome {
        Ok(code) => code,
        // `typedflow runs | head`: the reader left, nothing more to say.
        Err(failure) if failure.is_broken_pipe() => ExitCode::SUCCESS,
        Err(failure) => {
            let _ = writeln!(std::io::stderr().lock(), "typedflow: {failure}");
            ExitCode::FAILURE
        }
    }
}
