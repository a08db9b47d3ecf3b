//! Checkpoint stores for typedflow's durable runs.
//!
//! Both stores implement [`typedflow::checkpoint::Checkpointer`]: one row per step,
//! written atomically, keyed by run id and step, with the database's own constraint
//! turning a second save of a step into [`StoreError::Conflict`].
//!
//! - [`SqliteStore`]: the embedded default. One file in WAL mode, created with its schema
//!   on first use; `synchronous=NORMAL` by default, `FULL` as an option.
//! - `PostgresStore` (cargo feature `postgres`): a store that many processes share, so
//!   any of them can resume a run.
//!
//! The schemas are created and upgraded by migrations embedded in this crate and
//! numbered; a store written by a newer version of this crate is refused with
//! [`StoreError::SchemaTooNew`].
//!
//! ```
//! use typedflow::RunId;
//! use typedflow::checkpoint::{Checkpoint, Checkpointer, StoreError};
//! use typedflow_store::SqliteStore;
//!
//! # let dir = tempfile::tempdir().unwrap();
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = SqliteStore::open(dir.path().join("runs.db"))?;
//! let run = RunId::from_u64(1);
//! store.save(&Checkpoint::new("Essay", 0xf00d, run, 1, "outline", b"{}".to_vec())).await?;
//! assert_eq!(store.latest(run).await?.node, "outline");
//! # Ok::<(), StoreError>(())
//! # }).unwrap();
//! ```
//!
//! What each durability setting survives, and what a save costs, is in the guide below.

mod commit;
mod row;
mod sqlite;

#[cfg(feature = "postgres")]
mod postgres;

#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
pub use sqlite::{SqliteOptions, SqliteStore, Synchronous};

pub use typedflow::checkpoint::StoreError;

/// The guides in `docs/`, compiled here so their examples are tested.
pub mod docs {
    #[doc = include_str!("../docs/durability.md")]
    pub mod durability {}
}

/// One numbered schema change, embedded in the crate.
struct Migration {
    /// The schema version this migration brings the store to; the first is 1.
    version: i64,
    /// The statements, run in one transaction.
    sql: &'static str,
}

#[cfg(test)]
mod tests {
    /// Each store's migrations are numbered 1, 2, 3.. in order: the number a store
    /// records is the count applied.
    #[test]
    fn migrations_are_numbered_from_one_without_gaps() {
        let sets: &[&[crate::Migration]] = &[
            crate::sqlite::MIGRATIONS,
            #[cfg(feature = "postgres")]
            crate::postgres::MIGRATIONS,
        ];
        for set in sets {
            let versions: Vec<i64> = set.iter().map(|m| m.version).collect();
            let expected: Vec<i64> = (1..=set.len() as i64).collect();
            assert_eq!(versions, expected);
        }
    }
}
