//! One conformance suite, run against every store: the memory store, SQLite in a temp
//! file, and Postgres when `FLOW_TEST_DATABASE_URL` names a server (then a server that
//! cannot be reached fails the test; it never skips).

mod common;

use std::time::{Duration, SystemTime};

use typedflow::RunId;
use typedflow::checkpoint::{Checkpoint, Checkpointer, MemoryStore, Part, RunStatus, StoreError};
use typedflow_store::SqliteStore;

use common::fresh_run;

fn step(run: RunId, n: u32) -> Checkpoint {
    Checkpoint::new(
        "Essay",
        0xfeed_f00d,
        run,
        n,
        format!("node{n}"),
        vec![n as u8; 100],
    )
}

/// Everything a store promises, checked on `store`. Uses fresh run ids only and deletes
/// what it wrote, so a shared database may hold other runs.
async fn conformance(store: &impl Checkpointer) {
    // An unknown run is a typed error for every read and for delete.
    let nobody = fresh_run();
    assert!(
        matches!(store.latest(nobody).await, Err(StoreError::UnknownRun { run_id, .. }) if run_id == nobody)
    );
    assert!(matches!(
        store.history(nobody).await,
        Err(StoreError::UnknownRun { .. })
    ));
    assert!(matches!(
        store.delete(nobody).await,
        Err(StoreError::UnknownRun { .. })
    ));

    // Every field survives a save, whatever the status.
    let a = fresh_run();
    let t0 = SystemTime::now();
    let saved = vec![
        step(a, 1).with_time(t0),
        step(a, 2)
            .with_attempt(3)
            .with_status(RunStatus::Waiting {
                question: "Approval".into(),
            })
            .with_time(t0 + Duration::from_micros(1)),
        step(a, 3)
            .with_status(RunStatus::Finished)
            .with_time(t0 + Duration::from_secs(10)),
    ];
    for cp in &saved {
        store.save(cp).await.expect("save");
    }
    assert_eq!(store.latest(a).await.expect("latest"), saved[2]);
    assert_eq!(store.history(a).await.expect("history"), saved);

    // A second save of a step is a conflict and changes nothing.
    let mut other = step(a, 2);
    other.state = b"someone else's state".to_vec();
    match store.save(&other).await {
        Err(StoreError::Conflict { run_id, step, .. }) => assert_eq!((run_id, step), (a, 2)),
        res => panic!("a second save of step 2 gave {res:?}"),
    }
    assert_eq!(store.history(a).await.expect("history"), saved);

    // Two saves of one step at once: exactly one wins.
    let (x, y) = (step(a, 4), step(a, 4).with_attempt(2));
    let (rx, ry) = tokio::join!(store.save(&x), store.save(&y));
    assert!(
        rx.is_ok() ^ ry.is_ok(),
        "one of two racing saves must win: {rx:?}, {ry:?}"
    );
    assert!(rx.err().or(ry.err()).is_some_and(|e| e.is_conflict()));

    // "Latest" is the highest step, not the last written.
    store.save(&step(a, 9)).await.expect("save 9");
    store.save(&step(a, 5)).await.expect("save 5");
    assert_eq!(store.latest(a).await.expect("latest").step, 9);
    let steps: Vec<u32> = store
        .history(a)
        .await
        .expect("history")
        .iter()
        .map(|c| c.step)
        .collect();
    assert_eq!(steps, [1, 2, 3, 4, 5, 9]);

    // Extremes of every number, an empty state and a large one.
    let b = RunId::from_u64(u64::MAX - (a.as_u64() & 0xffff));
    let edge = Checkpoint::new("", u64::MAX, b, u32::MAX, "", Vec::new())
        .with_attempt(u32::MAX)
        .with_time(t0 + Duration::from_secs(20));
    store.save(&edge).await.expect("save edge values");
    assert_eq!(store.latest(b).await.expect("latest"), edge);
    let mut big = step(b, 1).with_time(t0);
    big.state = vec![0xa5; 1 << 20];
    store.save(&big).await.expect("save 1 MiB");
    assert_eq!(store.history(b).await.expect("history")[0], big);

    // The run list has each run once, at its latest step, newest first.
    let listed: Vec<Checkpoint> = store
        .runs()
        .await
        .expect("runs")
        .into_iter()
        .filter(|c| c.run_id == a || c.run_id == b)
        .collect();
    let order: Vec<(RunId, u32)> = listed.iter().map(|c| (c.run_id, c.step)).collect();
    assert_eq!(order, [(b, u32::MAX), (a, 9)]);

    parts(store, a, b).await;

    // A delete conditional on the latest checkpoint: refused for a run that moved on
    // (an older step, or the latest step with another status), nothing deleted.
    let stale = step(a, 5);
    assert_eq!(store.delete_if_latest(&stale).await.expect("refused"), None);
    let other_status = step(a, 9).with_status(RunStatus::Finished);
    assert_eq!(
        store
            .delete_if_latest(&other_status)
            .await
            .expect("refused"),
        None
    );
    assert_eq!(store.history(a).await.expect("kept").len(), 6);
    assert!(matches!(
        store.delete_if_latest(&step(fresh_run(), 1)).await,
        Err(StoreError::UnknownRun { .. })
    ));

    // Delete removes one run whole, parts too, and only it.
    let latest = store.latest(a).await.expect("latest");
    assert_eq!(
        store.delete_if_latest(&latest).await.expect("delete"),
        Some(6)
    );
    assert_eq!(store.parts(a, 5).await.expect("no parts"), []);
    assert_eq!(store.parts(b, 1).await.expect("b's parts").len(), 1);
    assert!(matches!(
        store.latest(a).await,
        Err(StoreError::UnknownRun { .. })
    ));
    assert!(matches!(
        store.delete(a).await,
        Err(StoreError::UnknownRun { .. })
    ));
    assert_eq!(store.latest(b).await.expect("b survives").step, u32::MAX);
    assert_eq!(store.delete(b).await.expect("delete b"), 2);
}

/// The parts of a step (the calls inside a fan-out or a map) of runs `a` and `b`, which
/// have checkpoints at steps 5 and 1.
async fn parts(store: &impl Checkpointer, a: RunId, b: RunId) {
    let after = |run, n| step(run, n);
    assert_eq!(store.parts(a, 5).await.expect("none yet"), []);
    let saved = [
        Part::new("0.0:fetch", b"\"page\"".to_vec()),
        Part::new("1.0:item#7", vec![0xa5; 1 << 16]),
        Part::new("[w]#0", Vec::new()),
    ];
    for part in &saved {
        store.save_part(&after(a, 5), part).await.expect("a part");
    }
    let mut read = store.parts(a, 5).await.expect("the parts");
    read.sort_by(|x, y| x.key.cmp(&y.key));
    assert_eq!(read, saved);
    // Another step's, another run's: none.
    assert_eq!(store.parts(a, 9).await.expect("none"), []);
    assert_eq!(store.parts(b, 5).await.expect("none"), []);

    // A second save of a call is a conflict and changes nothing.
    let again = Part::new("0.0:fetch", b"\"other\"".to_vec());
    match store.save_part(&after(a, 5), &again).await {
        Err(StoreError::Conflict { run_id, step, .. }) => assert_eq!((run_id, step), (a, 5)),
        res => panic!("a second save of a part gave {res:?}"),
    }
    assert_eq!(store.parts(a, 5).await.expect("the parts").len(), 3);
    store
        .save_part(&after(b, 1), &Part::new("0.0:fetch", b"1".to_vec()))
        .await
        .expect("b's part");
}

#[tokio::test]
async fn memory_store_conforms() {
    conformance(&MemoryStore::new()).await;
}

#[tokio::test]
async fn sqlite_store_conforms() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path().join("runs.db")).expect("open");
    conformance(&store).await;
}

#[tokio::test]
async fn sqlite_store_with_synchronous_full_conforms() {
    let dir = tempfile::tempdir().expect("temp dir");
    let options = typedflow_store::SqliteOptions::default()
        .with_synchronous(typedflow_store::Synchronous::Full);
    let store = SqliteStore::open_with(dir.path().join("runs.db"), options).expect("open");
    conformance(&store).await;
}

#[tokio::test]
async fn arc_of_a_store_conforms() {
    conformance(&std::sync::Arc::new(MemoryStore::new())).await;
}

/// A store that refuses every write as a full disk would, and reads from `inner`.
struct FailingWrites<S> {
    inner: S,
}

impl<S: Checkpointer> Checkpointer for FailingWrites<S> {
    async fn save(&self, _: &Checkpoint) -> Result<(), StoreError> {
        Err(StoreError::full(std::io::Error::other(
            "no space left on device",
        )))
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

/// A checkpoint refused by a failing store leaves the store at its earlier step, and the
/// same step saves once the store writes again.
#[tokio::test]
async fn a_store_that_fails_writes_keeps_the_earlier_step() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("runs.db");
    let run = fresh_run();
    let first = step(run, 1);
    SqliteStore::open(&path)
        .expect("open")
        .save(&first)
        .await
        .expect("save 1");

    let failing = FailingWrites {
        inner: SqliteStore::open(&path).expect("open"),
    };
    let err = failing
        .save(&step(run, 2))
        .await
        .expect_err("the write must fail");
    assert!(matches!(err, StoreError::Full { .. }), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(failing.latest(run).await.expect("latest"), first);
    assert_eq!(failing.history(run).await.expect("history"), [first]);

    let healthy = failing.inner;
    healthy
        .save(&step(run, 2))
        .await
        .expect("the same step saves later");
    assert_eq!(healthy.history(run).await.expect("history").len(), 2);
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use crate::common::{connect, database_url};
    use typedflow_store::PostgresStore;

    #[tokio::test]
    async fn postgres_store_conforms() {
        let Some(url) = database_url() else {
            return;
        };
        conformance(&connect(&url).await).await;
    }

    /// Two processes resuming one run are two connections saving one step: the primary
    /// key lets one win, and the other gets a conflict.
    #[tokio::test]
    async fn postgres_two_connections_saving_one_step_conflict() {
        let Some(url) = database_url() else {
            return;
        };
        let (first, second) = (connect(&url).await, connect(&url).await);
        let run = fresh_run();
        let (one, two) = (step(run, 1), step(run, 1).with_attempt(2));
        let (r1, r2) = tokio::join!(first.save(&one), second.save(&two));
        assert!(r1.is_ok() ^ r2.is_ok(), "{r1:?}, {r2:?}");
        assert!(r1.err().or(r2.err()).is_some_and(|e| e.is_conflict()));
        assert_eq!(second.history(run).await.expect("history").len(), 1);
        first.delete(run).await.expect("delete");
    }

    /// Connecting twice migrates once: the second connection finds the schema current.
    #[tokio::test]
    async fn postgres_reconnecting_keeps_the_runs() {
        let Some(url) = database_url() else {
            return;
        };
        let run = fresh_run();
        connect(&url).await.save(&step(run, 1)).await.expect("save");
        let again = connect(&url).await;
        assert_eq!(again.latest(run).await.expect("latest").step, 1);
        again.delete(run).await.expect("delete");
    }

    /// A server that is not there is a typed, retryable error, not a hang or a panic.
    #[tokio::test]
    async fn postgres_unreachable_server_is_unavailable() {
        // Port 1 on loopback: nothing listens there, so the connection is refused.
        let err = PostgresStore::connect("postgres://flow@127.0.0.1:1/flow?connect_timeout=5")
            .await
            .expect_err("nothing listens on port 1");
        assert!(err.is_retryable(), "{err:?}");
        assert!(err.to_string().contains("connecting to Postgres"), "{err}");
    }

    #[tokio::test]
    async fn postgres_malformed_url_is_unavailable() {
        let err = PostgresStore::connect("postgres://[not a host")
            .await
            .expect_err("a malformed URL");
        assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    }
}
