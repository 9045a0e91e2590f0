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
