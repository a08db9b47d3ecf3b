//! Durable flows on a real Restate server (`.ci/restate.sh` starts one on 127.0.0.1 and
//! sets `RESTATE_ADMIN_ADDR` and `RESTATE_INGRESS_ADDR`): a run's result read from the
//! ingress, a worker killed with SIGKILL in the middle of a node and restarted, the same
//! run id submitted twice, and 200 runs over two workers.
//!
//! The workers are this test binary, started again with `worker` as its test filter and
//! their orders in environment variables (as `flow-store/tests/crash.rs` does): each
//! serves the flow below on a port the test gives. Two workers on one port
//! (`SO_REUSEPORT`) are one deployment to Restate, the kernel shares the connections
//! between them.
//!
//! Nothing here waits for a time to pass: the tests wait for marker files the nodes
//! write and for the ingress to answer, each bounded.

#![cfg(unix)]

mod common;

use core::future::Future;
use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use restate_sdk::endpoint::Endpoint;
use restate_sdk::http_server::HttpServer;
use tokio::net::{TcpSocket, TcpStream};
use typedflow::prelude::*;
use typedflow::{GraphInfo, NodeInfo, StepHook};

use common::{addr, http, register_at};

/// What the nodes of a worker write to, and where one of them holds.
#[derive(Deps)]
pub struct World {
    /// The log the nodes append to.
    pub log: Log,
}

/// The shared files of a test: the nodes' log, and the markers a held node writes.
pub struct Log {
    dir: PathBuf,
    /// This worker's name in the markers.
    name: String,
    /// The nodes that hold, separated by commas (each writes `<name>.in-<node>.<run id>`,
    /// then waits for `go`), if any.
    hold: Option<String>,
}

impl Log {
    /// Appends `node key worker` to the log: one `write` of one line on a file opened to
    /// append, so the lines of several processes do not interleave, and a line written
    /// is in the file even if the process is killed the next instant.
    fn log(&self, node: &str, cx: &Context) {
        let line = format!("{node} {} {}\n", cx.idempotency_key(), self.name);
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("log"))
            .expect("the log opens");
        file.write_all(line.as_bytes()).expect("the log is written");
    }

    /// Where `node` holds in this worker, in every run: says so with a marker file, then
    /// waits for the test's `go` file (which the crash tests never write: they kill the
    /// process).
    async fn hold(&self, node: &str, cx: &Context) {
        let marker = self
            .dir
            .join(format!("{}.in-{node}.{}", self.name, cx.run_id()));
        // Once: the same worker runs the node again when the server replays the run.
        let held = self
            .hold
            .as_deref()
            .is_some_and(|h| h.split(',').any(|h| h == node));
        if !held || marker.exists() {
            return;
        }
        fs::write(&marker, b"").expect("the marker is written");
        wait_for(&self.dir.join("go"), "the test's go").await;
    }
}

async fn step(name: &str, mut trail: Vec<String>, log: &Log, cx: &Context) -> Vec<String> {
    log.log(name, cx);
    log.hold(name, cx).await;
    trail.push(name.to_owned());
    trail
}

#[node]
async fn a(trail: Vec<String>, log: &Log, cx: &Context) -> Vec<String> {
    step("a", trail, log, cx).await
}

/// Fails the runs whose input is `fail`.
#[node]
async fn b(trail: Vec<String>, log: &Log, cx: &Context) -> Result<Vec<String>, std::io::Error> {
    let trail = step("b", trail, log, cx).await;
    if trail[0] == "fail" {
        return Err(std::io::Error::other("asked to fail"));
    }
    Ok(trail)
}

#[node]
async fn c(trail: Vec<String>, log: &Log, cx: &Context) -> Vec<String> {
    step("c", trail, log, cx).await
}

#[node]
async fn d(trail: Vec<String>, log: &Log, cx: &Context) -> Vec<String> {
    step("d", trail, log, cx).await
}

/// The flow's own hook: appends each run's start and end and each node call to the
/// `hooks` file, as a hook of an in-process run sees them.
pub struct Seen {
    dir: PathBuf,
}

impl Seen {
    fn note(&self, line: String) {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("hooks"))
            .expect("the hooks file opens");
        file.write_all(format!("{line}\n").as_bytes())
            .expect("the hooks file is written");
    }
}

impl StepHook for Seen {
    fn step<N: Node, F: Future<Output = Result<N::Output, N::Error>>>(
        &self,
        cx: &Context,
        node: &'static NodeInfo,
        call: F,
    ) -> impl Future<Output = F::Output> {
        self.note(format!("{} step {} {}", cx.run_id(), node.name, cx.step()));
        call
    }

    async fn run<T, F: Future<Output = Result<T, FlowError>>>(
        &self,
        _graph: &'static GraphInfo,
        run_id: RunId,
        run: F,
    ) -> F::Output {
        self.note(format!("{run_id} run"));
        let out = run.await;
        let outcome = if out.is_ok() { "ok" } else { "error" };
        self.note(format!("{run_id} end {outcome}"));
        out
    }
}

graph! {
    #[flow(durable, deps = World)]
    Trail(Vec<String>) -> Vec<String> {
        START -> a -> b -> c -> d -> END;
    }
}

/// What the run with an interrupt asks: approve the trail so far?
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Approval {
    trail: Vec<String>,
}

#[node]
async fn ask(trail: Vec<String>, log: &Log, cx: &Context) -> Approval {
    Approval {
        trail: step("ask", trail, log, cx).await,
    }
}

#[node]
async fn decide(
    approved: typedflow::durable::Answered<Approval, bool>,
    log: &Log,
    cx: &Context,
) -> Vec<String> {
    let verdict = if approved.answer {
        "approved"
    } else {
        "rejected"
    };
    step(verdict, approved.question.trail, log, cx).await
}

graph! {
    #[flow(durable, deps = World)]
    Gate(Vec<String>) -> Vec<String> {
        interrupt review: Approval => bool;
        START -> a -> ask -> review -> decide -> END;
    }
}

#[node]
async fn x(trail: Vec<String>, log: &Log, cx: &Context) -> Vec<String> {
    step("x", trail, log, cx).await
}

#[node]
async fn y(trail: Vec<String>, log: &Log, cx: &Context) -> Vec<String> {
    step("y", trail, log, cx).await
}

/// One item of a map: logged and held as `item:<item>`.
#[node]
async fn item(item: String, log: &Log, cx: &Context) -> String {
    let name = format!("item:{item}");
    log.log(&name, cx);
    log.hold(&name, cx).await;
    item.to_uppercase()
}

#[node]
async fn gather(parts: (Vec<String>, Vec<String>), log: &Log, cx: &Context) -> Vec<String> {
    let (mut trail, items) = parts;
    trail.extend(items);
    step("gather", trail, log, cx).await
}

/// One item of the last map: logged and held as `shout:<item>`.
#[node]
async fn shout(item: String, log: &Log, cx: &Context) -> String {
    let name = format!("shout:{item}");
    log.log(&name, cx);
    log.hold(&name, cx).await;
    format!("{item}!")
}

graph! {
    #[flow(durable, deps = World)]
    Spread(Vec<String>) -> Vec<String> {
        START -> a -> (x -> y, [item; 1]) -> gather -> [shout; 1] -> END;
    }
}

const PATIENCE: Duration = Duration::from_secs(60);

async fn wait_for(path: &Path, what: &str) {
    let until = Instant::now() + PATIENCE;
    while !path.exists() {
        assert!(
            Instant::now() < until,
            "waited {PATIENCE:?} for {what}: {path:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The worker process: serves `Trail` on `FLOW_RESTATE_PORT` until it is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the worker process of the Restate tests, which start it themselves"]
async fn worker() {
    let Some(dir) = std::env::var_os("FLOW_RESTATE_DIR").map(PathBuf::from) else {
        return;
    };
    let var = |name: &str| std::env::var(name).ok();
    let port: u16 = var("FLOW_RESTATE_PORT")
        .and_then(|p| p.parse().ok())
        .expect("FLOW_RESTATE_PORT is a port");
    let log = || Log {
        dir: dir.clone(),
        name: var("FLOW_RESTATE_NAME").expect("FLOW_RESTATE_NAME is set"),
        hold: var("FLOW_RESTATE_HOLD"),
    };
    let flow = Trail::new(World { log: log() }).with_hook(Seen { dir: dir.clone() });
    let gate = Gate::new(World { log: log() }).with_hook(Seen { dir: dir.clone() });
    let spread = Spread::new(World { log: log() });
    let socket = TcpSocket::new_v4().expect("a socket");
    socket.set_reuseaddr(true).expect("SO_REUSEADDR");
    socket.set_reuseport(true).expect("SO_REUSEPORT");
    socket
        .bind(SocketAddr::from(([127, 0, 0, 1], port)))
        .expect("the worker's port is free");
    let listener = socket.listen(1024).expect("the worker listens");
    let endpoint = Endpoint::builder()
        .bind(typedflow_restate::workflow!(flow))
        .bind(typedflow_restate::workflow!(gate))
        .bind(typedflow_restate::workflow!(spread))
        .build();
    HttpServer::new(endpoint).serve(listener).await;
}

/// A worker process, killed (SIGKILL) when dropped.
struct Worker {
    child: Child,
}

impl Worker {
    async fn start(dir: &Path, name: &str, port: u16, hold: Option<&str>) -> Worker {
        let exe = std::env::current_exe().expect("the test binary's path");
        let mut cmd = Command::new(exe);
        cmd.args([
            "worker",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("FLOW_RESTATE_DIR", dir)
        .env("FLOW_RESTATE_NAME", name)
        .env("FLOW_RESTATE_PORT", port.to_string())
        .env_remove("FLOW_RESTATE_HOLD")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
        if let Some(node) = hold {
            cmd.env("FLOW_RESTATE_HOLD", node);
        }
        let worker = Worker {
            child: cmd.spawn().expect("the worker starts"),
        };
        let until = Instant::now() + PATIENCE;
        while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(
                Instant::now() < until,
                "worker {name} did not listen on {port}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        worker
    }

    /// Kills the worker with SIGKILL and reaps it.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}

fn admin() -> SocketAddr {
    addr("RESTATE_ADMIN_ADDR", 19070)
}

fn ingress() -> SocketAddr {
    addr("RESTATE_INGRESS_ADDR", 18080)
}

/// Registers the worker on `port` with Restate.
async fn register(port: u16) {
    register_at(admin(), port).await;
}

fn service() -> String {
    typedflow_restate::service_name::<Trail>()
}

fn key(run: RunId) -> String {
    typedflow_restate::run_key(run)
}

/// Submits the run `run` without waiting for it; Restate's answer.
async fn submit(run: RunId) -> serde_json::Value {
    submit_to(ingress(), run).await
}

/// Submits the run `run` to the server whose ingress is `ingress`.
async fn submit_to(ingress: SocketAddr, run: RunId) -> serde_json::Value {
    submit_run(ingress, &service(), run).await
}

/// Submits the run `run` of the workflow `service` without waiting for it.
async fn submit_run(ingress: SocketAddr, service: &str, run: RunId) -> serde_json::Value {
    let path = format!("/{service}/{}/run/send", key(run));
    let (status, text) = http(ingress, "POST", &path, Some(r#"["start"]"#)).await;
    assert!(
        (200..300).contains(&status),
        "submitting {run}: {status} {text}"
    );
    serde_json::from_str(&text).expect("Restate answers JSON")
}

/// The output of the run `run`, once it has finished.
async fn output(run: RunId) -> Vec<String> {
    output_from(ingress(), run).await
}

/// The output of the run `run` from the server whose ingress is `ingress`.
async fn output_from(ingress: SocketAddr, run: RunId) -> Vec<String> {
    output_of(ingress, &service(), run).await
}

/// The output of the run `run` of the workflow `service`, once it has finished.
async fn output_of(ingress: SocketAddr, service: &str, run: RunId) -> Vec<String> {
    let path = format!("/restate/workflow/{service}/{}/attach", key(run));
    let answer = tokio::time::timeout(PATIENCE, http(ingress, "GET", &path, None));
    let (status, text) = answer.await.expect("the run finishes in time");
    assert_eq!(status, 200, "the output of {run}: {text}");
    serde_json::from_str(&text).expect("the output is the flow's")
}

/// Each node call in the log: node, idempotency key, worker.
fn calls(dir: &Path) -> Vec<(String, String, String)> {
    let log = fs::read_to_string(dir.join("log")).unwrap_or_default();
    log.lines()
        .map(|line| {
            let mut parts = line.split(' ').map(str::to_owned);
            let mut next = || parts.next().expect("`node key worker`");
            (next(), next(), next())
        })
        .collect()
}

/// How many times each node ran with each idempotency key.
fn counts(dir: &Path) -> BTreeMap<(String, String), u32> {
    let mut counts = BTreeMap::new();
    for (node, key, _) in calls(dir) {
        *counts.entry((node, key)).or_insert(0) += 1;
    }
    counts
}

/// What the flow's hook saw of the run `run`, in order.
fn hooks(dir: &Path, run: RunId) -> Vec<String> {
    let text = fs::read_to_string(dir.join("hooks")).unwrap_or_default();
    let prefix = format!("{run} ");
    text.lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(str::to_owned)
        .collect()
}

/// The workers' port for a test: below the ephemeral range, one per test, so that a
/// restarted worker finds its port free and Restate finds the deployment it pinned its
/// runs to.
fn port(offset: u16) -> u16 {
    let base: u16 = std::env::var("FLOW_RESTATE_WORKER_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(19180);
    base + offset
}

/// The tests register deployments of one service: one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A run id no earlier run of the server used (the server may outlive a test run).
fn fresh(n: u64) -> RunId {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_micros() as u64;
    RunId::from_u64((now << 16) ^ n)
}

const FULL: [&str; 5] = ["start", "a", "b", "c", "d"];

#[tokio::test]
#[ignore = "needs a Restate server on 127.0.0.1: .ci/restate.sh starts one"]
async fn a_durable_flow_runs_on_restate_and_its_result_is_read_back() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let port = port(0);
    let _worker = Worker::start(dir.path(), "w1", port, None).await;
    register(port).await;

    let run = fresh(1);
    let path = format!("/{}/{}/run", service(), key(run));
    let (status, text) = http(ingress(), "POST", &path, Some(r#"["start"]"#)).await;
    assert_eq!(status, 200, "{text}");
    let out: Vec<String> = serde_json::from_str(&text).expect("the flow's output");
    assert_eq!(out, FULL);

    // Each node ran once, at its step, with the run's id in its key.
    let counts = counts(dir.path());
    let want: BTreeMap<_, _> = ["a", "b", "c", "d"]
        .iter()
        .enumerate()
        .map(|(i, n)| ((n.to_string(), format!("{run}-{}", i + 1)), 1))
        .collect();
    assert_eq!(counts, want);

    // The flow's hook saw one run, as in-process: its start, each node at its step, its
    // end.
    let seen = [
        "run", "step a 1", "step b 2", "step c 3", "step d 4", "end ok",
    ];
    assert_eq!(hooks(dir.path(), run), seen);

    // A node that fails fails the run for good: a terminal error that says which node
    // and why, the hook saw the run end in error, and the run id cannot run again.
    let failing = fresh(6);
    let path = format!("/{}/{}/run", service(), key(failing));
    let (status, text) = http(ingress(), "POST", &path, Some(r#"["fail"]"#)).await;
    assert_eq!(status, 500, "{text}");
    assert!(
        text.contains("node `b` failed") && text.contains("asked to fail"),
        "{text}"
    );
    let seen = ["run", "step a 1", "step b 2", "end error"];
    assert_eq!(hooks(dir.path(), failing), seen);
    let (status, text) = http(ingress(), "POST", &path, Some(r#"["start"]"#)).await;
    assert_eq!(status, 409, "{text}");

    // A key that is not a run id is refused, with a terminal error that says why.
    // (Not hex, and new for each test run: a workflow's key runs once per server.)
    let path = format!("/{}/order-{}/run", service(), fresh(5).as_u64());
    let (status, text) = http(ingress(), "POST", &path, Some(r#"["start"]"#)).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("not a run id"), "{text}");
}

#[tokio::test]
#[ignore = "needs a Restate server on 127.0.0.1: .ci/restate.sh starts one"]
async fn a_worker_killed_in_a_node_is_replaced_and_the_run_finishes_with_earlier_nodes_run_once() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let port = port(1);
    let mut first = Worker::start(dir.path(), "w1", port, Some("c")).await;
    register(port).await;

    let run = fresh(2);
    submit(run).await;
    let marker = dir.path().join(format!("w1.in-c.{run}"));
    wait_for(&marker, "the first worker inside `c`").await;
    first.kill();

    let _second = Worker::start(dir.path(), "w2", port, None).await;
    assert_eq!(output(run).await, FULL);

    // `a` and `b` were journaled: once each. `c` was running when the worker died: it
    // ran again, with the same idempotency key. `d` once.
    let key = |step: u32| format!("{run}-{step}");
    let counts = counts(dir.path());
    let want: BTreeMap<_, _> = [("a", 1, 1), ("b", 2, 1), ("c", 3, 2), ("d", 4, 1)]
        .into_iter()
        .map(|(n, step, times)| ((n.to_owned(), key(step)), times))
        .collect();
    assert_eq!(counts, want);

    // The hook saw the first attempt stop inside `c`, then a run resumed at `c`, as a
    // resumed durable run is seen in-process.
    let seen = [
        "run", "step a 1", "step b 2", "step c 3", // the killed worker
        "run", "step c 3", "step d 4", "end ok", // its replacement
    ];
    assert_eq!(hooks(dir.path(), run), seen);
}

#[tokio::test]
#[ignore = "needs a Restate server on 127.0.0.1: .ci/restate.sh starts one"]
async fn one_run_id_submitted_twice_runs_once_and_200_runs_over_two_workers_each_run_once() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let port = port(2);
    let _w1 = Worker::start(dir.path(), "w1", port, None).await;
    let _w2 = Worker::start(dir.path(), "w2", port, None).await;
    register(port).await;

    // The same run id twice: Restate says the second was accepted before.
    let twice = fresh(3);
    let first = submit(twice).await;
    let again = submit(twice).await;
    assert_eq!(
        first["invocationId"], again["invocationId"],
        "{first} {again}"
    );
    assert_eq!(again["status"], "PreviouslyAccepted", "{again}");
    assert_eq!(output(twice).await, FULL);

    // 200 runs at once.
    let runs: Vec<RunId> = (0..200).map(|i| fresh(1000 + i)).collect();
    let mut submits = tokio::task::JoinSet::new();
    for &run in &runs {
        submits.spawn(submit(run));
    }
    while let Some(done) = submits.join_next().await {
        done.expect("a submission");
    }
    let mut outputs = tokio::task::JoinSet::new();
    for &run in &runs {
        outputs.spawn(output(run));
    }
    while let Some(out) = outputs.join_next().await {
        assert_eq!(out.expect("an output"), FULL);
    }

    // Every node of every run ran exactly once. (The kernel shares Restate's
    // connections between the two workers: usually both take runs, but Restate may
    // keep all on one connection, so the split is shown, not asserted.)
    let by_worker = calls(dir.path())
        .into_iter()
        .fold([0, 0], |mut n, (_, _, w)| {
            n[usize::from(w == "w2")] += 1;
            n
        });
    eprintln!("node calls by worker: {by_worker:?}");
    let counts = counts(dir.path());
    assert_eq!(counts.len(), 4 * 201, "{counts:?}");
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
}

/// A Restate server of a test's own, on the spare ports, so that the test can kill it.
struct Server {
    child: Child,
    base: PathBuf,
}

/// The spare server's ports: ingress, admin, node-to-node. Below the ephemeral range,
/// beside those of `.ci/restate.sh`.
const SPARE: (u16, u16, u16) = (18081, 19071, 15123);

impl Server {
    /// Starts the pinned server (`RESTATE_SERVER_BIN`, which `.ci/restate.sh` exports)
    /// on the spare ports with its data in `base`, and waits until its admin API is up.
    async fn start(base: &Path) -> Server {
        let bin = std::env::var_os("RESTATE_SERVER_BIN")
            .expect("RESTATE_SERVER_BIN names the server: .ci/restate.sh exports it");
        let (ingress, admin, node) = SPARE;
        let config = format!(
            "cluster-name = \"typedflow-spare\"\n\
             node-name = \"spare\"\n\
             default-num-partitions = 1\n\
             disable-telemetry = true\n\
             rocksdb-total-memory-size = \"128 MiB\"\n\
             bind-address = \"127.0.0.1:{node}\"\n\
             advertised-address = \"http://127.0.0.1:{node}/\"\n\
             [admin]\nbind-address = \"127.0.0.1:{admin}\"\ndisable-web-ui = true\n\
             [admin.query-engine]\nmemory-size = \"64 MiB\"\n\
             [ingress]\nbind-address = \"127.0.0.1:{ingress}\"\n"
        );
        fs::write(base.join("restate.toml"), config).expect("the config is written");
        let log = fs::File::create(base.join("restate.log")).expect("the log opens");
        let child = Command::new(bin)
            .arg("--config-file")
            .arg(base.join("restate.toml"))
            .arg("--base-dir")
            .arg(base.join("data"))
            .args(["--listen-mode", "tcp", "--no-logo"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the log"))
            .stderr(log)
            .spawn()
            .expect("the server starts");
        let server = Server {
            child,
            base: base.to_owned(),
        };
        let until = Instant::now() + PATIENCE;
        loop {
            let up = match TcpStream::connect(Server::admin()).await {
                Ok(_) => http(Server::admin(), "GET", "/health", None).await.0 == 200,
                Err(_) => false,
            };
            if up {
                return server;
            }
            let log = fs::read_to_string(base.join("restate.log")).unwrap_or_default();
            assert!(
                Instant::now() < until,
                "the spare server did not start:\n{log}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn admin() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], SPARE.1))
    }

    fn ingress() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], SPARE.0))
    }

    /// Kills the server with SIGKILL, and starts it again on the same data.
    async fn restart(&mut self) {
        self.kill();
        let base = self.base.clone();
        *self = Server::start(&base).await;
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test]
#[ignore = "needs the Restate server's binary: .ci/restate.sh installs it and sets RESTATE_SERVER_BIN"]
async fn the_server_killed_while_a_node_runs_and_restarted_finishes_the_run_with_earlier_nodes_run_once()
 {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let base = tempfile::tempdir().expect("a directory for the server's data");
    let mut server = Server::start(base.path()).await;
    let port = port(3);
    let _worker = Worker::start(dir.path(), "w1", port, Some("c")).await;
    register_at(Server::admin(), port).await;

    let run = fresh(4);
    submit_to(Server::ingress(), run).await;
    let marker = dir.path().join(format!("w1.in-c.{run}"));
    wait_for(&marker, "the worker inside `c`").await;
    server.restart().await;

    assert_eq!(output_from(Server::ingress(), run).await, FULL);
    // The first call of `c` may still wait in the worker: let it end.
    fs::write(dir.path().join("go"), b"").expect("go");

    let key = |step: u32| format!("{run}-{step}");
    let counts = counts(dir.path());
    let want: BTreeMap<_, _> = [("a", 1, 1), ("b", 2, 1), ("c", 3, 2), ("d", 4, 1)]
        .into_iter()
        .map(|(n, step, times)| ((n.to_owned(), key(step)), times))
        .collect();
    assert_eq!(counts, want);
}

#[tokio::test]
#[ignore = "needs a Restate server on 127.0.0.1: .ci/restate.sh starts one"]
async fn of_two_workers_one_killed_inside_its_runs_the_other_finishes_them_all() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let port = port(4);
    // The first worker takes every run and holds each inside `b`.
    let mut first = Worker::start(dir.path(), "w1", port, Some("b")).await;
    register(port).await;
    let runs: Vec<RunId> = (0..20).map(|i| fresh(2000 + i)).collect();
    for &run in &runs {
        submit(run).await;
    }
    for &run in &runs {
        let marker = dir.path().join(format!("w1.in-b.{run}"));
        wait_for(&marker, "every run inside `b` on the first worker").await;
    }
    // A second worker on the same port; the first dies with 20 runs inside `b`.
    let _second = Worker::start(dir.path(), "w2", port, None).await;
    first.kill();

    for &run in &runs {
        assert_eq!(output(run).await, FULL);
    }
    // Per run: `a` once, on the first worker (journaled); `b` on the first (cut) and
    // again on the second, with one key; `c` and `d` once, on the second.
    let mut calls = calls(dir.path());
    calls.sort();
    let mut want = Vec::new();
    for &run in &runs {
        let key = |step: u32| format!("{run}-{step}");
        want.push(("a".to_owned(), key(1), "w1".to_owned()));
        want.push(("b".to_owned(), key(2), "w1".to_owned()));
        want.push(("b".to_owned(), key(2), "w2".to_owned()));
        want.push(("c".to_owned(), key(3), "w2".to_owned()));
        want.push(("d".to_owned(), key(4), "w2".to_owned()));
    }
    want.sort();
    assert_eq!(calls, want);
}

#[tokio::test]
#[ignore = "needs a Restate server on 127.0.0.1: .ci/restate.sh starts one"]
async fn a_run_waits_for_its_answer_without_a_worker_and_the_answer_resumes_it_once() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let port = port(5);
    let mut first = Worker::start(dir.path(), "w1", port, None).await;
    register(port).await;

    let run = fresh(7);
    let gate = typedflow_restate::service_name::<Gate>();
    submit_run(ingress(), &gate, run).await;

    // The question, once the run waits: a bounded poll of the `question` handler.
    let question = typedflow_restate::question_path::<Gate>(run);
    let until = Instant::now() + PATIENCE;
    let asked = loop {
        let (status, text) = http(ingress(), "POST", &question, None).await;
        assert_eq!(status, 200, "{text}");
        let asked: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        if !asked.is_null() {
            break asked;
        }
        assert!(Instant::now() < until, "the run never asked");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(asked["interrupt"], "review");
    assert_eq!(asked["question_type"], "Approval");
    assert_eq!(
        asked["question"],
        serde_json::json!({"trail": ["start", "a", "ask"]})
    );

    // A waiting run holds no worker: the only one goes, and another answers for it.
    first.kill();
    let _second = Worker::start(dir.path(), "w2", port, None).await;
    let (path, body) =
        typedflow_restate::answer_request::<Gate, Approval>(run, &true).expect("a bool serializes");
    let body = String::from_utf8(body).expect("JSON is UTF-8");
    let (status, text) = http(ingress(), "POST", &path, Some(&body)).await;
    assert_eq!(status, 200, "{text}");

    let out = output_of(ingress(), &gate, run).await;
    assert_eq!(out, ["start", "a", "ask", "approved"]);

    // Every node ran once: the wait and the worker's death ran nothing again.
    let counts = counts(dir.path());
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    assert_eq!(counts.len(), 3, "{counts:?}");

    // The run no longer waits: a second answer is refused.
    let (status, text) = http(ingress(), "POST", &path, Some("false")).await;
    assert_eq!(status, 409, "{text}");
}

#[tokio::test]
#[ignore = "needs a Restate server on 127.0.0.1: .ci/restate.sh starts one"]
async fn workers_killed_inside_a_fan_out_and_a_map_are_replaced_and_no_ended_call_runs_again() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let port = port(6);
    // `y` holds, so `x` before it has ended and been journaled; the map takes one item
    // at a time and its second item holds, so the first has ended and been journaled.
    let mut first = Worker::start(dir.path(), "w1", port, Some("y,item:a")).await;
    register(port).await;

    let run = fresh(8);
    let spread = typedflow_restate::service_name::<Spread>();
    submit_run(ingress(), &spread, run).await;
    for node in ["y", "item:a"] {
        let marker = dir.path().join(format!("w1.in-{node}.{run}"));
        wait_for(&marker, &format!("the first worker inside `{node}`")).await;
    }
    first.kill();

    // The second worker holds in the map step, at its fourth item: the first three had
    // ended and been journaled.
    let mut second = Worker::start(dir.path(), "w2", port, Some("shout:y")).await;
    wait_for(
        &dir.path().join(format!("w2.in-shout:y.{run}")),
        "the second worker inside `shout:y`",
    )
    .await;
    second.kill();

    let _third = Worker::start(dir.path(), "w3", port, None).await;
    let out = output_of(ingress(), &spread, run).await;
    let trail = ["start", "a", "x", "y", "START", "A", "gather"];
    assert_eq!(out, trail.map(|s| format!("{s}!")));

    // Each call that had ended before a kill ran once; the ones held ran again, each
    // with its step's key.
    let key = |step: u32| format!("{run}-{step}");
    let counts = counts(dir.path());
    let mut want: BTreeMap<_, _> = [
        ("a", 1, 1),
        ("x", 2, 1),
        ("y", 2, 2),
        ("item:start", 2, 1),
        ("item:a", 2, 2),
        ("gather", 3, 1),
    ]
    .into_iter()
    .map(|(n, step, times)| ((n.to_owned(), key(step)), times))
    .collect();
    for item in trail {
        let times = if item == "y" { 2 } else { 1 };
        want.insert((format!("shout:{item}"), key(4)), times);
    }
    assert_eq!(counts, want);
}
