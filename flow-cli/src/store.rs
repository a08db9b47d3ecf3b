//! Which store to open, from the options and the environment, and opening it.
//!
//! A database URL may hold a password: it is printed only through [`redact`], and the
//! password is scrubbed from every message (see `commands::run`).

use std::path::PathBuf;

use typedflow_store::SqliteStore;

use crate::cli::StoreArgs;
use crate::error::Failure;

/// The store the command works on.
#[derive(Debug, PartialEq, Eq)]
pub enum Target {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A Postgres database, by URL (or `key=value` string).
    Postgres(String),
}

impl Target {
    /// `--store`, else `--database-url`, else `DATABASE_URL` (given as `env`).
    ///
    /// # Errors
    ///
    /// When none names a store.
    pub fn choose(args: &StoreArgs, env: Option<String>) -> Result<Target, Failure> {
        if let Some(path) = &args.store {
            return Ok(Target::Sqlite(path.clone()));
        }
        let url = args
            .database_url
            .clone()
            .or(env.filter(|u| !u.is_empty()))
            .ok_or_else(|| {
                Failure::new("no store given").hint(
                    "name a SQLite file with `--store runs.db`, or a Postgres database with \
                     `--database-url` or DATABASE_URL",
                )
            })?;
        // `sqlite:runs.db` and `sqlite://runs.db`, as other tools write DATABASE_URL.
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or(url.strip_prefix("sqlite:"))
        {
            return Ok(Target::Sqlite(PathBuf::from(path)));
        }
        Ok(Target::Postgres(url))
    }

    /// The password in a Postgres URL, to scrub from messages.
    pub fn secret(&self) -> Option<&str> {
        match self {
            Target::Sqlite(_) => None,
            Target::Postgres(url) => password(url),
        }
    }
}

/// Opens a SQLite store that exists (this tool creates none: a mistyped path must not
/// become a new empty store), to read only unless the command `writes`: listing or
/// inspecting runs changes nothing in the file, not even its schema or journal mode.
pub fn open_sqlite(path: &std::path::Path, writes: bool) -> Result<SqliteStore, Failure> {
    if !path.exists() {
        return Err(Failure::new(format!(
            "no store at `{}`: the file does not exist",
            path.display()
        ))
        .hint("a store is created by the program that runs the flow; check the path"));
    }
    let store = if writes {
        SqliteStore::open(path)
    } else {
        SqliteStore::open_read_only(path)
    };
    store.map_err(|e| Failure::store(&e))
}

/// Connects to a Postgres store.
#[cfg(feature = "postgres")]
pub async fn open_postgres(url: &str) -> Result<typedflow_store::PostgresStore, Failure> {
    typedflow_store::PostgresStore::connect(url)
        .await
        .map_err(|e| {
            let failure = Failure::store(&e);
            let message = format!("{} (the store at {})", strip_error(&failure), redact(url));
            Failure::new(message).hint("check the URL, and that the server is up and reachable")
        })
}

/// The text of a failure without its `error: ` prefix.
#[cfg(feature = "postgres")]
fn strip_error(failure: &Failure) -> String {
    let text = failure.to_string();
    text.strip_prefix("error: ").unwrap_or(&text).to_owned()
}

/// The password of a `postgres://user:password@host/db` URL or of a `password=..`
/// key-value string.
fn password(url: &str) -> Option<&str> {
    if let Some((_, rest)) = url.split_once("://") {
        let authority = rest.split(['/', '?']).next().unwrap_or(rest);
        let userinfo = authority.rsplit_once('@')?.0;
        return userinfo.split_once(':').map(|(_, pw)| pw);
    }
    let start = url.find("password=")? + "password=".len();
    let value = &url[start..];
    let value = value.strip_prefix('\'').map_or_else(
        || value.split(char::is_whitespace).next().unwrap_or(value),
        |quoted| quoted.split('\'').next().unwrap_or(quoted),
    );
    Some(value)
}

/// A URL fit to print: its password, if any, as `***`.
pub fn redact(url: &str) -> String {
    match password(url).filter(|p| !p.is_empty()) {
        Some(secret) => url.replace(secret, "***"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(store: Option<&str>, url: Option<&str>) -> StoreArgs {
        StoreArgs {
            store: store.map(PathBuf::from),
            database_url: url.map(str::to_owned),
        }
    }

    #[test]
    fn the_store_option_wins_then_the_url_then_the_environment() {
        let env = || Some("postgres://env/db".to_owned());
        assert_eq!(
            Target::choose(&args(Some("a.db"), None), env()).ok(),
            Some(Target::Sqlite("a.db".into()))
        );
        assert_eq!(
            Target::choose(&args(None, Some("postgres://arg/db")), env()).ok(),
            Some(Target::Postgres("postgres://arg/db".into()))
        );
        assert_eq!(
            Target::choose(&args(None, None), env()).ok(),
            Some(Target::Postgres("postgres://env/db".into()))
        );
        assert_eq!(
            Target::choose(&args(None, None), Some("sqlite://runs.db".into())).ok(),
            Some(Target::Sqlite("runs.db".into()))
        );
        let none = Target::choose(&args(None, None), Some(String::new())).unwrap_err();
        assert!(none.to_string().starts_with("error: no store given"));
    }

    #[test]
    fn passwords_are_found_and_hidden() {
        let cases = [
            ("postgres://flow:s3cret@127.0.0.1:5432/flow", Some("s3cret")),
            (
                "postgresql://flow:p@ss@host/db?sslmode=disable",
                Some("p@ss"),
            ),
            ("postgres://flow@127.0.0.1/flow", None),
            ("postgres://127.0.0.1/flow", None),
            (
                "host=127.0.0.1 user=flow password=s3cret dbname=flow",
                Some("s3cret"),
            ),
            (
                "host=127.0.0.1 password='two words' dbname=flow",
                Some("two words"),
            ),
        ];
        for (url, secret) in cases {
            assert_eq!(password(url), secret, "{url}");
            if let Some(secret) = secret {
                let shown = redact(url);
                assert!(!shown.contains(secret) && shown.contains("***"), "{shown}");
            } else {
                assert_eq!(redact(url), url);
            }
        }
    }

    #[test]
    fn a_missing_file_is_not_made_into_a_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("typo.db");
        for writes in [false, true] {
            let err = open_sqlite(&path, writes).unwrap_err();
            assert!(err.to_string().contains("the file does not exist"), "{err}");
            assert!(!path.exists());
        }
    }
}
