//! WAL checkpoints of the SQLite store, off the path of its saves.
//!
//! In WAL mode a commit appends pages to the `-wal` file; a checkpoint copies them back
//! into the database file so the WAL can start over. By default SQLite runs one inside
//! the commit that takes the WAL past 1,000 pages, on the connection that committed,
//! and with `synchronous=NORMAL` that checkpoint syncs the WAL and the database file
//! (the only syncs `NORMAL` makes): the save or batch that happened to cross the line
//! waits for two `fdatasync`s, and every save queued behind it too. Measured with
//! 10,000 concurrent runs, these checkpoints were about half of the writer's time.
//!
//! So the store's connection hands checkpoints to a thread of its own with a second
//! connection: a WAL hook (which replaces SQLite's automatic checkpoint) asks for one
//! when a commit leaves 1,000 pages or more in the WAL, as SQLite would, and the thread
//! runs a `PASSIVE` checkpoint, which does not block the writers. What a commit
//! survives is unchanged: it depends on when the WAL is synced at commit (`FULL`) or
//! not (`NORMAL`), not on when its pages reach the database file. A checkpoint that
//! fails (the file locked by another process's checkpoint, say) is tried again at the
//! next request; if the thread or its connection cannot be had, the commit that asks
//! checkpoints itself, as SQLite's own hook does.

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::hooks::Wal;

/// The WAL size, in pages, past which a commit asks for a checkpoint: SQLite's default.
const WAL_PAGES: i32 = 1000;

/// The checkpoint thread of one store, and what its WAL hook tells it.
#[derive(Debug)]
pub(crate) struct Checkpoints {
    state: Mutex<State>,
    wake: Condvar,
    path: PathBuf,
    busy_timeout: Duration,
}

#[derive(Debug, Default)]
struct State {
    /// A commit asked for a checkpoint since the last one began.
    wanted: bool,
    /// The store was dropped: the thread ends.
    closed: bool,
    /// The thread, once started.
    thread: Option<JoinHandle<()>>,
    /// No thread could be started or it could not open the file: commits checkpoint.
    inline: bool,
    /// Checkpoints the thread has run (for the tests).
    done: u64,
}

impl Checkpoints {
    /// Installs on `conn` (the store's connection to `path`) the hook that hands its
    /// checkpoints to the thread, which starts at the first.
    pub(crate) fn install(
        conn: &mut Connection,
        path: PathBuf,
        busy_timeout: Duration,
    ) -> rusqlite::Result<Arc<Self>> {
        let checkpoints = Arc::new(Checkpoints {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            path,
            busy_timeout,
        });
        let hook = Arc::clone(&checkpoints);
        conn.wal_hook(Some(move |wal: &mut Wal, pages: i32| {
            if pages >= WAL_PAGES {
                hook.request(wal);
            }
            Ok(())
        }))?;
        Ok(checkpoints)
    }

    /// Every change to the state is a field set under the lock, so a poisoned lock
    /// still guards a consistent state.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Asks the thread for a checkpoint (starting it if needed), or checkpoints on
    /// `wal`'s connection if there is no thread.
    fn request(self: &Arc<Self>, wal: &mut Wal) {
        let mut state = self.state();
        if state.closed {
            return;
        }
        if state.thread.is_none() && !state.inline {
            let me = Arc::clone(self);
            match std::thread::Builder::new()
                .name("typedflow-sqlite-checkpoint".into())
                .spawn(move || me.run())
            {
                Ok(thread) => state.thread = Some(thread),
                Err(_) => state.inline = true,
            }
        }
        if state.inline {
            drop(state);
            // As SQLite's own hook: a failed checkpoint is tried at the next commit.
            let _ = wal.checkpoint();
            return;
        }
        state.wanted = true;
        // All: a test may wait on the same condition variable.
        self.wake.notify_all();
    }

    /// The thread: a `PASSIVE` checkpoint on its own connection whenever one is asked.
    fn run(&self) {
        let conn = Connection::open(&self.path).and_then(|conn| {
            conn.busy_timeout(self.busy_timeout)?;
            Ok(conn)
        });
        let Ok(conn) = conn else {
            self.state().inline = true;
            return;
        };
        let mut state = self.state();
        loop {
            if state.closed {
                return;
            }
            if !state.wanted {
                state = self
                    .wake
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            state.wanted = false;
            drop(state);
            // A failed checkpoint leaves the WAL as it was; the next request tries again.
            let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            state = self.state();
            state.done += 1;
            self.wake.notify_all();
        }
    }

    /// Ends the thread, if one was started, and waits for it (at most the checkpoint
    /// it is running).
    pub(crate) fn close(&self) {
        let thread = {
            let mut state = self.state();
            state.closed = true;
            state.thread.take()
        };
        self.wake.notify_all();
        if let Some(thread) = thread {
            // The thread catches nothing: a panic in it has left nothing to clean up.
            let _ = thread.join();
        }
    }

    /// Waits until the thread has run `n` checkpoints, or `bound` has passed (a bound
    /// on a hang, not a timing); returns how many it ran.
    #[cfg(test)]
    pub(crate) fn wait_for(&self, n: u64, bound: Duration) -> u64 {
        let state = self.state();
        let (state, _) = self
            .wake
            .wait_timeout_while(state, bound, |s| s.done < n)
            .unwrap_or_else(PoisonError::into_inner);
        state.done
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use typedflow::RunId;
    use typedflow::checkpoint::{Checkpoint, Checkpointer};

    use crate::SqliteStore;

    /// Saves that take the WAL past 1,000 pages get it checkpointed by the store's
    /// checkpoint thread (the saves themselves run none: SQLite's automatic checkpoint is
    /// replaced by the hook), and every row is there afterwards, also in a store opened
    /// anew.
    #[tokio::test]
    async fn a_wal_past_its_limit_is_checkpointed_by_the_thread() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("runs.db");
        let store = SqliteStore::open(&path).expect("open");
        let run = RunId::from_u64(1);
        // Each 4 KiB state takes more than a page: 600 of them pass 1,000 pages.
        for n in 1..=600 {
            let cp = Checkpoint::new("Essay", 7, run, n, "write", vec![n as u8; 4096]);
            store.save(&cp).await.expect("save");
        }
        let done = store.checkpoints().wait_for(1, Duration::from_secs(30));
        assert!(done >= 1, "no checkpoint ran on the thread");
        let last = Checkpoint::new("Essay", 7, run, 601, "write", vec![1; 10]);
        store
            .save(&last)
            .await
            .expect("a save after the checkpoint");
        drop(store);
        let again = SqliteStore::open(&path).expect("reopen");
        let history = again.history(run).await.expect("history");
        assert_eq!(history.len(), 601);
        assert_eq!(history[599].state, vec![600u32 as u8; 4096]);
    }
}
