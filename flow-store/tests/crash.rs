//! Crash recovery with real processes, on one SQLite file: a worker process killed with
//! SIGKILL in the middle of a node, and a run resumed by another process to the output of
//! a run that never crashed; and two processes resuming one run at once, where the file's
//! primary key lets one win and the other gets a typed conflict.
//!
//! The worker is this test binary, started again with `worker` as its test filter and its
//! orders in environment variables: it has the flow below compiled in, and cargo builds
//! it whichever test target is asked for (`--test crash`), so there is nothing to locate
//! but `current_exe()`. Run without those variables, `worker` does nothing.
//!
//! Nothing here waits for a time to pass: the test waits for marker files the nodes write
//! (a bounded poll that fails with the files it was waiting for), and a node that holds
//! waits for a `go` file (bounded too, so a worker the test forgot is never left behind).

#![cfg(unix)]

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use typedflow::checkpoint::{Checkpointer, RunStatus};
use typedflow::durable::DurableError;
use typedflow::prelude::*;
use typedflow_store::SqliteStore;

/// What the nodes of a process write to, and where one of them holds.
#[derive(Deps)]
pub struct World {
    /// The journal the nodes append to.
    pub journal: Journal,
}

/// The shared files of a test: the nodes' log, and the markers a held node writes.
pub struct Journal {
    /// The directory of the log and the markers.
    dir: PathBuf,
    /// This process's name in the markers.
    name: String,
    /// The node that holds (writes `<name>.in-<node>`, then waits for `go`), if any.
    hold: Option<String>,
}

impl Journal {
    /// Appends `node key` to the log: one `write` of one line on a file opened to append,
    /// so the lines of several processes do not interleave, and a line written is in
    /// the file even if the process is killed the next instant.
    fn log(&self, node: &str, cx: &Context) {
        let line = format!("{node} {}\n", cx.idempotency_key());
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("log"))
            .expect("the log opens");
        file.write_all(line.as_bytes()).expect("the log is written");
    }

    /// Where `node` holds in this process: says so with a marker file, then waits for
    /// the test's `go` file (which the crash test never writes: it kills the process).
    async fn hold(&self, node: &str) {
        if self.hold.as_deref() != Some(node) {
            return;
        }
        fs::write(self.dir.join(format!("{}.in-{node}", self.name)), b"")
            .expect("the marker is written");
        wait_for(&[self.dir.join("go")], "the test's go").await;
    }
}

async fn step(name: &str, mut trail: Vec<String>, journal: &Journal, cx: &Context) -> Vec<String> {
    journal.log(name, cx);
    journal.hold(name).await;
    trail.push(name.to_owned());
    trail
}

#[node]
async fn a(trail: Vec<String>, journal: &Journal, cx: &Context) -> Vec<String> {
    step("a", trail, journal, cx).await
}

#[node]
async fn b(trail: Vec<String>, journal: &Journal, cx: &Context) -> Vec<String> {
    step("b", trail, journal, cx).await
}

#[node]
async fn c(trail: Vec<String>, journal: &Journal, cx: &Context) -> Vec<String> {
    step("c", trail, journal, cx).await
}

#[node]
async fn d(trail: Vec<String>, journal: &Journal, cx: &Context) -> Vec<String> {
    step("d", trail, journal, cx).await
}

graph! {
    #[flow(durable, deps = World)]
    Trail(Vec<String>) -> Vec<String> {
        START -> a -> b -> c -> d -> END;
    }
}

/// The run every test starts.
const RUN: RunId = RunId::from_u64(0xc4a5);

fn input() -> Vec<String> {
    vec!["start".to_owned()]
}

/// How long a poll waits for a file before it fails the test (or the worker).
const PATIENCE: Duration = Duration::from_secs(30);

/// Waits until every file of `paths` exists, polling; panics naming them after
/// [`PATIENCE`].
async fn wait_for(paths: &[PathBuf], what: &str) {
    let until = Instant::now() + PATIENCE;
    while !paths.iter().all(|p| p.exists()) {
        assert!(
            Instant::now() < until,
            "waited {PATIENCE:?} for {what}: {paths:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The worker: a process the tests start, with its orders in `FLOW_CRASH_*` variables.
/// It starts (`start`) or resumes (`resume`) the run [`RUN`] in the SQLite file
/// `FLOW_CRASH_DIR/runs.db`, holding in node `FLOW_CRASH_HOLD` if set, and writes how it
/// ended in `FLOW_CRASH_DIR/<FLOW_CRASH_NAME>.outcome`.
#[tokio::test]
#[ignore = "the worker process of the crash tests, which start it themselves"]
async fn worker() {
    let Some(dir) = std::env::var_os("FLOW_CRASH_DIR").map(PathBuf::from) else {
        return;
    };
    let var = |name: &str| std::env::var(name).ok();
    let name = var("FLOW_CRASH_NAME").expect("FLOW_CRASH_NAME is set");
    let role = var("FLOW_CRASH_ROLE").expect("FLOW_CRASH_ROLE is set");
    let store = SqliteStore::open(dir.join("runs.db")).expect("the store opens");
    let flow = Trail::new(World {
        journal: Journal {
            dir: dir.clone(),
            name: name.clone(),
            hold: var("FLOW_CRASH_HOLD"),
        },
    });
    let out = match role.as_str() {
        "start" => flow.run(input()).checkpoint(&store).run_id(RUN).await,
        "resume" => flow.resume(&store, RUN).await,
        other => panic!("unknown role {other}"),
    };
    let outcome = match out {
        Ok(trail) => format!("finished {}", trail.join(" ")),
        Err(e)
            if e.durable_error()
                .and_then(DurableError::store_error)
                .is_some_and(|e| e.is_conflict()) =>
        {
            "conflict".to_owned()
        }
        Err(e) => format!("error {e:?}"),
    };
    fs::write(dir.join(format!("{name}.outcome")), outcome).expect("the outcome is written");
}

/// A worker process, killed (SIGKILL) if the test drops it before it exits.
struct Worker {
    name: String,
    child: Option<Child>,
}

impl Worker {
    /// Starts this test binary as a worker named `name` in `dir`.
    fn start(dir: &Path, name: &str, role: &str, hold: Option<&str>) -> Worker {
        let exe = std::env::current_exe().expect("the test binary's path");
        let mut cmd = Command::new(exe);
        cmd.args([
            "worker",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("FLOW_CRASH_DIR", dir)
        .env("FLOW_CRASH_NAME", name)
        .env("FLOW_CRASH_ROLE", role)
        .env_remove("FLOW_CRASH_HOLD")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        if let Some(node) = hold {
            cmd.env("FLOW_CRASH_HOLD", node);
        }
        Worker {
            name: name.to_owned(),
            child: Some(cmd.spawn().expect("the worker starts")),
        }
    }

    /// Waits for the worker to exit; panics with its output if it failed.
    fn finish(mut self) -> Output {
        let child = self.child.take().expect("a worker is waited for once");
        let out = child.wait_with_output().expect("the worker is waited for");
        assert!(
            out.status.success(),
            "worker {} failed ({}):\n{}\n{}",
            self.name,
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Kills the worker with SIGKILL and reaps it.
    fn kill(mut self) {
        let mut child = self.child.take().expect("a worker is killed once");
        child.kill().expect("the worker is killed");
        let status = child.wait().expect("the killed worker is reaped");
        // SIGKILL is signal 9: the process did not exit by itself.
        assert_eq!(status.signal(), Some(9), "{status}");
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The lines of the log, each `node key`.
fn log_lines(dir: &Path) -> Vec<String> {
    fs::read_to_string(dir.join("log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn outcome(dir: &Path, name: &str) -> String {
    fs::read_to_string(dir.join(format!("{name}.outcome")))
        .unwrap_or_else(|e| panic!("worker {name} wrote no outcome: {e}"))
}

/// The output of the run, never crashed: the same flow, in this process, without a store.
async fn uncrashed() -> Vec<String> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let flow = Trail::new(World {
        journal: Journal {
            dir: dir.path().to_owned(),
            name: "uncrashed".into(),
            hold: None,
        },
    });
    let out = flow.run(input()).await.expect("the run without a store");
    assert_eq!(log_lines(dir.path()).len(), 4, "each node ran once");
    out
}

/// The key `cx.idempotency_key()` gives at `step` of [`RUN`]: the run id and the step.
fn key(step: u32) -> String {
    format!("{RUN}-{step}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_in_a_node_is_resumed_by_another_process() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let first = Worker::start(dir, "first", "start", Some("c"));
    wait_for(&[dir.join("first.in-c")], "the first worker in node c").await;
    first.kill();

    assert_eq!(key(0), Context::new("Trail", RUN).idempotency_key());
    // `a` and `b` were saved; `c` had started and was not.
    let store = SqliteStore::open(dir.join("runs.db")).unwrap();
    let last = store.latest(RUN).await.unwrap();
    assert_eq!((last.step, last.node.as_str()), (2, "c"));
    assert_eq!(last.status, RunStatus::Running);
    assert_eq!(
        log_lines(dir),
        [
            format!("a {}", key(1)),
            format!("b {}", key(2)),
            format!("c {}", key(3))
        ]
    );

    Worker::start(dir, "second", "resume", None).finish();
    let want = uncrashed().await;
    assert_eq!(
        outcome(dir, "second"),
        format!("finished {}", want.join(" "))
    );
    // Every node before the crash ran once; the one killed ran again with the same key;
    // no step was skipped.
    assert_eq!(
        log_lines(dir),
        [
            format!("a {}", key(1)),
            format!("b {}", key(2)),
            format!("c {}", key(3)),
            format!("c {}", key(3)),
            format!("d {}", key(4)),
        ]
    );
    let history = store.history(RUN).await.unwrap();
    let steps: Vec<_> = history
        .iter()
        .map(|cp| (cp.step, cp.node.as_str()))
        .collect();
    assert_eq!(steps, [(1, "b"), (2, "c"), (3, "d"), (4, "END")]);
    assert_eq!(history[3].status, RunStatus::Finished);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_resuming_one_run_one_wins_the_other_conflicts() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    // A run killed in `c`, as above.
    let first = Worker::start(dir, "first", "start", Some("c"));
    wait_for(&[dir.join("first.in-c")], "the first worker in node c").await;
    first.kill();

    // Both resume from the same checkpoint and hold in `c` until both are in it; then
    // both save step 3, and the file's primary key lets one of them do it.
    let x = Worker::start(dir, "x", "resume", Some("c"));
    let y = Worker::start(dir, "y", "resume", Some("c"));
    wait_for(
        &[dir.join("x.in-c"), dir.join("y.in-c")],
        "both resumers in node c",
    )
    .await;
    fs::write(dir.join("go"), b"").unwrap();
    x.finish();
    y.finish();

    let want = format!("finished {}", uncrashed().await.join(" "));
    let mut outcomes = [outcome(dir, "x"), outcome(dir, "y")];
    outcomes.sort();
    assert_eq!(outcomes, ["conflict".to_owned(), want]);
    // The winner's run is in the file, once.
    let store = SqliteStore::open(dir.join("runs.db")).unwrap();
    let history = store.history(RUN).await.unwrap();
    let steps: Vec<_> = history
        .iter()
        .map(|cp| (cp.step, cp.node.as_str()))
        .collect();
    assert_eq!(steps, [(1, "b"), (2, "c"), (3, "d"), (4, "END")]);
    assert_eq!(history[3].status, RunStatus::Finished);
    let d_lines = log_lines(dir)
        .iter()
        .filter(|l| l.starts_with("d "))
        .count();
    assert_eq!(d_lines, 1, "only the winner went on to d");
}
