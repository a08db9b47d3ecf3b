//! What the store tests share: fresh run ids, and the Postgres server they run against
//! when `FLOW_TEST_DATABASE_URL` names one (then a server that cannot be reached fails
//! the test; it never skips).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::SystemTime;

use typedflow::RunId;

/// A run id no other test (or earlier run against a shared database) uses.
pub fn fresh_run() -> RunId {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    RunId::from_u64(h.finish())
}

/// The Postgres server the tests use, if the environment names one.
#[cfg(feature = "postgres")]
pub fn database_url() -> Option<String> {
    let url = std::env::var("FLOW_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        eprintln!("FLOW_TEST_DATABASE_URL is not set: the Postgres tests did not run");
    }
    url
}

/// A store on the server of `url`; a server that cannot be reached fails the test.
#[cfg(feature = "postgres")]
pub async fn connect(url: &str) -> typedflow_store::PostgresStore {
    match typedflow_store::PostgresStore::connect(url).await {
        Ok(store) => store,
        Err(e) => panic!("FLOW_TEST_DATABASE_URL is set but the store cannot connect: {e:?}"),
    }
}
