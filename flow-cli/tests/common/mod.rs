//! A store filled by a real durable flow, and the built `typedflow` run against it.
//!
//! `CliEssay` writes a draft, reviews it twice and publishes it; publishing a draft on
//! `broken` fails. The fixture saves, through the flow:
//!
//! | run | how | latest checkpoint |
//! |---|---|---|
//! | `old` | finished, its rows dated 10 days back | 4, `END`, finished |
//! | `finished` | finished | 4, `END`, finished |
//! | `failed` | `publish` fails | 4, `publish`, failed |
//! | `unfinished` | cancelled in its third step (as a crash would cut it) | 2, `review`, running |
//!
//! and, saved by hand as a program of another kind would: `waiting` (flow
//! `CliApproval`, waiting for an `Approval`) and `legacy` (flow `CliLegacy`, whose states
//! are not JSON). They are saved in the order of the table, so `runs` lists them the
//! other way round.

use std::collections::hash_map::RandomState;
use std::future::Future;
use std::hash::BuildHasher;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use typedflow::checkpoint::{Checkpoint, Checkpointer, RunStatus, StoreError};
use typedflow::prelude::*;

/// A draft and how many times it was reviewed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    /// The text.
    pub text: String,
    /// Reviews so far.
    pub rounds: u32,
}

/// What `review` decides.
pub enum Review {
    /// Another round.
    Again(Draft),
    /// Good enough.
    Done(Draft),
}

/// The publisher refuses a broken draft.
#[derive(Debug, thiserror::Error)]
#[error("cannot publish a broken draft")]
pub struct Broken;

#[node]
async fn write(topic: String) -> Draft {
    Draft {
        text: format!("on {topic}"),
        rounds: 0,
    }
}

/// What the nodes borrow.
#[derive(Default, Deps)]
pub struct Desk {
    /// Where a review that stalls says it has started.
    pub stalls: Stalls,
}

/// A review of a draft on `stall`, in its second round, says it started and then never
/// ends: a run cut there (as by a crash) has saved two steps and stays running.
#[derive(Default)]
pub struct Stalls {
    started: Notify,
}

#[node]
async fn review(mut draft: Draft, stalls: &Stalls) -> Review {
    if draft.text.contains("stall") && draft.rounds == 1 {
        stalls.started.notify_one();
        std::future::pending::<()>().await;
    }
    draft.rounds += 1;
    if draft.rounds < 2 {
        Review::Again(draft)
    } else {
        Review::Done(draft)
    }
}

#[node]
async fn publish(draft: Draft) -> Result<String, Broken> {
    if draft.text.contains("broken") {
        return Err(Broken);
    }
    Ok(format!("{} ({} rounds)", draft.text, draft.rounds))
}

graph! {
    #[flow(durable, deps = Desk)]
    CliEssay(String) -> String {
        START -> write -> review;
        review => {
            Review::Again -> review,
            Review::Done -> publish,
        }
        publish -> END;
    }
}

/// How far back the `old` run's rows are dated.
pub const OLD: Duration = Duration::from_secs(10 * 86_400);

/// A store whose saves are dated `back` before they happen: a run made now that looks
/// as if it ran then.
struct Dated<'a, S> {
    inner: &'a S,
    back: Duration,
}

impl<S: Checkpointer> Checkpointer for Dated<'_, S> {
    async fn save(&self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        let time = checkpoint.time - self.back;
        self.inner.save(&checkpoint.clone().with_time(time)).await
    }
    async fn latest(&self, run_id: RunId) -> Result<Checkpoint, StoreError> {
        self.inner.latest(run_id).await
    }
    async fn history(&self, run_id: RunId) -> Result<Vec<Checkpoint>, StoreError> {
        self.inner.history(run_id).await
    }
    async fn runs(&self) -> Result<Vec<Checkpoint>, StoreError> {
        self.inner.runs().await
    }
    async fn delete(&self, run_id: RunId) -> Result<u64, StoreError> {
        self.inner.delete(run_id).await
    }
}

/// The runs of the fixture.
#[derive(Debug, Clone, Copy)]
pub struct Runs {
    pub old: RunId,
    pub finished: RunId,
    pub failed: RunId,
    pub unfinished: RunId,
    pub waiting: RunId,
    pub legacy: RunId,
}

impl Runs {
    /// Fresh ids, unlike any other test's (a Postgres database is shared).
    fn fresh() -> Runs {
        let base = RandomState::new().hash_one(SystemTime::now()) & !0xff;
        let id = |n| RunId::from_u64(base + n);
        Runs {
            old: id(1),
            finished: id(2),
            failed: id(3),
            unfinished: id(4),
            waiting: id(5),
            legacy: id(6),
        }
    }

    /// Every run, newest first (as `runs` lists them).
    pub fn newest_first(&self) -> [RunId; 6] {
        [
            self.legacy,
            self.waiting,
            self.unfinished,
            self.failed,
            self.finished,
            self.old,
        ]
    }
}

/// Fills `store` with the runs of the module's table.
pub async fn fill(store: &impl Checkpointer) -> Runs {
    let runs = Runs::fresh();
    let flow = CliEssay::new(Desk::default());
    let dated = Dated {
        inner: store,
        back: OLD,
    };
    let out = flow.run("rust".into()).checkpoint(&dated).run_id(runs.old);
    assert_eq!(out.await.expect("the old run"), "on rust (2 rounds)");
    let out = flow
        .run("rust".into())
        .checkpoint(store)
        .run_id(runs.finished);
    assert_eq!(out.await.expect("the finished run"), "on rust (2 rounds)");
    let out = flow
        .run("broken".into())
        .checkpoint(store)
        .run_id(runs.failed);
    assert_eq!(
        out.await.expect_err("the failed run").node(),
        Some("publish")
    );
    let token = CancellationToken::new();
    let cut = async {
        flow.deps().stalls.started.notified().await;
        token.cancel();
    };
    let run = flow.run("stall".into()).checkpoint(store);
    let run = run.run_id(runs.unfinished).cancel_on(&token);
    let (out, ()) = tokio::join!(run.into_future(), cut);
    assert!(out.expect_err("cut").is_cancelled());

    let ask = Checkpoint::new(
        "CliApproval",
        7,
        runs.waiting,
        1,
        "approve",
        br#"{"step":"approve","input":{"draft":"on rust"}}"#.to_vec(),
    )
    .with_status(RunStatus::Waiting {
        question: "Approval".into(),
    });
    store.save(&ask).await.expect("the waiting run");
    for (step, state) in [(1, b"\xff\x00bin".to_vec()), (2, b"{\"trunc".to_vec())] {
        let cp = Checkpoint::new("CliLegacy", 9, runs.legacy, step, "parse", state);
        store.save(&cp).await.expect("the legacy run");
    }
    runs
}

/// Runs `future` to its end on a runtime of its own (the tests are synchronous: they
/// run a process and wait for it).
pub fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(future)
}

/// What the `typedflow` binary printed, and how it ended.
pub struct Ran {
    pub stdout: String,
    pub stderr: String,
    pub code: Option<i32>,
}

impl Ran {
    /// Asserts it succeeded, and returns its output.
    #[track_caller]
    pub fn ok(self) -> String {
        assert_eq!(
            self.code,
            Some(0),
            "stderr: {}\nstdout: {}",
            self.stderr,
            self.stdout
        );
        self.stdout
    }

    /// Asserts it failed with exit code 1 and no panic, and returns its stderr.
    #[track_caller]
    pub fn failed(self) -> String {
        assert_eq!(
            self.code,
            Some(1),
            "stderr: {}\nstdout: {}",
            self.stderr,
            self.stdout
        );
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        assert!(
            self.stderr.starts_with("typedflow: error: "),
            "{}",
            self.stderr
        );
        self.stderr
    }

    /// The stdout as JSON.
    #[track_caller]
    pub fn json(self) -> serde_json::Value {
        let out = self.ok();
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
    }
}

/// Runs `typedflow` with `args`, without `DATABASE_URL` from the environment.
pub fn typedflow(args: &[&str]) -> Ran {
    typedflow_env(args, None)
}

/// Runs `typedflow` with `args`, and `DATABASE_URL` set to `database_url` if given.
pub fn typedflow_env(args: &[&str], database_url: Option<&str>) -> Ran {
    let mut command = Command::new(env!("CARGO_BIN_EXE_typedflow"));
    command.args(args).env_remove("DATABASE_URL");
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("typedflow runs");
    Ran {
        stdout: String::from_utf8(stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(stderr).expect("UTF-8 stderr"),
        code: status.code(),
    }
}

/// The store the commands of a test work on.
pub enum Store {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A Postgres database.
    #[cfg(feature = "postgres")]
    Postgres(String),
}

impl Store {
    /// Runs `typedflow` on this store with `args`.
    pub fn run(&self, args: &[&str]) -> Ran {
        let (option, value) = match self {
            Store::Sqlite(path) => ("--store", path_str(path)),
            #[cfg(feature = "postgres")]
            Store::Postgres(url) => ("--database-url", url.as_str()),
        };
        typedflow(&[&[option, value], args].concat())
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
}

/// The flows of the fixture.
#[cfg(feature = "postgres")]
pub const FLOWS: [&str; 3] = ["CliEssay", "CliApproval", "CliLegacy"];

impl Store {
    /// Every run in the store, read by the store itself.
    fn listed(&self) -> Vec<Checkpoint> {
        block_on(async {
            match self {
                Store::Sqlite(path) => typedflow_store::SqliteStore::open(path)?.runs().await,
                #[cfg(feature = "postgres")]
                Store::Postgres(url) => {
                    typedflow_store::PostgresStore::connect(url)
                        .await?
                        .runs()
                        .await
                }
            }
        })
        .expect("the store's runs")
    }

    /// Deletes every run of the fixture's flows (a shared database keeps what an earlier
    /// test left), with `typedflow delete`.
    #[cfg(feature = "postgres")]
    pub fn clear(&self) {
        let ids: Vec<String> = self
            .listed()
            .iter()
            .filter(|cp| FLOWS.contains(&cp.flow.as_str()))
            .map(|cp| cp.run_id.to_string())
            .collect();
        if !ids.is_empty() {
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            self.run(&[&["delete"], &ids[..]].concat()).ok();
        }
    }

    /// The runs of `ids` still in the store, in the order of `ids`.
    pub fn remaining(&self, ids: &[RunId]) -> Vec<RunId> {
        let listed = self.listed();
        ids.iter()
            .copied()
            .filter(|id| listed.iter().any(|cp| cp.run_id == *id))
            .collect()
    }
}
