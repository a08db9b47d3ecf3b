//! Group commit of the SQLite store: the saves of concurrent runs committed together.
//!
//! One SQLite connection writes one transaction at a time, and with one save per
//! transaction a store spends most of a step on the commit (and with
//! `synchronous=FULL` on its `fdatasync`), not on the row. So saves that arrive while
//! another is being written wait in a queue, and the queue is written as one batch: one
//! transaction, one commit (one sync under `FULL`), every row of it written or none.
//!
//! - **A save nobody else is writing beside is written at once, on its own task**, as
//!   one `INSERT` in autocommit mode, as before group commit: a lone save pays two
//!   uncontended lock operations for it and no hop to another thread (goal 1 of the
//!   durability guide: within 1.2x of a raw insert).
//! - **A save that finds a write in progress joins the queue** (a copy of its
//!   checkpoint and a one-shot channel) and awaits its answer.
//! - **The queue is written by the store's writer thread**, started the first time a
//!   save has to wait: when the write in progress ends and saves are queued, the thread
//!   takes the whole queue, writes it in one `BEGIN IMMEDIATE` .. `COMMIT`, then answers
//!   each save of the batch; saves queued meanwhile form the next batch, so a batch is
//!   as large as what arrived during the last commit. When the queue is empty the next
//!   save is written on its own task again. The thread sleeps on a condition variable
//!   while there is nothing to write, and the store's `drop` stops it and waits for it.
//!
//! A thread, not the first waiting saver, writes the batches: a saver that led would
//! have to hand the lead to another waiting saver, and a run future that is kept but
//! not polled (or polled late) would then hold up every save of the store; a thread is
//! always there. The rusqlite calls are blocking, and on a thread of their own they do
//! not hold up a runtime worker for a batch of thousands of rows either.
//!
//! A save returns only after the transaction holding its row committed, so it is as
//! durable as a lone save with the same `synchronous` setting. Within a batch:
//!
//! - a row whose run already has that step (saved before, or earlier in the same batch)
//!   fails its own `INSERT`, which SQLite undoes alone, and that save alone gets
//!   [`StoreError::Conflict`]; its batch-mates are written;
//! - any other failure (a full disk or size limit, an I/O error, a lock not granted)
//!   rolls the whole transaction back, and every save of the batch gets the typed error
//!   (`Full` or `Unavailable`): nothing of the batch was written, nothing overwritten.
//!
//! A save whose future is dropped while it waits (its run was cancelled) may still be
//! written with its batch; its answer goes nowhere.
//!
//! **WAL checkpoints** are the writer's too. SQLite's automatic checkpoint runs inside
//! the commit that leaves the WAL at 1,000 pages or more, and under `NORMAL` it syncs the
//! WAL and the database file there (the only syncs `NORMAL` makes): the batch that
//! crossed the line, or the lone save, would wait for two `fdatasync`s before its
//! answer. A WAL hook replaces it and only notes the WAL's size; past 1,000 pages, the
//! save or batch is answered first, then the writer thread (handed the writer's place
//! even with an empty queue) runs a `PASSIVE` checkpoint while saves queue behind it.
//! Nobody writes during that checkpoint, so it copies the whole WAL and the next write
//! starts the WAL over: it stays near 1,000 pages. (A checkpoint on a thread of its own,
//! beside the writers, was tried first: under saves that never pause it never caught
//! up, and 20,000 saves grew the WAL to 32,000 pages.) What a commit survives is
//! unchanged: that depends on the sync at commit (`FULL`) or its absence (`NORMAL`),
//! not on when its pages reach the database file.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use rusqlite::hooks::Wal;
use rusqlite::{CachedStatement, Connection, ErrorCode, TransactionBehavior, params};
use tokio::sync::oneshot;
use typedflow::checkpoint::{Checkpoint, StoreError};

use crate::row::{Values, columns};

/// What the store's connection and its writer thread share.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The store's one connection: for the saves, the batches and the reads.
    conn: Mutex<Connection>,
    /// The saves waiting for a batch, and who writes.
    queue: Mutex<Queue>,
    /// Wakes the writer thread: saves to write, a checkpoint to run, or the store closed.
    wake: Condvar,
    /// The WAL's size in pages after the last commit, as SQLite's WAL hook reports it (0
    /// once a checkpoint has run).
    wal_pages: Arc<AtomicI32>,
}

/// The WAL size, in pages, past which the writer checkpoints: SQLite's default.
const WAL_PAGES: i32 = 1000;

#[derive(Debug, Default)]
struct Queue {
    writer: Writer,
    waiting: Vec<Waiting>,
    /// The writer thread, once started.
    thread: Option<JoinHandle<()>>,
    /// The store was dropped: the thread writes what is queued and ends.
    closed: bool,
    /// How many batches the thread has taken to write (for the tests).
    batches: u64,
    /// How many checkpoints the thread has run (for the tests).
    checkpoints: u64,
}

/// Who writes to the connection now; saves arriving meanwhile queue up.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Writer {
    /// Nobody: the next save is written on its own task.
    #[default]
    Idle,
    /// A save on its own task.
    Saver,
    /// The writer thread, with the queue.
    Thread,
}

/// A save waiting in the queue: its row, and where its answer goes.
#[derive(Debug)]
struct Waiting {
    checkpoint: Checkpoint,
    answer: oneshot::Sender<Answer>,
}

/// What a waiting save is told: whether its row was saved, and the row back, so that its
/// memory is freed by the thread that allocated it (freeing thousands of rows on the
/// writer thread cost it about a sixth of its time).
#[derive(Debug)]
struct Answer {
    saved: Result<(), StoreError>,
    _row: Checkpoint,
}

impl Shared {
    /// The shared state of a store on `conn`, whose WAL hook (replacing SQLite's
    /// automatic checkpoint) it installs.
    pub(crate) fn new(mut conn: Connection) -> rusqlite::Result<Arc<Self>> {
        let wal_pages = Arc::new(AtomicI32::new(0));
        let hook = Arc::clone(&wal_pages);
        conn.wal_hook(Some(move |_: &mut Wal, pages: i32| {
            hook.store(pages, Ordering::Relaxed);
            Ok(())
        }))?;
        Ok(Arc::new(Shared {
            conn: Mutex::new(conn),
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            wal_pages,
        }))
    }

    /// The connection. A thread that panicked holding it cannot have left a transaction
    /// open (a batch's transaction rolls back when dropped, also when unwinding; every
    /// other write is one autocommit statement), so a poisoned lock still guards a
    /// consistent connection.
    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The queue. Every change to it is a push, a take or a field set, each complete
    /// under the lock, so a poisoned lock still guards a consistent queue.
    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Saves `checkpoint`: at once on this task if nothing else is being written, in the
    /// next batch otherwise; returns when the row's transaction committed.
    pub(crate) async fn save(self: &Arc<Self>, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        let answer = {
            let mut queue = self.queue();
            if queue.writer == Writer::Idle {
                queue.writer = Writer::Saver;
                None
            } else {
                let (answer, wait) = oneshot::channel();
                queue.waiting.push(Waiting {
                    checkpoint: checkpoint.clone(),
                    answer,
                });
                Some(wait)
            }
        };
        match answer {
            None => {
                let saved = self.save_alone(checkpoint);
                self.pass_on();
                saved
            }
            // The sender is dropped unanswered only if the writer thread panicked (its
            // batch's transaction rolled back as it unwound) or the store was dropped.
            Some(wait) => match wait.await {
                Ok(answer) => answer.saved,
                Err(_) => Err(StoreError::unavailable(
                    "saving a checkpoint",
                    "the store's writer stopped before this save's batch committed",
                )),
            },
        }
    }

    /// One save in autocommit mode, on the calling task: the path of a lone save.
    fn save_alone(&self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(INSERT)
            .map_err(|e| StoreError::unavailable("preparing the insert", e))?;
        insert(&mut stmt, checkpoint).map_err(|e| save_error(checkpoint, e))
    }

    /// After a save on its own task: the queue that formed meanwhile goes to the writer
    /// thread (started if needed), or the store is idle again. If no thread can be
    /// started, this task writes the batches itself.
    fn pass_on(self: &Arc<Self>) {
        let mut queue = self.queue();
        if queue.waiting.is_empty() && !self.checkpoint_due() {
            queue.writer = Writer::Idle;
            return;
        }
        if queue.thread.is_none() {
            let shared = Arc::clone(self);
            let spawned = std::thread::Builder::new()
                .name("typedflow-sqlite-commit".into())
                .spawn(move || shared.write_batches());
            match spawned {
                Ok(handle) => queue.thread = Some(handle),
                // No thread (the system refused one): this task writes the batches.
                Err(_) => {
                    drop(queue);
                    return self.drain();
                }
            }
        }
        queue.writer = Writer::Thread;
        // All: a test may wait on the same condition variable.
        self.wake.notify_all();
    }

    /// Writes batches (and the checkpoint due) on this thread until the queue is empty.
    fn drain(&self) {
        let mut batch = Vec::new();
        loop {
            {
                let mut queue = self.queue();
                if self.checkpoint_due() {
                    drop(queue);
                    self.checkpoint();
                    continue;
                }
                if queue.waiting.is_empty() {
                    queue.writer = Writer::Idle;
                    return;
                }
                std::mem::swap(&mut queue.waiting, &mut batch);
            }
            self.commit(&mut batch);
        }
    }

    /// Whether the writer should checkpoint now: the last commit left the WAL at
    /// [`WAL_PAGES`] or more.
    fn checkpoint_due(&self) -> bool {
        self.wal_pages.load(Ordering::Relaxed) >= WAL_PAGES
    }

    /// A `PASSIVE` checkpoint, run by the writer (nobody else writes meanwhile, so it
    /// copies the whole WAL and the next write starts the WAL over). One that fails
    /// (another process's reader or checkpoint in the way) is tried again after the
    /// next commit past the limit.
    fn checkpoint(&self) {
        let conn = self.conn();
        self.wal_pages.store(0, Ordering::Relaxed);
        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    }

    /// The writer thread: writes the queue whenever it is handed to it, until the store
    /// is closed. The queue and the batch being written swap their vectors, so neither
    /// grows again from empty for every batch.
    fn write_batches(&self) {
        let mut batch = Vec::new();
        let mut queue = self.queue();
        loop {
            if queue.writer == Writer::Thread {
                if self.checkpoint_due() {
                    drop(queue);
                    // As for a batch: a panic (a bug) must not end the thread.
                    let _ = std::panic::catch_unwind(|| self.checkpoint());
                    queue = self.queue();
                    queue.checkpoints += 1;
                    self.wake.notify_all();
                    continue;
                }
                if queue.waiting.is_empty() {
                    queue.writer = Writer::Idle;
                } else {
                    std::mem::swap(&mut queue.waiting, &mut batch);
                    queue.batches += 1;
                    drop(queue);
                    // A panic (a bug) drops the batch's senders as it unwinds, so its
                    // saves end with an error; the thread goes on with the next batch.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        self.commit(&mut batch);
                    }));
                    batch.clear();
                    queue = self.queue();
                    continue;
                }
            }
            if queue.closed {
                return;
            }
            queue = self
                .wake
                .wait(queue)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Writes `batch` in one transaction and answers each of its saves, leaving `batch`
    /// empty.
    fn commit(&self, batch: &mut Vec<Waiting>) {
        let outcome = {
            let mut conn = self.conn();
            write_batch(&mut conn, batch)
        };
        match outcome {
            Ok(each) => {
                for (waiting, saved) in batch.drain(..).zip(each) {
                    waiting.answer_with(saved);
                }
            }
            Err(e) => {
                let message = e.to_string();
                let full = e.sqlite_error_code() == Some(ErrorCode::DiskFull);
                for waiting in batch.drain(..) {
                    waiting.answer_with(Err(if full {
                        StoreError::full(message.clone())
                    } else {
                        StoreError::unavailable("saving a batch of checkpoints", message.clone())
                    }));
                }
            }
        }
    }

    /// Stops the writer thread after it has written what is queued, and waits for it.
    pub(crate) fn close(&self) {
        let thread = {
            let mut queue = self.queue();
            queue.closed = true;
            queue.thread.take()
        };
        self.wake.notify_all();
        if let Some(thread) = thread {
            // A panic of the thread was caught per batch; one outside a batch has
            // nothing left to clean up.
            let _ = thread.join();
        }
    }

    /// How many batches the writer thread has committed.
    #[cfg(test)]
    pub(crate) fn batches(&self) -> u64 {
        self.queue().batches
    }

    /// Waits until the thread has run `n` checkpoints, or `bound` has passed (a bound
    /// on a hang, not a timing); returns how many it ran.
    #[cfg(test)]
    pub(crate) fn wait_for_checkpoints(&self, n: u64, bound: std::time::Duration) -> u64 {
        let queue = self.queue();
        let (queue, _) = self
            .wake
            .wait_timeout_while(queue, bound, |q| q.checkpoints < n)
            .unwrap_or_else(PoisonError::into_inner);
        queue.checkpoints
    }
}

impl Waiting {
    fn answer_with(self, saved: Result<(), StoreError>) {
        let answer = Answer {
            saved,
            _row: self.checkpoint,
        };
        // A save dropped while it waited has nobody to tell.
        let _ = self.answer.send(answer);
    }
}

/// Inserts the rows of `batch` in one transaction: per row `Ok`, or a conflict for a row
/// whose step the run already has. Any other error ends the batch: the transaction is
/// rolled back when dropped, and nothing was written.
///
/// The rows go in [`CHUNK`] at a time, one multi-row `INSERT` per chunk (a third less
/// time per row than one statement each). A chunk with a conflicting row is undone whole
/// by SQLite (the statement, not the transaction) and inserted again row by row, so only
/// the conflicting row fails.
fn write_batch(
    conn: &mut Connection,
    batch: &[Waiting],
) -> rusqlite::Result<Vec<Result<(), StoreError>>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut each = Vec::with_capacity(batch.len());
    {
        let mut many = tx.prepare_cached(&INSERT_CHUNK)?;
        let mut one = tx.prepare_cached(INSERT)?;
        for chunk in batch.chunks(CHUNK) {
            if chunk.len() == CHUNK {
                for (i, waiting) in chunk.iter().enumerate() {
                    bind(&mut many, i * COLUMNS, &waiting.checkpoint)?;
                }
                match many.raw_execute() {
                    Ok(_) => {
                        each.extend((0..CHUNK).map(|_| Ok(())));
                        continue;
                    }
                    Err(e) if is_conflict(&e) => {}
                    Err(e) => return Err(e),
                }
            }
            for Waiting { checkpoint, .. } in chunk {
                match insert(&mut one, checkpoint) {
                    Ok(()) => each.push(Ok(())),
                    Err(e) if is_conflict(&e) => {
                        each.push(Err(StoreError::conflict(
                            checkpoint.run_id,
                            checkpoint.step,
                        )));
                    }
                    Err(e) => return Err(e),
                }
            }
        }
    }
    tx.commit()?;
    Ok(each)
}

/// How many rows one statement of a batch inserts.
const CHUNK: usize = 16;

/// The columns of a row, the parameters of one row of an insert.
const COLUMNS: usize = 12;

/// An `INSERT` of [`CHUNK`] rows, with positional parameters.
static INSERT_CHUNK: LazyLock<String> = LazyLock::new(|| {
    let row = format!("({})", ["?"; COLUMNS].join(", "));
    format!(
        "INSERT INTO checkpoints ({}) VALUES {}",
        columns!(),
        vec![row; CHUNK].join(", ")
    )
});

/// Binds `cp`'s row to the parameters after `offset` of `stmt`.
fn bind(stmt: &mut CachedStatement<'_>, offset: usize, cp: &Checkpoint) -> rusqlite::Result<()> {
    let row = Values::of(cp);
    stmt.raw_bind_parameter(offset + 1, row.run_id)?;
    stmt.raw_bind_parameter(offset + 2, row.step)?;
    stmt.raw_bind_parameter(offset + 3, row.format)?;
    stmt.raw_bind_parameter(offset + 4, row.flow)?;
    stmt.raw_bind_parameter(offset + 5, row.fingerprint)?;
    stmt.raw_bind_parameter(offset + 6, row.node)?;
    stmt.raw_bind_parameter(offset + 7, row.attempt)?;
    stmt.raw_bind_parameter(offset + 8, row.time_us)?;
    stmt.raw_bind_parameter(offset + 9, row.status)?;
    stmt.raw_bind_parameter(offset + 10, row.question)?;
    stmt.raw_bind_parameter(offset + 11, row.state)?;
    stmt.raw_bind_parameter(offset + 12, row.state_sum)
}

/// One `INSERT` of `cp`'s row with the prepared statement.
fn insert(stmt: &mut CachedStatement<'_>, cp: &Checkpoint) -> rusqlite::Result<()> {
    let row = Values::of(cp);
    stmt.execute(params![
        row.run_id,
        row.step,
        row.format,
        row.flow,
        row.fingerprint,
        row.node,
        row.attempt,
        row.time_us,
        row.status,
        row.question,
        row.state,
        row.state_sum,
    ])?;
    Ok(())
}

fn is_conflict(e: &rusqlite::Error) -> bool {
    e.sqlite_error()
        .is_some_and(|f| f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

/// A failed save's error: a conflict on the primary key, a full store, or unavailable.
pub(crate) fn save_error(cp: &Checkpoint, e: rusqlite::Error) -> StoreError {
    if is_conflict(&e) {
        StoreError::conflict(cp.run_id, cp.step)
    } else if e.sqlite_error_code() == Some(ErrorCode::DiskFull) {
        StoreError::full(e)
    } else {
        StoreError::unavailable("saving a checkpoint", e)
    }
}

const INSERT: &str = concat!(
    "INSERT INTO checkpoints (",
    columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
);

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use typedflow::RunId;
    use typedflow::checkpoint::Checkpointer;

    use super::*;
    use crate::{SqliteOptions, SqliteStore};

    fn step(run: u64, n: u32) -> Checkpoint {
        Checkpoint::new(
            "Essay",
            7,
            RunId::from_u64(run),
            n,
            "write",
            vec![n as u8; 100],
        )
    }

    fn open(path: &Path, options: SqliteOptions) -> SqliteStore {
        SqliteStore::open_with(path, options).expect("open")
    }

    fn rows(path: &Path) -> i64 {
        Connection::open(path)
            .expect("open raw")
            .query_row("SELECT count(*) FROM checkpoints", [], |r| r.get(0))
            .expect("count")
    }

    /// Starts `saves` as tasks while a lone save is "being written" (the writer is
    /// `Saver`), waits until every one has joined the queue, then ends that lone save:
    /// the queue goes to the writer thread as one batch. Returns each save's result.
    async fn one_batch(
        shared: &Arc<Shared>,
        saves: Vec<Checkpoint>,
    ) -> Vec<Result<(), StoreError>> {
        shared.queue().writer = Writer::Saver;
        let count = saves.len();
        let tasks: Vec<_> = saves
            .into_iter()
            .map(|cp| {
                let shared = Arc::clone(shared);
                tokio::spawn(async move { shared.save(&cp).await })
            })
            .collect();
        while shared.queue().waiting.len() < count {
            tokio::task::yield_now().await;
        }
        shared.pass_on();
        let mut out = Vec::new();
        for task in tasks {
            out.push(task.await.expect("the save task ends"));
        }
        out
    }

    /// A conflicting save in a batch fails alone; its batch-mates are saved, in one
    /// transaction, and a duplicate within the batch is a conflict too.
    #[tokio::test]
    async fn a_conflict_fails_only_its_own_save_in_a_batch() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("runs.db");
        let store = open(&path, SqliteOptions::default());
        let shared = store.shared();
        shared.save(&step(1, 1)).await.expect("the lone save");

        // 40 rows: more than two chunks, the conflicts in the second.
        let mut saves: Vec<Checkpoint> = (100..140).map(|run| step(run, 1)).collect();
        saves[20] = step(1, 1).with_attempt(2); // saved before
        saves[25] = step(110, 1).with_attempt(2); // the same step as saves[10]
        let results = one_batch(shared, saves).await;

        for (i, result) in results.iter().enumerate() {
            match i {
                20 => assert!(
                    matches!(result, Err(StoreError::Conflict { run_id, step: 1, .. }) if *run_id == RunId::from_u64(1)),
                    "{result:?}"
                ),
                25 => assert!(
                    matches!(result, Err(StoreError::Conflict { run_id, .. }) if *run_id == RunId::from_u64(110)),
                    "{result:?}"
                ),
                _ => assert!(result.is_ok(), "save {i}: {result:?}"),
            }
        }
        assert_eq!(shared.batches(), 1, "the queue was written as one batch");
        assert_eq!(rows(&path), 1 + 38);
        // The row saved before and the first of the duplicates were kept, not overwritten.
        let attempt: i64 = Connection::open(&path)
            .expect("open raw")
            .query_row(
                "SELECT sum(attempt) FROM checkpoints WHERE run_id IN (1, 110)",
                [],
                |r| r.get(0),
            )
            .expect("attempts");
        assert_eq!(attempt, 2);
    }

    /// A batch that does not fit fails as a whole: every save of it gets `Full`, none of
    /// its rows is written, and each fits when saved alone afterwards.
    #[tokio::test]
    async fn a_failing_batch_fails_every_save_of_it_and_writes_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("runs.db");
        let options = SqliteOptions::default().with_max_bytes(64 * 1024);
        let store = open(&path, options);
        let shared = store.shared();
        let big = |run| {
            let mut cp = step(run, 1);
            cp.state = vec![0xee; 4096];
            cp
        };
        let results = one_batch(shared, (1..=20).map(big).collect()).await;
        for result in &results {
            assert!(matches!(result, Err(StoreError::Full { .. })), "{result:?}");
        }
        assert_eq!(rows(&path), 0, "nothing of the failed batch was written");
        shared.save(&big(1)).await.expect("one save alone fits");
        assert_eq!(rows(&path), 1);
    }

    /// A save dropped while it waits in the queue holds nothing up: its row is written
    /// with its batch, and the saves after it go on.
    #[tokio::test]
    async fn a_save_dropped_while_it_waits_holds_nothing_up() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("runs.db");
        let store = open(&path, SqliteOptions::default());
        let shared = store.shared();
        shared.queue().writer = Writer::Saver;
        let dropped = step(1, 1);
        let mut save = Box::pin(shared.save(&dropped));
        assert!(futures_poll_once(save.as_mut()).is_none(), "it waits");
        drop(save);
        shared.pass_on();
        // A bound on a hang, not a timing: a save held up would never end.
        let later = step(2, 1);
        tokio::time::timeout(Duration::from_secs(10), shared.save(&later))
            .await
            .expect("a later save is not held up")
            .expect("saved");
        // The thread has written the dropped save's batch before the later save ran
        // (it runs alone only when the queue is empty).
        assert_eq!(rows(&path), 2);
    }

    /// Saves that take the WAL past 1,000 pages get it checkpointed by the writer
    /// thread, which holds the writer's place meanwhile, so the checkpoint copies the
    /// whole WAL and the next write starts it over: under saves that never pause, the
    /// WAL stays near 1,000 pages (a checkpoint running beside the writers instead chased
    /// them: 20,000 saves grew it to 32,000 pages). Every row is there afterwards.
    #[tokio::test]
    async fn the_wal_is_checkpointed_by_the_writer_and_stays_near_its_limit() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("runs.db");
        let store = open(&path, SqliteOptions::default());
        let run = RunId::from_u64(1);
        // Each 4 KiB state takes two pages: 6,000 pages in all.
        for n in 1..=3000 {
            let cp = Checkpoint::new("Essay", 7, run, n, "write", vec![n as u8; 4096]);
            store.save(&cp).await.expect("save");
        }
        let done = store
            .shared()
            .wait_for_checkpoints(5, Duration::from_secs(30));
        assert!(done >= 5, "{done} checkpoints for 6,000 pages");
        let wal = std::fs::metadata(dir.path().join("runs.db-wal")).expect("the WAL");
        // A WAL frame is a page and its 24-byte header.
        let frames = wal.len() / (4096 + 24);
        assert!(frames <= 1100, "the WAL grew to {frames} pages");
        drop(store);
        let again = SqliteStore::open(&path).expect("reopen");
        let history = again.history(run).await.expect("history");
        assert_eq!(history.len(), 3000);
        assert_eq!(history[2999].state, vec![3000u32 as u8; 4096]);
    }

    /// Polls `fut` once with a waker that does nothing.
    fn futures_poll_once<F: std::future::Future>(fut: std::pin::Pin<&mut F>) -> Option<F::Output> {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match fut.poll(&mut cx) {
            std::task::Poll::Ready(out) => Some(out),
            std::task::Poll::Pending => None,
        }
    }
}
