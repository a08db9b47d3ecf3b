//! What a checkpoint costs beside the bare write of its bytes: one `save` of a checkpoint
//! with a 100-byte state against one raw `INSERT` of the same 100 bytes, through the same
//! driver with the same durability setting. The goal is at most 1.2x.
//!
//! ```text
//! cargo bench -p typedflow-store --bench save -- --warm-up-time 1 --measurement-time 3
//! FLOW_TEST_DATABASE_URL=postgres://.. cargo bench -p typedflow-store --features postgres --bench save -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! SQLite runs in WAL mode with `synchronous=NORMAL` (the default) and `FULL`, each in a
//! file of its own in a temp dir. Postgres runs when `FLOW_TEST_DATABASE_URL` is set, with
//! the server's own durability. Each sample awaits `iters` saves inside one `block_on`.
//!
//! Criterion times the two sides one after the other, so on a machine whose disk is shared
//! a ratio of its two figures moves with the load. Each group therefore also prints a
//! paired measurement: raw inserts and saves alternate one by one (the order swapped
//! every pair), each timed alone, and the medians and their ratio are printed as
//! `paired <group>: ...`.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use rusqlite::Connection;
use tokio::runtime::Runtime;
use typedflow::RunId;
use typedflow::checkpoint::{Checkpoint, Checkpointer};
use typedflow_store::{SqliteOptions, SqliteStore, Synchronous};

/// The bytes both sides write: a state of 100 bytes.
const STATE: [u8; 100] = [0x42; 100];

fn runtime() -> Runtime {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("cannot build the bench runtime: {e}"),
    }
}

/// A raw connection set up as the store sets up its own.
fn raw_sqlite(path: &Path, synchronous: &str) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))?;
    conn.pragma_update(None, "synchronous", synchronous)?;
    conn.execute_batch("CREATE TABLE raw (id INTEGER PRIMARY KEY, data BLOB NOT NULL)")?;
    Ok(conn)
}

/// How many pairs the paired measurement alternates: fewer where each write waits for
/// the disk.
const PAIRS_FAST: usize = 4000;
const PAIRS_SYNCED: usize = 400;

/// One raw insert or one save, timed alone.
async fn timed<F: std::future::Future<Output = ()>>(op: F) -> Duration {
    let start = Instant::now();
    op.await;
    start.elapsed()
}

/// Alternates `pairs` raw inserts and saves, the order swapped every pair, each timed
/// alone (the futures are made before their clocks start), and prints the medians.
async fn alternate<R, S>(
    group: &str,
    pairs: usize,
    mut raw: impl FnMut() -> R,
    mut save: impl FnMut() -> S,
) where
    R: std::future::Future<Output = ()>,
    S: std::future::Future<Output = ()>,
{
    let (mut raw_times, mut save_times) = (Vec::new(), Vec::new());
    for i in 0..pairs {
        let (raw_op, save_op) = (timed(raw()), timed(save()));
        if i % 2 == 0 {
            raw_times.push(raw_op.await);
            save_times.push(save_op.await);
        } else {
            save_times.push(save_op.await);
            raw_times.push(raw_op.await);
        }
    }
    report_pairs(group, raw_times, save_times);
}

/// A save of the next step of `cp`'s run, made ready to be timed.
fn next_save<'a, S: Checkpointer>(
    store: &'a S,
    cp: &mut Checkpoint,
) -> impl std::future::Future<Output = ()> + use<'a, S> {
    cp.step += 1;
    let next = cp.clone();
    async move {
        if let Err(e) = store.save(black_box(&next)).await {
            panic!("save failed: {e}");
        }
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

/// Prints the medians of the alternating raw inserts and saves, and their ratio.
fn report_pairs(group: &str, raw: Vec<Duration>, save: Vec<Duration>) {
    let raw_len = raw.len();
    let (raw, save) = (median(raw), median(save));
    println!(
        "paired {group}: raw insert {raw:.1?}, save {save:.1?}, save/raw {:.2}x ({} pairs)",
        save.as_secs_f64() / raw.as_secs_f64().max(f64::MIN_POSITIVE),
        raw_len,
    );
}

/// Times `iters` saves of consecutive steps of one run.
async fn time_saves(store: &impl Checkpointer, cp: &mut Checkpoint, iters: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        cp.step += 1;
        if let Err(e) = store.save(black_box(cp)).await {
            panic!("save failed: {e}");
        }
    }
    start.elapsed()
}

fn sqlite(c: &mut Criterion) {
    let rt = runtime();
    for (name, synchronous) in [("normal", Synchronous::Normal), ("full", Synchronous::Full)] {
        let dir = match tempfile::tempdir() {
            Ok(dir) => dir,
            Err(e) => panic!("temp dir: {e}"),
        };
        let mut group = c.benchmark_group(format!("sqlite_wal_{name}"));

        let raw = match raw_sqlite(&dir.path().join("raw.db"), &format!("{synchronous:?}")) {
            Ok(conn) => conn,
            Err(e) => panic!("raw connection: {e}"),
        };
        group.bench_function("raw_insert_100_bytes", |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    let inserted = raw
                        .prepare_cached("INSERT INTO raw (data) VALUES (?1)")
                        .and_then(|mut stmt| stmt.execute([black_box(&STATE[..])]));
                    if let Err(e) = inserted {
                        panic!("raw insert failed: {e}");
                    }
                }
                start.elapsed()
            })
        });

        let options = SqliteOptions::default().with_synchronous(synchronous);
        let store = match SqliteStore::open_with(dir.path().join("store.db"), options) {
            Ok(store) => store,
            Err(e) => panic!("store: {e}"),
        };
        let mut cp = Checkpoint::new("Bench", 1, RunId::from_u64(1), 0, "node", STATE.to_vec());
        group.bench_function("save_checkpoint_100_bytes", |b| {
            b.iter_custom(|iters| rt.block_on(time_saves(&store, &mut cp, iters)))
        });
        group.finish();

        let pairs = match synchronous {
            Synchronous::Normal => PAIRS_FAST,
            _ => PAIRS_SYNCED,
        };
        // The insert runs when the future is first polled, inside its clock.
        let insert_once = || async {
            let inserted = raw
                .prepare_cached("INSERT INTO raw (data) VALUES (?1)")
                .and_then(|mut stmt| stmt.execute([black_box(&STATE[..])]));
            if let Err(e) = inserted {
                panic!("raw insert failed: {e}");
            }
        };
        rt.block_on(alternate(
            &format!("sqlite_wal_{name}"),
            pairs,
            insert_once,
            || next_save(&store, &mut cp),
        ));
    }
}

#[cfg(feature = "postgres")]
fn postgres(c: &mut Criterion) {
    use typedflow_store::PostgresStore;
    let Some(url) = std::env::var("FLOW_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!("FLOW_TEST_DATABASE_URL is not set: no Postgres benchmark");
        return;
    };
    let rt = runtime();
    let (raw, insert, store) = rt.block_on(async {
        let (client, connection) = match tokio_postgres::connect(&url, tokio_postgres::NoTls).await
        {
            Ok(pair) => pair,
            Err(e) => panic!("connect: {e}"),
        };
        tokio::spawn(connection);
        let setup = client
            .batch_execute(
                "DROP TABLE IF EXISTS typedflow_bench_raw;
                 CREATE TABLE typedflow_bench_raw (id BIGSERIAL PRIMARY KEY, data BYTEA NOT NULL)",
            )
            .await;
        if let Err(e) = setup {
            panic!("raw table: {e}");
        }
        let insert = match client
            .prepare("INSERT INTO typedflow_bench_raw (data) VALUES ($1)")
            .await
        {
            Ok(stmt) => stmt,
            Err(e) => panic!("prepare: {e}"),
        };
        let store = match PostgresStore::connect(&url).await {
            Ok(store) => store,
            Err(e) => panic!("store: {e}"),
        };
        (client, insert, store)
    });

    let mut group = c.benchmark_group("postgres");
    group.bench_function("raw_insert_100_bytes", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    if let Err(e) = raw.execute(&insert, &[&black_box(&STATE[..])]).await {
                        panic!("raw insert failed: {e}");
                    }
                }
                start.elapsed()
            })
        })
    });
    // A run id of its own, deleted afterwards, so the bench leaves the database as it was.
    let run = RunId::from_u64(0x6265_6e63_6800_0000 | u64::from(std::process::id()));
    let mut cp = Checkpoint::new("Bench", 1, run, 0, "node", STATE.to_vec());
    group.bench_function("save_checkpoint_100_bytes", |b| {
        b.iter_custom(|iters| rt.block_on(time_saves(&store, &mut cp, iters)))
    });
    group.finish();

    rt.block_on(alternate(
        "postgres",
        PAIRS_SYNCED,
        || async {
            if let Err(e) = raw.execute(&insert, &[&black_box(&STATE[..])]).await {
                panic!("raw insert failed: {e}");
            }
        },
        || next_save(&store, &mut cp),
    ));
    rt.block_on(async {
        let _ = store.delete(run).await;
        let _ = raw.batch_execute("DROP TABLE typedflow_bench_raw").await;
    });
}

#[cfg(not(feature = "postgres"))]
fn postgres(_: &mut Criterion) {}

criterion_group!(benches, sqlite, postgres);
criterion_main!(benches);
