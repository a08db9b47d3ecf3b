//! What a checkpointed step of a durable flow costs: a 10-node chain declared
//! `#[flow(durable)]`, run without a store, run with a checkpoint of every step into
//! SQLite (WAL, `synchronous=NORMAL`, the default), and, as the floor, ten raw `INSERT`s
//! of the same bytes per run through the same driver and setting.
//!
//! ```text
//! cargo bench -p typedflow-store --bench durable_steps -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Each run writes 10 rows (9 steps and the finished run); per step is the time of a run
//! divided by 10. The second group is a fan-out to 8 branches between two nodes: with a
//! store, a run writes 3 checkpoints and 8 parts (one per branch, as each ends).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rusqlite::Connection;
use tokio::runtime::Runtime;
use typedflow::prelude::*;
use typedflow_store::SqliteStore;

macro_rules! inc_nodes {
    ($($n:ident),*) => {$(
        #[node]
        async fn $n(x: u64) -> u64 {
            x + 1
        }
    )*};
}

inc_nodes!(n0, n1, n2, n3, n4, n5, n6, n7, n8, n9);

graph! {
    #[flow(durable)]
    Chain10(u64) -> u64 {
        START -> n0 -> n1 -> n2 -> n3 -> n4 -> n5 -> n6 -> n7 -> n8 -> n9 -> END;
    }
}

#[node]
async fn spread(x: u64) -> u64 {
    x
}

#[node]
async fn gather(all: (u64, u64, u64, u64, u64, u64, u64, u64)) -> u64 {
    all.0 + all.1 + all.2 + all.3 + all.4 + all.5 + all.6 + all.7
}

graph! {
    #[flow(durable)]
    Fan8(u64) -> u64 {
        START -> spread -> (n0, n1, n2, n3, n4, n5, n6, n7) -> gather -> END;
    }
}

fn runtime() -> Runtime {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("cannot build the bench runtime: {e}"),
    }
}

fn steps(c: &mut Criterion) {
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => panic!("no temp dir: {e}"),
    };
    let rt = runtime();
    let flow = Chain10::new(());
    let store = match SqliteStore::open(dir.path().join("runs.db")) {
        Ok(store) => store,
        Err(e) => panic!("cannot open the store: {e}"),
    };
    let raw = match raw_sqlite(&dir.path().join("raw.db")) {
        Ok(conn) => conn,
        Err(e) => panic!("cannot open the raw database: {e}"),
    };
    // The bytes of a typical step of this chain.
    let row = br#"{"step":"n5","input":5}"#;

    let mut g = c.benchmark_group("durable_chain10");
    g.throughput(Throughput::Elements(10));
    g.bench_function("no_store", |b| {
        b.iter(|| rt.block_on(flow.run(black_box(0)).into_future()))
    });
    g.bench_function("sqlite", |b| {
        b.iter(|| rt.block_on(flow.run(black_box(0)).checkpoint(&store).into_future()))
    });
    let mut id = 0i64;
    g.bench_function("raw_insert_x10", |b| {
        b.iter(|| {
            for _ in 0..10 {
                id += 1;
                let done =
                    raw.execute("INSERT INTO raw (id, data) VALUES (?1, ?2)", (id, &row[..]));
                if let Err(e) = done {
                    panic!("raw insert: {e}");
                }
            }
        })
    });
    g.finish();

    // A fan-out to 8: 3 checkpoints a run and, with a store, one part per branch (the
    // price of not running an ended branch again after a crash), beside 11 raw inserts.
    let fan = Fan8::new(());
    let mut g = c.benchmark_group("durable_fan8");
    g.throughput(Throughput::Elements(1));
    g.bench_function("no_store", |b| {
        b.iter(|| rt.block_on(fan.run(black_box(0)).into_future()))
    });
    g.bench_function("sqlite", |b| {
        b.iter(|| rt.block_on(fan.run(black_box(0)).checkpoint(&store).into_future()))
    });
    g.bench_function("raw_insert_x11", |b| {
        b.iter(|| {
            for _ in 0..11 {
                id += 1;
                let done =
                    raw.execute("INSERT INTO raw (id, data) VALUES (?1, ?2)", (id, &row[..]));
                if let Err(e) = done {
                    panic!("raw insert: {e}");
                }
            }
        })
    });
    g.finish();
}

fn raw_sqlite(path: &std::path::Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.execute_batch("CREATE TABLE raw (id INTEGER PRIMARY KEY, data BLOB NOT NULL)")?;
    Ok(conn)
}

criterion_group!(benches, steps);
criterion_main!(benches);
