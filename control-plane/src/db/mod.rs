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
//! Two backends from one codebase, chosen by the database URL ([`Target`]):
//! SQLite (embedded, the default: a file path or `sqlite://PATH`) and
//! PostgreSQL (`postgres://` or `postgresql://`). Queries are written once
//! against `Conn`, diesel's multi-connection over both; only connecting,
//! migrations ([`SQLITE_MIGRATIONS`], [`POSTGRES_MIGRATIONS`], embedded and
//! run at start-up) and `write_transaction` differ per backend, all in this
//! file. The SQL stays portable: text columns (JSON bodies and timestamps are
//! formatted in Rust, so they read the same on both) and an integer `doc_id`.
//! One control plane per database: at start-up it fails the jobs left
//! unfinished, taking them for its own. Every call runs on the blocking
//! pool; no lock is held across an `.await`.

mod jobs;
mod records;
pub mod schema;

use std::path::Path;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::r2d2::{ManageConnection, Pool, R2D2Connection};
use diesel::result::Error as DieselError;
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::ApiError;

/// A connection to either backend; queries written against it run on both.
#[derive(diesel::MultiConnection)]
pub(crate) enum AnyConnection {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

/// The backend the queries are written for: whichever [`Conn`] holds.
pub(crate) type Backend = MultiBackend;
/// A connection to [`Backend`].
pub(crate) type Conn = AnyConnection;

/// SQLite migrations, embedded in the binary and run at start-up.
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
/// PostgreSQL migrations, embedded in the binary and run at start-up.
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// How long a write waits for a competing writer before failing (SQLite's
/// busy timeout, PostgreSQL's lock timeout).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a request waits for a pooled connection.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections per pool: SQLite allows one writer at a time anyway; a
/// PostgreSQL server serves concurrent readers.
const SQLITE_POOL_SIZE: u32 = 4;
const POSTGRES_POOL_SIZE: u32 = 8;
/// The PostgreSQL advisory lock that serialises writers (see
/// [`write_transaction`]) and migrations; any constant unique to the TTP.
const POSTGRES_WRITE_LOCK: i64 = 0x7474_7063_7472_6c00; // "ttpctrl"

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(
        "unsupported database url `{0}`: use a file path or sqlite://PATH for SQLite, \
         postgres://USER:PASSWORD@HOST:PORT/DATABASE for PostgreSQL"
    )]
    Unsupported(String),
    #[error("cannot create the database directory {path}: {source}")]
    Directory {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot connect to the database at {url}: {source}")]
    Connect {
        url: String,
        source: diesel::r2d2::Error,
    },
    #[error("cannot open the database: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("cannot prepare the database: {0}")]
    Setup(String),
    #[error("database set-up task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Where the data lives, parsed from a database URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A SQLite file (created if missing).
    Sqlite(String),
    /// A PostgreSQL connection URL, passed to libpq as given.
    Postgres(String),
}

impl Target {
    /// `postgres://…` or `postgresql://…` is PostgreSQL; `sqlite://PATH`,
    /// `sqlite:PATH` or a bare path is SQLite; any other scheme is refused
    /// rather than taken for a file name.
    pub fn parse(url: &str) -> Result<Target, OpenError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Target::Postgres(url.to_owned()));
        }
        if url.contains("://") && !url.starts_with("sqlite://") {
            return Err(OpenError::Unsupported(redacted(url)));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() {
            return Err(OpenError::Unsupported(url.to_owned()));
        }
        Ok(Target::Sqlite(path.to_owned()))
    }

    /// The backend's name, for logs and test names.
    pub fn backend(&self) -> &'static str {
        match self {
            Target::Sqlite(_) => "sqlite",
            Target::Postgres(_) => "postgres",
        }
    }
}

/// `url` without its password, for logs and error messages.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Opens connections of the backend named by the URL, never guessing:
/// diesel's own multi-connection manager would fall back to SQLite and
/// create a file named after an unreachable PostgreSQL URL.
#[derive(Debug)]
struct Manager(Target);

impl ManageConnection for Manager {
    type Connection = Conn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Conn, Self::Error> {
        match &self.0 {
            Target::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path)
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                let pragmas = format!(
                    "PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
                    BUSY_TIMEOUT.as_millis()
                );
                conn.batch_execute(&pragmas)
                    .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(Conn::Sqlite(conn))
            }
            Target::Postgres(url) => {
                let mut conn =
                    PgConnection::establish(url).map_err(diesel::r2d2::Error::ConnectionError)?;
                conn.batch_execute(&format!("SET lock_timeout = {};", BUSY_TIMEOUT.as_millis()))
                    .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(Conn::Postgres(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// The control plane's database: a small connection pool.
#[derive(Clone)]
pub struct Db {
    pool: Pool<Manager>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").finish_non_exhaustive()
    }
}

impl Db {
    /// Opens the database at `url` (see [`Target::parse`]) and runs the
    /// pending migrations. A SQLite file is created if needed and switched
    /// to WAL; a PostgreSQL database must exist.
    pub async fn open(url: &str) -> Result<Db, OpenError> {
        let target = Target::parse(url)?;
        tokio::task::spawn_blocking(move || Db::open_blocking(target)).await?
    }

    fn open_blocking(target: Target) -> Result<Db, OpenError> {
        if let Target::Sqlite(path) = &target
            && let Some(parent) = Path::new(path).parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|source| OpenError::Directory {
                path: parent.display().to_string(),
                source,
            })?;
        }
        let manager = Manager(target.clone());
        // One connection up front: a wrong URL fails now with libpq's reason
        // instead of after the pool's checkout timeout.
        let mut conn = manager.connect().map_err(|source| OpenError::Connect {
            url: match &target {
                Target::Sqlite(path) => path.clone(),
                Target::Postgres(url) => redacted(url),
            },
            source,
        })?;
        migrate(&mut conn).map_err(OpenError::Setup)?;
        drop(conn);
        let max_size = match target {
            Target::Sqlite(_) => SQLITE_POOL_SIZE,
            Target::Postgres(_) => POSTGRES_POOL_SIZE,
        };
        let pool = Pool::builder()
            .max_size(max_size)
            .min_idle(Some(1))
            .connection_timeout(CHECKOUT_TIMEOUT)
            .build(manager)?;
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

/// Brings the schema up to date. PostgreSQL migrations run under the writer
/// lock, so two processes started together cannot both apply them.
fn migrate(conn: &mut Conn) -> Result<(), String> {
    match conn {
        Conn::Sqlite(conn) => {
            conn.batch_execute("PRAGMA journal_mode = WAL;")
                .map_err(|e| e.to_string())?;
            conn.run_pending_migrations(SQLITE_MIGRATIONS)
                .map_err(|e| e.to_string())?;
        }
        Conn::Postgres(conn) => {
            conn.batch_execute(&format!("SELECT pg_advisory_lock({POSTGRES_WRITE_LOCK})"))
                .map_err(|e| e.to_string())?;
            let migrated = conn
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(drop)
                .map_err(|e| e.to_string());
            conn.batch_execute(&format!("SELECT pg_advisory_unlock({POSTGRES_WRITE_LOCK})"))
                .map_err(|e| e.to_string())?;
            migrated?;
        }
    }
    Ok(())
}

impl From<DieselError> for ApiError {
    fn from(error: DieselError) -> Self {
        ApiError::internal(format!("database: {error}"))
    }
}

/// Runs `work` in a write transaction that holds the database's single
/// writer lock from its first statement, so read-then-write work (upserts,
/// merges, cascades) never interleaves and never deadlocks, and either all
/// of it is stored or none. SQLite: `BEGIN IMMEDIATE`. PostgreSQL: `BEGIN`
/// and a transaction-scoped advisory lock (row locks alone would let two
/// upserts of a new record both insert). The control plane's writes are few
/// and small, so one writer at a time costs nothing.
pub(crate) fn write_transaction<T>(
    conn: &mut Conn,
    work: impl FnOnce(&mut Conn) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    type Transactions = <Conn as Connection>::TransactionManager;
    begin_write(conn)?;
    // As diesel's `Connection::transaction`, with our own BEGIN.
    match work(conn) {
        Ok(value) => {
            Transactions::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => match Transactions::rollback_transaction(conn) {
            Ok(()) | Err(DieselError::BrokenTransactionManager) => Err(error),
            Err(rollback) => Err(rollback.into()),
        },
    }
}

fn begin_write(conn: &mut Conn) -> Result<(), DieselError> {
    match conn {
        Conn::Sqlite(conn) => {
            AnsiTransactionManager::begin_transaction_sql(conn, "BEGIN IMMEDIATE")
        }
        Conn::Postgres(conn) => {
            AnsiTransactionManager::begin_transaction_sql(conn, "BEGIN")?;
            let locked = conn.batch_execute(&format!(
                "SELECT pg_advisory_xact_lock({POSTGRES_WRITE_LOCK})"
            ));
            if let Err(error) = locked {
                // Best effort: a connection left in a transaction is
                // reported broken and dropped by the pool.
                let _ = AnsiTransactionManager::rollback_transaction(conn);
                return Err(error);
            }
            Ok(())
        }
    }
}

/// Now, as stored: UTC truncated to seconds, `YYYY-MM-DD HH:MM:SS`. Kept as
/// text, formatted here, so both backends store and return the same string.
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
    fn the_url_chooses_the_backend() {
        let sqlite = |path: &str| Some(Target::Sqlite(path.to_owned()));
        assert_eq!(
            Target::parse("sqlite:///tmp/x.db").ok(),
            sqlite("/tmp/x.db")
        );
        assert_eq!(Target::parse("sqlite:x.db").ok(), sqlite("x.db"));
        assert_eq!(
            Target::parse("data/ttp.sqlite3").ok(),
            sqlite("data/ttp.sqlite3")
        );
        for url in [
            "postgres://u:p@h:5432/db",
            "postgresql://u@h/db?sslmode=require",
        ] {
            assert_eq!(
                Target::parse(url).ok(),
                Some(Target::Postgres(url.to_owned()))
            );
        }
        assert!(Target::parse("mysql://u@h/db").is_err());
        assert!(Target::parse("").is_err());
        assert!(Target::parse("sqlite://").is_err());
    }

    #[test]
    fn an_unsupported_url_names_the_choices_without_the_password() {
        let message = Target::parse("mysql://ttp:secret@h/db")
            .unwrap_err()
            .to_string();
        assert!(!message.contains("secret"), "{message}");
        assert!(message.contains("postgres://"), "{message}");
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redacted("postgres://ttp:s3cr@t@127.0.0.1:5432/ttp?sslmode=disable"),
            "postgres://ttp:***@127.0.0.1:5432/ttp?sslmode=disable"
        );
        assert_eq!(redacted("postgres://ttp@h/db"), "postgres://ttp@h/db");
        assert_eq!(redacted("data/ttp.sqlite3"), "data/ttp.sqlite3");
    }

    #[test]
    fn timestamps_look_like_synergos_dates() {
        let now = now();
        assert_eq!(now.len(), "2024-01-02 03:04:05".len());
        assert_eq!(&now[10..11], " ");
    }
}
