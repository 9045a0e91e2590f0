//! Throwaway databases for tests (feature `testing`): a temporary SQLite file, or a fresh PostgreSQL database
//! created on the server named by `ROOMGATE_TEST_POSTGRES_URL` and dropped afterwards.
use std::str::FromStr;

use sqlx::{postgres::PgConnectOptions, ConnectOptions, Connection};

/// The environment variable naming the PostgreSQL server tests may create databases on.
pub const POSTGRES_URL_VAR: &str = "ROOMGATE_TEST_POSTGRES_URL";

/// Which backend a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A temporary SQLite file.
    Sqlite,
    /// A fresh database on `ROOMGATE_TEST_POSTGRES_URL`.
    Postgres,
}

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(PgConnectOptions, String)>,
}

impl TestDatabase {
    /// Creates an empty database on `backend`.
    ///
    /// # Panics
    /// When PostgreSQL is asked for and `ROOMGATE_TEST_POSTGRES_URL` is unset or unreachable: such tests are
    /// compiled as ignored unless the variable was set at build time (see the crate's build script).
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}", dir.path().join("roomgate.db").display());
                Self {
                    url,
                    _dir: Some(dir),
                    postgres: None,
                }
            }
            Backend::Postgres => {
                let admin_url = std::env::var(POSTGRES_URL_VAR)
                    .unwrap_or_else(|_| panic!("{POSTGRES_URL_VAR} must name a PostgreSQL server"));
                let admin = PgConnectOptions::from_str(&admin_url).expect("valid PostgreSQL URL");
                let name = format!("roomgate_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = admin.connect().await.expect("PostgreSQL answers");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create database");
                let _ = conn.close().await;
                let url = admin.clone().database(&name).to_url_lossy().to_string();
                Self {
                    url,
                    _dir: None,
                    postgres: Some((admin, name)),
                }
            }
        }
    }

    /// The URL to give `roomgate_store::connect` or `roomgate serve --database`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs inside the test's runtime; a separate thread with its own runtime may block.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut conn = admin.connect().await.ok()?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .ok()
            })
        })
        .join();
    }
}

/// Defines a test that runs once per backend: `NAME::sqlite` always, `NAME::postgres` when
/// `ROOMGATE_TEST_POSTGRES_URL` was set at build time (otherwise it is listed as ignored, so runners report
/// the PostgreSQL half as skipped).
///
/// ```ignore
/// roomgate_store::backend_test! {
///     async fn rooms_survive(backend: Backend) { let db = TestDatabase::new(backend).await; /* ... */ }
/// }
/// ```
#[cfg(postgres_tests)]
#[macro_export]
macro_rules! backend_test {
    ($(#[$meta:meta])* async fn $name:ident($backend:ident: Backend) $body:block) => {
        $(#[$meta])*
        async fn $name($backend: $crate::testing::Backend) $body

        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::testing::Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::testing::Backend::Postgres).await
            }
        }
    };
}

/// Defines a test that runs once per backend (the PostgreSQL half is ignored: no ROOMGATE_TEST_POSTGRES_URL).
#[cfg(not(postgres_tests))]
#[macro_export]
macro_rules! backend_test {
    ($(#[$meta:meta])* async fn $name:ident($backend:ident: Backend) $body:block) => {
        $(#[$meta])*
        async fn $name($backend: $crate::testing::Backend) $body

        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::testing::Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[ignore = "PostgreSQL half skipped: set ROOMGATE_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres)"]
            async fn postgres() {
                super::$name($crate::testing::Backend::Postgres).await
            }
        }
    };
}

/// The query plans of the statements [`crate::Store::list_rooms`] runs for `filter` and the page at `offset`
/// (of `limit` rooms, in a listing of `total`), one string per statement, for tests that check each is served
/// by an index: SQLite's `EXPLAIN QUERY PLAN` lines, or PostgreSQL's `EXPLAIN` with sequential scans and sorts
/// disabled (on a test's small table a scan and a sort are cheapest, which would hide whether an index can serve
/// the query and its order at all).
pub async fn list_query_plans(
    url: &str,
    filter: &crate::RoomFilter,
    total: u64,
    limit: u32,
    offset: u64,
) -> Vec<String> {
    use crate::listing::{Bind, Conditions, TotalFrom, Window};
    let postgres = url.starts_with("postgres");
    let conditions = Conditions::of(
        filter,
        if postgres {
            |n| format!("${n}")
        } else {
            |n| format!("?{n}")
        },
    );
    let window = Window::of(total, limit, offset);
    let page = window.map(|w| conditions.page_sql(&w, if postgres { "id" } else { "rowid" }));
    let statements: Vec<(String, bool)> = match TotalFrom::of(filter) {
        TotalFrom::Rows => vec![(conditions.rows_sql(), false)],
        TotalFrom::Count => std::iter::once((conditions.count_sql(), false))
            .chain(page.map(|p| (p, true)))
            .collect(),
        TotalFrom::Counter => page.map(|p| (p, true)).into_iter().collect(),
    };
    let account = uuid::Uuid::new_v4();
    let mut plans = Vec::new();
    for (sql, paged) in statements {
        macro_rules! bound {
            ($query:expr, $account:expr) => {{
                let mut query = $query.bind($account);
                for value in &conditions.binds {
                    query = match value {
                        Bind::Text(text) => query.bind(text.clone()),
                        Bind::Int(int) => query.bind(*int),
                    };
                }
                if paged {
                    let w = window.expect("a page");
                    query = query.bind(w.limit as i64).bind(w.offset as i64);
                }
                query
            }};
        }
        let plan = if postgres {
            let mut conn = PgConnectOptions::from_str(url)
                .expect("valid URL")
                .connect()
                .await
                .expect("PostgreSQL answers");
            // What the planner can do with an index, not what it prefers on a test's near-empty table.
            for setting in ["SET enable_seqscan = off", "SET enable_sort = off"] {
                sqlx::query(setting).execute(&mut conn).await.expect("set");
            }
            let explain = format!("EXPLAIN {sql}");
            let rows: Vec<String> = bound!(sqlx::query_scalar(&explain), account)
                .fetch_all(&mut conn)
                .await
                .expect("EXPLAIN");
            rows.join("\n")
        } else {
            let mut conn = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                .expect("valid URL")
                .connect()
                .await
                .expect("SQLite opens");
            let explain = format!("EXPLAIN QUERY PLAN {sql}");
            let rows: Vec<(i64, i64, i64, String)> = bound!(sqlx::query_as(&explain), account.to_string())
                .fetch_all(&mut conn)
                .await
                .expect("EXPLAIN QUERY PLAN");
            rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("\n")
        };
        plans.push(format!("{sql}\n{plan}"));
    }
    plans
}

/// The query plans of the revocation statements on a hot or growing path, one string each: the refresh path's
/// read (room, key and covering revocation) and a feed page. Planned as [`list_query_plans`] plans.
pub async fn revocation_query_plans(url: &str) -> Vec<String> {
    let postgres = url.starts_with("postgres");
    let (refresh, feed) = if postgres {
        (crate::sql::REFRESH_CHECK.clone(), crate::revoking::feed_sql())
    } else {
        (
            crate::sqlite::REFRESH_CHECK.clone(),
            crate::revoking::feed_sql().replace('$', "?"),
        )
    };
    let (room, key, jti, account) = (
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
    );
    let mut plans = Vec::new();
    if postgres {
        let mut conn = PgConnectOptions::from_str(url)
            .expect("valid URL")
            .connect()
            .await
            .expect("PostgreSQL answers");
        sqlx::query("SET enable_seqscan = off")
            .execute(&mut conn)
            .await
            .expect("set");
        let explain = |sql: &str| format!("EXPLAIN {sql}");
        let rows: Vec<String> = sqlx::query_scalar(&explain(&refresh))
            .bind(room)
            .bind(Some(jti))
            .bind(Some("alice"))
            .bind(1_i64)
            .bind(Some(key))
            .fetch_all(&mut conn)
            .await
            .expect("EXPLAIN");
        plans.push(format!("{refresh}\n{}", rows.join("\n")));
        let rows: Vec<String> = sqlx::query_scalar(&explain(&feed))
            .bind(account)
            .bind(0_i64)
            .bind(100_i64)
            .bind(1_i64)
            .bind(100_i64)
            .fetch_all(&mut conn)
            .await
            .expect("EXPLAIN");
        plans.push(format!("{feed}\n{}", rows.join("\n")));
    } else {
        let mut conn = sqlx::sqlite::SqliteConnectOptions::from_str(url)
            .expect("valid URL")
            .connect()
            .await
            .expect("SQLite opens");
        let explain = |sql: &str| format!("EXPLAIN QUERY PLAN {sql}");
        let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(&explain(&refresh))
            .bind(room.to_string())
            .bind(jti.to_string())
            .bind("alice")
            .bind(1_i64)
            .bind(key.to_string())
            .fetch_all(&mut conn)
            .await
            .expect("EXPLAIN QUERY PLAN");
        plans.push(format!(
            "{refresh}\n{}",
            rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("\n")
        ));
        let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(&explain(&feed))
            .bind(account.to_string())
            .bind(0_i64)
            .bind(100_i64)
            .bind(1_i64)
            .bind(100_i64)
            .fetch_all(&mut conn)
            .await
            .expect("EXPLAIN QUERY PLAN");
        plans.push(format!(
            "{feed}\n{}",
            rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("\n")
        ));
    }
    plans
}
