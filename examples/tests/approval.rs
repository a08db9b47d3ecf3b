//! The `approval` example, as its users run it: each command a process of its own, the
//! run kept in the store between them. On a SQLite file; and on Postgres, an ignored test
//! that `.ci/run` runs with a cluster it starts (`FLOW_TEST_DATABASE_URL`).
//!
//! The example's binary is built here with the cargo that runs the tests (a no-op when it
//! is up to date), next to this test's own binary.

use std::path::PathBuf;
use std::process::{Command, Output};

use typedflow::RunId;
use typedflow::checkpoint::{Checkpointer, RunStatus};
use typedflow_store::SqliteStore;

/// The example's binary, built if it is not.
fn example() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    // target/<profile>/deps/approval-<hash> -> target/<profile>/examples/approval
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test runs from target/<profile>/deps");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build.args([
        "build",
        "-q",
        "-p",
        "typedflow-examples",
        "--example",
        "approval",
    ]);
    if profile_dir.file_name().is_some_and(|p| p == "release") {
        build.arg("--release");
    }
    let status = build.status().expect("cargo runs");
    assert!(status.success(), "the example builds");
    profile_dir.join("examples").join("approval")
}

/// One command of the example, in a process of its own, with `env` set.
fn run(example: &PathBuf, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Command::new(example);
    command.args(args).env_remove("DATABASE_URL");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("the example starts")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "the example failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Start, show, reject, approve, then a second approval, each in its own process.
fn review_in_five_processes(env: &[(&str, &str)], id: &str) {
    let example = example();
    let started = stdout(&run(&example, env, &["start", "durable runs", id]));
    assert!(
        started
            .contains("waits for an editor at `review` (revision 0): durable runs: a first draft."),
        "{started}"
    );
    let shown = stdout(&run(&example, env, &["show", id]));
    assert!(shown.contains("(revision 0)"), "{shown}");
    let rejected = stdout(&run(&example, env, &["reject", id, "shorter"]));
    assert!(
        rejected.contains("(revision 1): durable runs: a first draft. Revised: shorter."),
        "{rejected}"
    );
    let approved = stdout(&run(&example, env, &["approve", id]));
    assert!(
        approved.contains(
            "published after 1 revision(s): durable runs: a first draft. Revised: shorter."
        ),
        "{approved}"
    );
    let again = run(&example, env, &["approve", id]);
    assert!(!again.status.success());
    let error = String::from_utf8_lossy(&again.stderr);
    assert!(
        error.contains("is not waiting for an answer (it is finished)"),
        "{error}"
    );
}

#[test]
fn a_post_waits_for_its_editor_across_processes_on_sqlite() {
    let dir = tempfile_dir("sqlite");
    let db = dir.join("approval.sqlite");
    let db_text = db.to_str().expect("a UTF-8 path");
    review_in_five_processes(&[("APPROVAL_DB", db_text)], "2a");

    // What the processes left in the file: two waits, each answered once, then the end.
    let store = SqliteStore::open(&db).expect("the file opens");
    let history = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
        .block_on(store.history(RunId::from_u64(0x2a)))
        .expect("the run's history");
    let waits: Vec<u32> = history
        .iter()
        .filter(|cp| matches!(cp.status, RunStatus::Waiting { .. }))
        .map(|cp| cp.step)
        .collect();
    assert_eq!(waits.len(), 2, "{history:?}");
    assert_eq!(history.last().map(|cp| cp.status.name()), Some("finished"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
#[ignore = "needs a Postgres server: .ci/run starts one, sets FLOW_TEST_DATABASE_URL and runs this with --ignored"]
fn a_post_waits_for_its_editor_across_processes_on_postgres() {
    let url = std::env::var("FLOW_TEST_DATABASE_URL")
        .expect("FLOW_TEST_DATABASE_URL names the Postgres database to run on");
    // A run id of this process's, so a database kept between runs holds no run of it.
    let id = format!("{:x}", u64::from(std::process::id()) << 20 | 0xa11);
    review_in_five_processes(&[("DATABASE_URL", &url)], &id);
}

/// A fresh directory of this test's in the system's temporary directory.
fn tempfile_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("typedflow-approval-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}
