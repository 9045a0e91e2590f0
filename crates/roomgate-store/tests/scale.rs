//! Room counts, the per-account limit and the list queries' plans, on every backend.
use std::sync::Arc;

use roomgate_store::{
    backend_test, connect,
    testing::{list_query_plans, Backend, TestDatabase},
    RoomFilter, RoomRecord, Store, StoreError,
};
use uuid::Uuid;

async fn open(backend: Backend) -> (TestDatabase, Arc<dyn Store>) {
    let db = TestDatabase::new(backend).await;
    let store = connect(db.url()).await.expect("store opens and migrates");
    (db, store)
}

fn room(account_id: Uuid, name: Option<String>, at: i64) -> RoomRecord {
    RoomRecord {
        id: Uuid::new_v4(),
        account_id,
        unique_name: name,
        max_participants: 10,
        enable_recording: false,
        webhook_event_url: None,
        webhook_event_failover_url: None,
        webhook_timeout_secs: None,
        created_at: at,
        updated_at: at,
        active_session_id: None,
    }
}

async fn total(store: &dyn Store, account: Uuid) -> u64 {
    store
        .list_rooms(account, &RoomFilter::default(), 1, 0)
        .await
        .unwrap()
        .1
}

backend_test! {
    async fn the_room_count_follows_single_and_bulk_inserts_and_deletes(backend: Backend) {
        let (_db, store) = open(backend).await;
        let a = store.ensure_account("a", 1).await.unwrap();
        let b = store.ensure_account("b", 1).await.unwrap();
        let bulk: Vec<_> = (0..4500).map(|i| room(if i % 3 == 0 { b } else { a }, Some(format!("r{i}")), i)).collect();
        store.insert_rooms(&bulk).await.unwrap();
        assert_eq!((total(store.as_ref(), a).await, total(store.as_ref(), b).await), (3000, 1500));
        let one = room(a, None, 10_000);
        store.insert_room(&one).await.unwrap();
        store.delete_room(a, one.id, 1, 1).await.unwrap();
        store.delete_room(a, bulk[1].id, 1, 1).await.unwrap();
        assert!(matches!(store.delete_room(a, bulk[1].id, 1, 1).await, Err(StoreError::NotFound)));
        assert!(matches!(store.delete_room(a, bulk[0].id, 1, 1).await, Err(StoreError::NotFound)), "b's room");
        assert_eq!((total(store.as_ref(), a).await, total(store.as_ref(), b).await), (2999, 1500));
        // A bulk insert that fails leaves neither rooms nor counts behind.
        let clash = vec![room(a, Some("new".into()), 1), room(a, Some("r2".into()), 2)];
        assert!(matches!(store.insert_rooms(&clash).await, Err(StoreError::Conflict(_))));
        assert_eq!(total(store.as_ref(), a).await, 2999);
    }
}

backend_test! {
    async fn concurrent_creates_never_pass_the_room_limit(backend: Backend) {
        let (_db, store) = open(backend).await;
        let a = store.ensure_account("a", 1).await.unwrap();
        let b = store.ensure_account("b", 1).await.unwrap();
        for i in 0..3 {
            store.insert_room_within(&room(a, None, i), Some(5)).await.unwrap();
        }
        let tasks: Vec<_> = (0..24)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move { store.insert_room_within(&room(a, None, 10 + i), Some(5)).await })
            })
            .collect();
        let mut created = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) => created += 1,
                Err(StoreError::LimitReached(_)) => {}
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!(created, 2, "3 + 2 = the limit of 5");
        assert_eq!(total(store.as_ref(), a).await, 5);
        // Another account has its own count; no limit means none.
        store.insert_room_within(&room(b, None, 1), Some(1)).await.unwrap();
        assert!(matches!(store.insert_room_within(&room(b, None, 2), Some(1)).await, Err(StoreError::LimitReached(_))));
        store.insert_room_within(&room(b, None, 3), None).await.unwrap();
        assert_eq!(total(store.as_ref(), b).await, 2);
    }
}

backend_test! {
    /// A database made by the first schema, with rooms in it, gets exact counts when it is upgraded.
    async fn upgrading_counts_the_rooms_already_stored(backend: Backend) {
        let db = TestDatabase::new(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let (sub, init) = match backend {
            Backend::Sqlite => ("sqlite", include_str!("../migrations/sqlite/0001_init.sql")),
            Backend::Postgres => ("postgres", include_str!("../migrations/postgres/0001_init.sql")),
        };
        std::fs::write(dir.path().join("0001_init.sql"), init).unwrap();
        let first = sqlx::migrate::Migrator::new(dir.path()).await.unwrap();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let seed = |id: Uuid| [
            format!("INSERT INTO accounts (id, name, created_at) VALUES ('{id}', '{id}', 1)"),
        ];
        let mut statements: Vec<String> = [seed(a), seed(b)].concat();
        for i in 0..7 {
            let owner = if i < 5 { a } else { b };
            statements.push(format!(
                "INSERT INTO rooms (id, account_id, max_participants, enable_recording, created_at, updated_at) \
                 VALUES ('{}', '{owner}', 10, false, {i}, {i})",
                Uuid::new_v4()
            ));
        }
        match backend {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&format!("{}?mode=rwc", db.url())).await.unwrap();
                let _ = sub;
                first.run(&pool).await.unwrap();
                for s in &statements {
                    sqlx::query(s).execute(&pool).await.unwrap();
                }
                pool.close().await;
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(db.url()).await.unwrap();
                first.run(&pool).await.unwrap();
                for s in &statements {
                    sqlx::query(s).execute(&pool).await.unwrap();
                }
                pool.close().await;
            }
        }
        let store = connect(db.url()).await.expect("the old database upgrades");
        assert_eq!((total(store.as_ref(), a).await, total(store.as_ref(), b).await), (5, 2));
        store.insert_room(&room(a, None, 9)).await.unwrap();
        assert_eq!(total(store.as_ref(), a).await, 6);
    }
}

/// Each statement names the index that serves it: no scan of the table, no sort of the account's rooms.
fn assert_indexed(backend: Backend, plan: &str) {
    match backend {
        Backend::Sqlite => {
            for line in plan.lines().skip(1) {
                assert!(!line.starts_with("SCAN rooms"), "a full scan:\n{plan}");
                if line.contains("rooms") && line.starts_with("SEARCH") {
                    assert!(
                        line.contains("INDEX") || line.contains("PRIMARY KEY"),
                        "no index:\n{plan}"
                    );
                }
            }
            // Only the outer query of a page may sort: the page's own rows, read by rowid.
            let sorts = plan.lines().filter(|l| l.contains("TEMP B-TREE")).count();
            let pages = plan.lines().filter(|l| l.contains("LIST SUBQUERY")).count();
            assert!(sorts <= pages, "the index does not give the order:\n{plan}");
        }
        Backend::Postgres => {
            assert!(!plan.contains("Seq Scan on rooms"), "a full scan:\n{plan}");
            assert!(plan.contains("Index"), "no index:\n{plan}");
        }
    }
}

backend_test! {
    async fn list_queries_are_served_by_indexes(backend: Backend) {
        let (db, _store) = open(backend).await;
        let day = 86_400_000_000;
        let cases = [
            RoomFilter::default(),
            RoomFilter { unique_name: Some("x".into()), ..RoomFilter::default() },
            RoomFilter { created_from: Some(day), created_until: Some(2 * day), ..RoomFilter::default() },
            RoomFilter { created_from: Some(day), ..RoomFilter::default() },
            RoomFilter { updated_from: Some(day), updated_until: Some(2 * day), ..RoomFilter::default() },
        ];
        for filter in &cases {
            // The first page, a page read from the end, and one in the middle.
            for offset in [0, 999_750, 500_000] {
                let plans = list_query_plans(db.url(), filter, 1_000_000, 250, offset).await;
                assert!(!plans.is_empty());
                for plan in plans {
                    if filter.updated_from.is_some() && plan.contains(" IN (") {
                        // Pages of an updated_at range are ordered by created_at: the range comes from the
                        // updated_at index, then its rooms are sorted (cost: the rooms in the range).
                        let scan = plan.lines().any(|l| l.starts_with("SCAN rooms") || l.contains("Seq Scan on rooms"));
                        assert!(!scan, "a full scan:\n{plan}");
                        continue;
                    }
                    assert_indexed(backend, &plan);
                    // The index that fits: the unique one for a name (which an `OR ? IS NULL` form cannot use),
                    // the ordered one otherwise.
                    let fits = if filter.unique_name.is_some() { "rooms_account_unique_name" } else { "rooms_account_created" };
                    if filter.updated_from.is_none() {
                        assert!(plan.contains(fits), "{fits} not used:\n{plan}");
                    }
                }
            }
        }
    }
}

backend_test! {
    async fn revocation_lookups_are_served_by_their_indexes(backend: Backend) {
        let (db, _store) = open(backend).await;
        let plans = roomgate_store::testing::revocation_query_plans(db.url()).await;
        let [refresh, feed] = plans.as_slice() else { panic!("two plans: {plans:?}") };
        // The refresh path's one read: each selector is one probe of its own partial index, never a scan of the
        // table, however many revocations there are.
        for index in ["revocations_room_jti", "revocations_room_identity", "revocations_room_cutoff"] {
            assert!(refresh.contains(index), "{index} not used:\n{refresh}");
        }
        assert!(feed.contains("revocations_account_seq"), "the feed reads in its order's index:\n{feed}");
        for plan in [refresh, feed] {
            assert!(
                !plan.lines().any(|l| l.trim_start().starts_with("SCAN revocations") || l.contains("Seq Scan on revocations")),
                "a full scan:\n{plan}"
            );
            assert!(!plan.contains("TEMP B-TREE") && !plan.contains("Sort"), "a sort:\n{plan}");
        }
    }
}
