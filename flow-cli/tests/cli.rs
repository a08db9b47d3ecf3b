//! The built `typedflow` against a SQLite file filled by a real durable flow (see
//! `common`), and against Postgres when `FLOW_TEST_DATABASE_URL` names a server: what
//! each command prints, and that `delete` and `prune` delete exactly what they should.

mod common;
mod scenarios;

use common::{Store, block_on, fill, typedflow};
use typedflow_store::SqliteStore;

/// A SQLite file filled by [`fill`], in a directory that lives as long as the result.
fn sqlite() -> (tempfile::TempDir, Store, common::Runs) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("runs.db");
    let runs = block_on(async { fill(&SqliteStore::open(&path).expect("the store")).await });
    (dir, Store::Sqlite(path), runs)
}

#[test]
fn runs_lists_every_run_newest_first() {
    let (_dir, store, runs) = sqlite();
    scenarios::runs_table(&store, &runs);
    scenarios::runs_json(&store, &runs);
}

#[test]
fn runs_are_filtered_by_flow_and_status() {
    let (_dir, store, runs) = sqlite();
    scenarios::runs_filtered(&store, &runs);
    let none = store.run(&["runs", "--flow", "Nope"]).ok();
    assert_eq!(none, "no runs\n");
    assert_eq!(
        store
            .run(&["runs", "--limit", "2", "--json"])
            .json()
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}

#[test]
fn history_shows_each_step_with_its_state_as_json() {
    let (_dir, store, runs) = sqlite();
    scenarios::history(&store, &runs);
}

#[test]
fn delete_deletes_exactly_the_runs_named() {
    let (_dir, store, runs) = sqlite();
    scenarios::delete(&store, &runs);
}

#[test]
fn prune_deletes_exactly_the_runs_that_match() {
    let (_dir, store, runs) = sqlite();
    scenarios::prune(&store, &runs);
}

/// Without a status, prune takes finished and failed runs of every flow, and leaves
/// every run that can still go on.
#[test]
fn prune_by_default_deletes_the_runs_that_are_over() {
    let (_dir, store, runs) = sqlite();
    let out = store.run(&["prune"]).ok();
    assert_eq!(out, "deleted 3 runs (12 checkpoints)\n");
    assert_eq!(
        store.remaining(&runs.newest_first()),
        [runs.legacy, runs.waiting, runs.unfinished]
    );
    let out = store
        .run(&["prune", "--status", "waiting", "--status", "running"])
        .ok();
    assert_eq!(out, "deleted 3 runs (5 checkpoints)\n");
    assert_eq!(store.remaining(&runs.newest_first()), []);
}

#[test]
fn an_unknown_run_is_an_error_naming_it() {
    let (_dir, store, _) = sqlite();
    let err = store.run(&["history", "00000000000000ab"]).failed();
    assert_eq!(
        err,
        "typedflow: error: no checkpoint of run 00000000000000ab in the store\n  \
         hint: `typedflow runs` lists the runs in the store\n"
    );
}

#[test]
fn a_corrupt_row_is_an_error_and_its_run_can_still_be_deleted() {
    let (dir, store, runs) = sqlite();
    // A torn write: the latest state of `failed` loses its last bytes, its checksum stays.
    let conn = rusqlite::Connection::open(dir.path().join("runs.db")).expect("the file");
    let changed = conn
        .execute(
            "UPDATE checkpoints SET state = substr(state, 1, 5) WHERE run_id = ?1 AND step = 4",
            [i64::from_ne_bytes(runs.failed.as_u64().to_ne_bytes())],
        )
        .expect("the update");
    assert_eq!(changed, 1);
    drop(conn);

    for args in [
        &["runs"][..],
        &["history", &runs.failed.to_string()],
        &["prune", "--dry-run"],
    ] {
        let err = store.run(args).failed();
        let expected = format!(
            "typedflow: error: checkpoint of run {0} at step 4 is corrupt: its state (5 bytes) \
             does not match its checksum: truncated or altered\n  \
             hint: the row is left as it is; `typedflow delete {0}` removes the run\n",
            runs.failed
        );
        assert_eq!(err, expected, "{args:?}");
    }
    let out = store.run(&["delete", &runs.failed.to_string()]).ok();
    assert_eq!(out, "deleted 1 run (4 checkpoints)\n");
    assert_eq!(
        store
            .run(&["runs", "--json"])
            .json()
            .as_array()
            .map(Vec::len),
        Some(5)
    );
}

/// `runs`, `history` and `prune --dry-run` open the file to read only: a file of the
/// first schema, in rollback-journal mode, is listed and left as it was (no migration,
/// no switch to WAL); `prune` then migrates it as any writer would.
#[test]
fn reading_commands_change_nothing_in_the_file() {
    let (dir, store, runs) = sqlite();
    let path = dir.path().join("runs.db");
    let raw = rusqlite::Connection::open(&path).expect("open raw");
    raw.execute_batch("DROP TABLE parts; PRAGMA user_version = 1; PRAGMA journal_mode = DELETE;")
        .expect("back to the first schema, without WAL");
    drop(raw);
    let before = std::fs::read(&path).expect("the file");

    scenarios::runs_table(&store, &runs);
    scenarios::history(&store, &runs);
    store.run(&["prune", "--dry-run"]).ok();
    assert!(
        std::fs::read(&path).expect("the file") == before,
        "the file changed"
    );
    assert!(!dir.path().join("runs.db-wal").exists(), "no WAL was made");

    store.run(&["prune"]).ok();
    let raw = rusqlite::Connection::open(&path).expect("open raw");
    let version: i64 = raw
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("the version");
    assert_eq!(version, 2, "a writing command migrates");
}

#[test]
fn a_store_that_cannot_be_opened_is_an_error() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let missing = dir.path().join("typo.db");
    let err = typedflow(&["--store", missing.to_str().unwrap(), "runs"]).failed();
    assert!(err.contains("the file does not exist"), "{err}");
    assert!(!missing.exists(), "no store is created");

    let not_a_store = dir.path().join("notes.txt");
    std::fs::write(&not_a_store, "these are not the checkpoints you are looking for, nor a database header either: just text long enough to fill one").unwrap();
    let err = typedflow(&["--store", not_a_store.to_str().unwrap(), "runs"]).failed();
    assert!(err.contains("the checkpoint store is unavailable"), "{err}");
    assert!(err.contains("not a database"), "{err}");

    let err = typedflow(&["runs"]).failed();
    assert!(
        err.starts_with("typedflow: error: no store given\n"),
        "{err}"
    );
}

/// A database URL's password appears nowhere: not in an error, whatever the build.
#[test]
fn a_database_url_password_is_never_printed() {
    let url = "postgres://flow:hunter2@127.0.0.1:1/flow";
    for ran in [
        typedflow(&["--database-url", url, "runs"]),
        common::typedflow_env(&["runs"], Some(url)),
    ] {
        let err = ran.failed();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(
            err.contains("postgres://flow:***@127.0.0.1:1/flow"),
            "{err}"
        );
        if cfg!(feature = "postgres") {
            assert!(err.contains("connecting to Postgres"), "{err}");
        } else {
            assert!(err.contains("built without Postgres support"), "{err}");
        }
    }
    // Nor in clap's usage errors.
    let store = ["--store", "runs.db", "--database-url", url, "runs"];
    for args in [
        &store[..],
        &["--database-url", url, "bogus"],
        &["--database-url", url, "--database-url", url],
    ] {
        let ran = typedflow(args);
        assert_eq!(ran.code, Some(2), "{}", ran.stderr);
        assert!(!ran.stderr.contains("hunter2"), "{}", ran.stderr);
    }
}

#[test]
fn usage_errors_exit_with_2_and_help_says_who_resumes() {
    let ran = typedflow(&["history", "not-an-id"]);
    assert_eq!(ran.code, Some(2));
    assert!(
        ran.stderr.contains("a run id is up to 16 hex digits"),
        "{}",
        ran.stderr
    );
    let ran = typedflow(&["prune", "--older-than", "7 days"]);
    assert_eq!(ran.code, Some(2));
    assert!(ran.stderr.contains("is not an age"), "{}", ran.stderr);
    let long = typedflow(&["--help"]).ok();
    assert!(
        long.contains("Resuming a run stays with the program that owns the flow"),
        "{long}"
    );
    assert!(long.contains("flow.resume(&store, run_id)"), "{long}");
    let short = typedflow(&["-h"]).ok();
    assert!(
        short.contains("resuming a run stays with the program that owns the flow"),
        "{short}"
    );
}

/// The same scenarios against Postgres, one after another on one database (they share
/// it with other tests, so each looks only at its own runs).
#[cfg(feature = "postgres")]
#[test]
#[ignore = "needs a Postgres server named by FLOW_TEST_DATABASE_URL (.ci/run starts one)"]
fn postgres_every_command() {
    let url = std::env::var("FLOW_TEST_DATABASE_URL")
        .expect("FLOW_TEST_DATABASE_URL names the Postgres server to test against");
    let fresh = || {
        Store::Postgres(url.clone()).clear();
        let runs = block_on(async {
            let store = typedflow_store::PostgresStore::connect(&url)
                .await
                .expect("FLOW_TEST_DATABASE_URL is set but the store cannot connect");
            fill(&store).await
        });
        (Store::Postgres(url.clone()), runs)
    };
    let (store, runs) = fresh();
    scenarios::runs_table(&store, &runs);
    scenarios::runs_json(&store, &runs);
    // The same store named by DATABASE_URL alone.
    let by_env = common::typedflow_env(&["history", &runs.finished.to_string()], Some(&url));
    assert!(by_env.ok().contains("): finished, 4 checkpoints"));
    scenarios::history(&store, &runs);
    scenarios::delete(&store, &runs);
    let (store, runs) = fresh();
    scenarios::prune(&store, &runs);
    store.clear();
}
