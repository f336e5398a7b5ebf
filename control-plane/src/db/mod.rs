//! Storage of the control plane, owning diesel: handlers and jobs call the
//! intention-named methods of [`Db`], never build queries.
//!
//! Durable (in the database): every Synergos record (collaborations,
//! projects, experiments, runs, participants, registrations, tags,
//! alignments, models, validations) and every job with its state, progress,
//! error and result. Only in memory: the broadcast of live job events to SSE
//! subscribers (see `crate::jobs`); a subscriber that misses events can always
//! read the job's persisted snapshot.
//!
//! The backend is chosen here and only here ([`Backend`], [`Conn`],
//! [`MIGRATIONS`], [`write_transaction`]); the SQL stays portable so that
//! PostgreSQL can be added behind the same methods. Every call runs on the
//! blocking pool; no lock is held across an `.await`.

mod jobs;
mod records;
pub mod schema;

use std::path::Path;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::ApiError;

/// The database backend of this build.
pub(crate) type Backend = diesel::sqlite::Sqlite;
/// A connection to [`Backend`].
pub(crate) type Conn = diesel::sqlite::SqliteConnection;

/// Migrations for [`Backend`], embedded in the binary and run at start-up.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// How long a connection waits for a competing writer before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections kept open; SQLite allows one writer at a time anyway.
const POOL_SIZE: u32 = 4;

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(
        "unsupported database url `{0}`: this build supports SQLite only (a file path or sqlite://PATH)"
    )]
    Unsupported(String),
    #[error("cannot create the database directory {path}: {source}")]
    Directory {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot open the database: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("cannot prepare the database: {0}")]
    Setup(String),
    #[error("database set-up task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// The control plane's database: a small connection pool.
#[derive(Clone)]
pub struct Db {
    pool: Pool<ConnectionManager<Conn>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<Conn, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut Conn) -> Result<(), diesel::r2d2::Error> {
        let pragmas = format!(
            "PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
            BUSY_TIMEOUT.as_millis()
        );
        conn.batch_execute(&pragmas)
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// The SQLite file named by `url`: `sqlite://PATH`, `sqlite:PATH` or a path.
fn sqlite_path(url: &str) -> Result<&str, OpenError> {
    // postgres:// and every other scheme belong to backends not built here.
    if url.contains("://") && !url.starts_with("sqlite://") {
        return Err(OpenError::Unsupported(url.to_owned()));
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    if path.is_empty() {
        return Err(OpenError::Unsupported(url.to_owned()));
    }
    Ok(path)
}

impl Db {
    /// Opens (creating if needed) the database at `url`, switches SQLite to
    /// WAL and runs the pending migrations.
    pub async fn open(url: &str) -> Result<Db, OpenError> {
        let path = sqlite_path(url)?.to_owned();
        tokio::task::spawn_blocking(move || Db::open_blocking(&path)).await?
    }

    fn open_blocking(path: &str) -> Result<Db, OpenError> {
        if let Some(parent) = Path::new(path).parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|source| OpenError::Directory {
                path: parent.display().to_string(),
                source,
            })?;
        }
        let manager = ConnectionManager::<Conn>::new(path);
        let pool = Pool::builder()
            .max_size(POOL_SIZE)
            .connection_timeout(Duration::from_secs(30))
            .connection_customizer(Box::new(SqlitePragmas))
            .build(manager)?;
        let mut conn = pool.get()?;
        conn.batch_execute("PRAGMA journal_mode = WAL;")
            .map_err(|e| OpenError::Setup(e.to_string()))?;
        conn.run_pending_migrations(MIGRATIONS)
            .map_err(|e| OpenError::Setup(e.to_string()))?;
        Ok(Db { pool })
    }

    /// Runs `work` on a pooled connection on the blocking pool.
    async fn run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> Result<T, ApiError> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(ApiError::internal)?;
            work(&mut conn)
        })
        .await
        .map_err(ApiError::internal)?
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(error: diesel::result::Error) -> Self {
        ApiError::internal(format!("database: {error}"))
    }
}

/// Runs `work` in a write transaction. SQLite takes the write lock up front
/// (`BEGIN IMMEDIATE`) so two read-then-write transactions cannot deadlock.
pub(crate) fn write_transaction<T>(
    conn: &mut Conn,
    work: impl FnOnce(&mut Conn) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    conn.immediate_transaction(work)
}

/// Now, as stored: UTC truncated to seconds, `YYYY-MM-DD HH:MM:SS`.
pub(crate) fn now() -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_else(|_| "1970-01-01 00:00:00".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sqlite_urls_are_accepted() {
        assert_eq!(sqlite_path("sqlite:///tmp/x.db").ok(), Some("/tmp/x.db"));
        assert_eq!(
            sqlite_path("data/ttp.sqlite3").ok(),
            Some("data/ttp.sqlite3")
        );
        assert!(sqlite_path("postgres://u@h/db").is_err());
        assert!(sqlite_path("").is_err());
    }

    #[test]
    fn timestamps_look_like_synergos_dates() {
        let now = now();
        assert_eq!(now.len(), "2024-01-02 03:04:05".len());
        assert_eq!(&now[10..11], " ");
    }
}
