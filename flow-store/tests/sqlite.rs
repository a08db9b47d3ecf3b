//! The SQLite store against bad input: rows spoiled behind its back, a file that is not a
//! database, a schema from the future, a full disk, and a second writer on the same file.

use std::path::Path;

use rusqlite::Connection;
use typedflow::RunId;
use typedflow::checkpoint::{Checkpoint, Checkpointer, Part, StoreError};
use typedflow_store::{SqliteOptions, SqliteStore};

fn step(run: RunId, n: u32) -> Checkpoint {
    Checkpoint::new("Essay", 7, run, n, "write", vec![n as u8; 100])
}

/// Every column of every row, as SQLite quotes it: what "nothing was overwritten" compares.
fn dump(path: &Path) -> Vec<String> {
    let conn = Connection::open(path).expect("open raw");
    let mut stmt = conn
        .prepare(
            "SELECT quote(run_id) || quote(step) || quote(format) || quote(flow) || quote(fingerprint) \
             || quote(node) || quote(attempt) || quote(time_us) || quote(status) || quote(question) \
             || quote(state) || quote(state_sum) FROM checkpoints ORDER BY run_id, step",
        )
        .expect("prepare dump");
    stmt.query_map([], |row| row.get(0))
        .expect("dump")
        .collect::<Result<_, _>>()
        .expect("dump rows")
}

/// Each spoiled row is a typed error naming its run and step, for every read; the row is
/// left as it was, and saving its step again is still a conflict, never an overwrite.
#[tokio::test]
async fn a_corrupt_row_is_a_typed_error_and_is_not_overwritten() {
    let spoils = [
        (
            "UPDATE checkpoints SET state = substr(state, 1, 40) WHERE step = 2",
            "checksum",
        ),
        (
            "UPDATE checkpoints SET state = randomblob(100) WHERE step = 2",
            "checksum",
        ),
        (
            "UPDATE checkpoints SET state = 'not bytes' WHERE step = 2",
            "state",
        ),
        (
            "UPDATE checkpoints SET status = 'garbage' WHERE step = 2",
            "unknown status `garbage`",
        ),
        (
            "UPDATE checkpoints SET attempt = 'three' WHERE step = 2",
            "attempt",
        ),
        (
            "UPDATE checkpoints SET format = 99 WHERE step = 2",
            "format version 99",
        ),
        (
            "UPDATE checkpoints SET flow = x'00ff' WHERE step = 2",
            "flow",
        ),
    ];
    for (spoil, expected) in spoils {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("runs.db");
        let store = SqliteStore::open(&path).expect("open");
        let run = RunId::from_u64(99);
        store.save(&step(run, 1)).await.expect("save 1");
        store.save(&step(run, 2)).await.expect("save 2");
        Connection::open(&path)
            .expect("open raw")
            .execute(spoil, [])
            .expect(spoil);
        let before = dump(&path);

        let check = |res: Result<(), StoreError>, read: &str| match res {
            Err(StoreError::Corrupt {
                run_id,
                step,
                reason,
                ..
            }) => {
                assert_eq!((run_id, step), (run, 2), "{spoil}: {read}");
                assert!(reason.contains(expected), "{spoil}: {read}: {reason:?}");
            }
            other => panic!("{spoil}: {read} gave {other:?}, not a corrupt row"),
        };
        check(store.latest(run).await.map(drop), "latest");
        check(store.history(run).await.map(drop), "history");
        check(store.runs().await.map(drop), "runs");

        let again = store.save(&step(run, 2)).await.expect_err("step 2 exists");
        assert!(again.is_conflict(), "{spoil}: {again:?}");
        assert_eq!(dump(&path), before, "{spoil}: the row changed");
    }
}

#[tokio::test]
async fn unknown_run_is_a_typed_error_on_a_fresh_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path().join("runs.db")).expect("open");
    let run = RunId::from_u64(5);
    for err in [
        store.latest(run).await.map(drop).expect_err("latest"),
        store.history(run).await.map(drop).expect_err("history"),
        store.delete(run).await.map(drop).expect_err("delete"),
    ] {
        assert!(
            matches!(err, StoreError::UnknownRun { run_id, .. } if run_id == run),
            "{err:?}"
        );
    }
    assert!(store.runs().await.expect("runs").is_empty());
}

/// Two stores on one file stand for two processes resuming one run: SQLite's primary
/// key lets the first save of a step win and the second conflict.
#[tokio::test]
async fn two_stores_on_one_file_conflict_on_one_step() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("runs.db");
    let (first, second) = (
        SqliteStore::open(&path).expect("open"),
        SqliteStore::open(&path).expect("open again"),
    );
    let run = RunId::from_u64(3);
    let mine = step(run, 1);
    first.save(&mine).await.expect("first save");
    let err = second
        .save(&step(run, 1).with_attempt(2))
        .await
        .expect_err("second save of step 1");
    assert!(err.is_conflict(), "{err:?}");
    assert_eq!(second.latest(run).await.expect("latest"), mine);
}

/// The file is created in WAL mode with its schema, and a second open leaves both.
#[tokio::test]
async fn the_file_is_created_in_wal_mode_with_its_schema() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("nested-name.db");
    assert!(!path.exists());
    drop(SqliteStore::open(&path).expect("create"));
    drop(SqliteStore::open(&path).expect("reopen"));
    let conn = Connection::open(&path).expect("open raw");
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    assert_eq!(mode, "wal");
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, 2);
}

/// A file written by the first schema (checkpoints only) gains the parts table when
/// opened, and keeps its runs.
#[tokio::test]
async fn a_file_of_the_first_schema_is_migrated_and_keeps_its_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("runs.db");
    let run = RunId::from_u64(11);
    let cp = Checkpoint::new("Essay", 1, run, 1, "write", b"{}".to_vec());
    {
        let store = SqliteStore::open(&path).expect("create");
        store.save(&cp).await.expect("save");
    }
    let conn = Connection::open(&path).expect("open raw");
    conn.execute_batch("DROP TABLE parts; PRAGMA user_version = 1;")
        .expect("back to the first schema");
    drop(conn);

    let store = SqliteStore::open(&path).expect("migrated");
    assert_eq!(store.latest(run).await.expect("kept"), cp);
    let part = Part::new("0.0:x", b"1".to_vec());
    store.save_part(&cp, &part).await.expect("a part");
    assert_eq!(store.parts(run, 1).await.expect("parts"), [part]);
}

/// A part whose value no longer matches its checksum is a typed error naming the call.
#[tokio::test]
async fn a_corrupt_part_is_a_typed_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("runs.db");
    let run = RunId::from_u64(12);
    let store = SqliteStore::open(&path).expect("create");
    let cp = Checkpoint::new("Essay", 1, run, 3, "join", b"{}".to_vec());
    store.save(&cp).await.expect("save");
    let part = Part::new("1.0:fetch", b"\"a page\"".to_vec());
    store.save_part(&cp, &part).await.expect("a part");
    Connection::open(&path)
        .expect("open raw")
        .execute("UPDATE parts SET value = substr(value, 1, 3)", [])
        .expect("truncate");
    match store.parts(run, 3).await {
        Err(StoreError::Corrupt {
            run_id,
            step: 3,
            reason,
            ..
        }) => {
            assert_eq!(run_id, run);
            assert!(reason.contains("`1.0:fetch`"), "{reason}");
        }
        other => panic!("expected a corrupt part, got {other:?}"),
    }
}

#[tokio::test]
async fn a_schema_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("runs.db");
    drop(SqliteStore::open(&path).expect("create"));
    Connection::open(&path)
        .expect("open raw")
        .pragma_update(None, "user_version", 7)
        .expect("bump version");
    match SqliteStore::open(&path) {
        Err(StoreError::SchemaTooNew { found, known, .. }) => assert_eq!((found, known), (7, 2)),
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_unavailable_and_kept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("runs.db");
    let garbage = vec![0x5a_u8; 8192];
    std::fs::write(&path, &garbage).expect("write garbage");
    let err = SqliteStore::open(&path).expect_err("not a database");
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    assert_eq!(std::fs::read(&path).expect("read back"), garbage);
}

/// A size limit stands in for a full disk: SQLite answers SQLITE_FULL, the store says
/// `Full`, and every step saved before it is still there.
#[tokio::test]
async fn a_full_store_is_full_and_keeps_the_saved_steps() {
    let dir = tempfile::tempdir().expect("temp dir");
    let options = SqliteOptions::default().with_max_bytes(64 * 1024);
    let store = SqliteStore::open_with(dir.path().join("runs.db"), options).expect("open");
    let run = RunId::from_u64(11);
    let mut saved = Vec::new();
    let err = loop {
        let mut cp = step(run, saved.len() as u32 + 1);
        cp.state = vec![0xee; 4096];
        match store.save(&cp).await {
            Ok(()) => saved.push(cp),
            Err(e) => break e,
        }
        assert!(saved.len() < 100, "64 KiB cannot hold 100 steps of 4 KiB");
    };
    assert!(matches!(err, StoreError::Full { .. }), "{err:?}");
    assert!(!saved.is_empty());
    assert_eq!(store.history(run).await.expect("history"), saved);
}

/// Many saves at once from many tasks on the multi-thread runtime (committed together,
/// in batches, by the store's writer thread): every one returns `Ok` and every row is in
/// the file, once, as saved; a second save of each step still conflicts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_saves_all_land() {
    const RUNS: u64 = 500;
    const STEPS: u32 = 4;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("runs.db");
    let store = std::sync::Arc::new(SqliteStore::open(&path).expect("open"));
    let tasks: Vec<_> = (1..=RUNS)
        .map(|run| {
            let store = std::sync::Arc::clone(&store);
            tokio::spawn(async move {
                for n in 1..=STEPS {
                    store.save(&step(RunId::from_u64(run), n)).await?;
                    tokio::task::yield_now().await;
                }
                Ok::<(), StoreError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await
            .expect("the task ends")
            .expect("every save succeeds");
    }
    let count: i64 = Connection::open(&path)
        .expect("open raw")
        .query_row("SELECT count(*) FROM checkpoints", [], |r| r.get(0))
        .expect("count");
    assert_eq!(count, (RUNS * u64::from(STEPS)) as i64);
    for run in [1, RUNS / 2, RUNS] {
        let run = RunId::from_u64(run);
        let history = store.history(run).await.expect("history");
        let expected: Vec<Checkpoint> = (1..=STEPS).map(|n| step(run, n)).collect();
        let strip = |h: &[Checkpoint]| -> Vec<(u32, Vec<u8>)> {
            h.iter().map(|c| (c.step, c.state.clone())).collect()
        };
        assert_eq!(strip(&history), strip(&expected));
    }
    let again = store.save(&step(RunId::from_u64(7), 2)).await;
    assert!(again.is_err_and(|e| e.is_conflict()));
}

/// A store opened to read only creates nothing, refuses a file that is not a store or
/// is of a newer schema, and refuses writes.
#[tokio::test]
async fn a_read_only_store_creates_nothing_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("typo.db");
    assert!(matches!(
        SqliteStore::open_read_only(&missing),
        Err(StoreError::Unavailable { .. })
    ));
    assert!(!missing.exists());

    let other = dir.path().join("other.db");
    Connection::open(&other)
        .expect("a database")
        .execute_batch("CREATE TABLE notes (text TEXT);")
        .expect("another schema");
    match SqliteStore::open_read_only(&other) {
        Err(e @ StoreError::Unavailable { .. }) => {
            let cause = std::error::Error::source(&e).map(ToString::to_string);
            assert!(
                cause.is_some_and(|c| c.contains("not a typedflow store")),
                "{e:?}"
            );
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }

    let path = dir.path().join("runs.db");
    let run = RunId::from_u64(21);
    let cp = Checkpoint::new("Essay", 1, run, 1, "write", b"{}".to_vec());
    SqliteStore::open(&path)
        .expect("create")
        .save(&cp)
        .await
        .expect("save");
    let reader = SqliteStore::open_read_only(&path).expect("read only");
    assert_eq!(reader.history(run).await.expect("history"), [cp]);
    assert!(matches!(
        reader.delete(run).await,
        Err(StoreError::Unavailable { .. })
    ));
    let part = Part::new("0.0:x", b"1".to_vec());
    let cp1 = reader.latest(run).await.expect("latest");
    assert!(matches!(
        reader.save_part(&cp1, &part).await,
        Err(StoreError::Unavailable { .. })
    ));
    drop(reader);

    Connection::open(&path)
        .expect("open raw")
        .pragma_update(None, "user_version", 9)
        .expect("bump version");
    assert!(matches!(
        SqliteStore::open_read_only(&path),
        Err(StoreError::SchemaTooNew { found: 9, .. })
    ));
}
