//! The SQLite backend passes the shared suite, in a file and in memory, and a file keeps its data across reopening.

use switchboard_store::{SqliteStore, Store, testsuite};

#[tokio::test]
async fn sqlite_file_passes_the_shared_suite() {
    let directory = tempfile::tempdir().unwrap();
    let counter = std::sync::atomic::AtomicU32::new(0);
    testsuite::run(|| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = directory.path().join(format!("store-{n}.sqlite"));
        async move { SqliteStore::open(&path, testsuite::epoch()).await.expect("open") }
    })
    .await;
}

#[tokio::test]
async fn sqlite_in_memory_passes_the_shared_suite() {
    testsuite::run(|| async { SqliteStore::in_memory(testsuite::epoch()).await.expect("open") }).await;
}

#[tokio::test]
async fn a_reopened_file_keeps_its_identity_and_data() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("switchboard.sqlite");
    let store = SqliteStore::open(&path, testsuite::epoch()).await.unwrap();
    let instance = store.instance().await.unwrap();
    let report = switchboard_store::NewDeviceQualityReport {
        received_at: testsuite::epoch(),
        tenant_id: uuid::Uuid::from_u128(1),
        app_id: uuid::Uuid::from_u128(2),
        api_version: "beta".into(),
        user_agent: "Probe/1".into(),
        call_chain_id: None,
        participant_id: None,
        media_leg_id: None,
        quality_json: "{}".into(),
    };
    store.add_device_quality_report(report.clone()).await.unwrap();
    store.close().await;

    let later = testsuite::epoch() + chrono::Duration::days(1);
    let reopened = SqliteStore::open(&path, later).await.unwrap();
    assert_eq!(reopened.instance().await.unwrap(), instance, "the creation time is the first open's, not the second's");
    let reports = reopened.device_quality_reports(0, 10).await.unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].report, report);
}

/// A database at the `count` first migrations, as sqlx applied them in earlier builds.
async fn migrated_by_an_earlier_build(directory: &std::path::Path, count: usize) -> sqlx::SqliteConnection {
    use sqlx::{Connection, migrate::Migrator};

    let earlier = directory.join("migrations");
    std::fs::create_dir(&earlier).unwrap();
    let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    let mut files: Vec<_> = std::fs::read_dir(&migrations).unwrap().map(|f| f.unwrap().file_name()).collect();
    files.sort();
    for file in &files[..count] {
        std::fs::copy(migrations.join(file), earlier.join(file)).unwrap();
    }
    let url = format!("sqlite://{}?mode=rwc", directory.join("switchboard.sqlite").display());
    let mut connection = sqlx::SqliteConnection::connect(&url).await.unwrap();
    Migrator::new(earlier.as_path()).await.unwrap().run(&mut connection).await.unwrap();
    connection
}

/// Calls stored while their operations were part of the document keep them, in order, beside it.
#[tokio::test]
async fn operations_stored_in_call_documents_move_beside_them() {
    use sqlx::Connection;

    let directory = tempfile::tempdir().unwrap();
    let mut connection = migrated_by_an_earlier_build(directory.path(), 11).await;
    sqlx::raw_sql(
        r#"INSERT INTO call (call_id, tenant_id, app_id, state, version, document, created_at, updated_at)
           VALUES ('c1', '00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-000000000002',
                   'established', 3, '{"id":"c1","operations":[{"id":"o2","status":"completed"},{"id":"o1","status":"running"}],"version":3}',
                   '2026-11-22T09:30:00.000000Z', '2026-11-22T09:30:00.000000Z');"#,
    )
    .execute(&mut connection)
    .await
    .unwrap();
    connection.close().await.unwrap();

    let store = SqliteStore::open(&directory.path().join("switchboard.sqlite"), testsuite::epoch()).await.unwrap();
    let call = store.call("c1").await.unwrap().unwrap();
    assert_eq!(call.document, r#"{"id":"c1","version":3}"#);
    let operation = |id: &str, status: &str| switchboard_store::OperationRecord {
        operation_id: id.into(),
        document: format!(r#"{{"id":"{id}","status":"{status}"}}"#),
    };
    assert_eq!(call.operations, [operation("o2", "completed"), operation("o1", "running")]);
}

/// A data directory written before notifications had message ids, sequence numbers and dead letters keeps its
/// notifications: same message ids as they were sent with, numbered within their call, `failed` as dead letters.
#[tokio::test]
async fn notifications_of_an_older_schema_survive_the_upgrade() {
    use sqlx::Connection;

    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("switchboard.sqlite");
    let mut connection = migrated_by_an_earlier_build(directory.path(), 3).await;
    sqlx::raw_sql(
        r#"INSERT INTO call VALUES ('c1', '00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-000000000002',
                   'established', 3, '{"callChainId":"chain-1"}', '2026-11-22T09:30:00.000000Z',
                   '2026-11-22T09:30:00.000000Z', NULL);
           INSERT INTO notification (call_id, tenant_id, app_id, url, body, raised_at, status, attempts, last_error)
           VALUES ('c1', '00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-000000000002',
                   'https://bot.example/cb', '{}', '2026-11-22T09:30:00.000000Z', 'delivered', 1, NULL),
                  ('c1', '00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-000000000002',
                   'https://bot.example/cb', '{}', '2026-11-22T09:30:01.000000Z', 'failed', 8, 'gave up');"#,
    )
    .execute(&mut connection)
    .await
    .unwrap();
    connection.close().await.unwrap();

    let store = SqliteStore::open(&path, testsuite::epoch()).await.unwrap();
    let journal =
        store.notifications(switchboard_store::NotificationFilter { limit: 10, ..Default::default() }).await.unwrap();
    let upgraded: Vec<_> = journal
        .iter()
        .map(|n| (n.notification.message_id.to_string(), n.call_sequence, n.status, n.notification.chain_id.as_str()))
        .collect();
    use switchboard_store::DeliveryStatus::{DeadLettered, Delivered};
    assert_eq!(
        upgraded,
        [
            ("00000000-5b1e-d0c5-0000-000000000001".to_owned(), 1, Delivered, "chain-1"),
            ("00000000-5b1e-d0c5-0000-000000000002".to_owned(), 2, DeadLettered, "chain-1"),
        ]
    );
    assert_eq!(journal[1].notification.queued_at, journal[1].notification.raised_at);
    // The next notification the call raises continues its numbering.
    let mut call = store.call("c1").await.unwrap().unwrap();
    call.version += 1;
    let mut next = journal[0].notification.clone();
    next.message_id = uuid::Uuid::from_u128(7);
    // A call stored before ownership existed has no owner: the first node to ask takes it.
    let lease = store.acquire_call("c1", "node-a", testsuite::epoch()).await.unwrap();
    assert_eq!(lease, Some(switchboard_store::Lease { node_id: "node-a".into(), epoch: 1 }));
    let change = switchboard_store::CallChange {
        call,
        lease: lease.unwrap(),
        expected_version: Some(3),
        fired: None,
        timers: Vec::new(),
        cancelled_timers: Vec::new(),
        forgotten_operations: Vec::new(),
        notifications: vec![next],
    };
    store.commit_call(change).await.unwrap();
    let all =
        store.notifications(switchboard_store::NotificationFilter { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(all[2].call_sequence, 3);
}

/// Under writes that never pause, the WAL stays within a bound: the committing connection checkpoints it past 1,000
/// pages, whatever the load. (A checkpointer on a connection of its own, tried, never caught up with such a writer
/// and let the WAL grow to 25 GiB while 100,000 calls were set up: BENCHMARKS.md, "Signing, and call ownership".)
#[tokio::test]
async fn the_wal_stays_bounded_under_steady_writes() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("switchboard.sqlite");
    let wal = directory.path().join("switchboard.sqlite-wal");
    let store = std::sync::Arc::new(SqliteStore::open(&path, testsuite::epoch()).await.unwrap());
    let mut largest = 0;
    // 16 writers at once, ~60 MiB in all: several times the bound.
    let mut writers = tokio::task::JoinSet::new();
    for writer in 0..16 {
        let store = store.clone();
        writers.spawn(async move {
            for n in 0..500 {
                let report = switchboard_store::NewDeviceQualityReport {
                    received_at: testsuite::epoch(),
                    tenant_id: uuid::Uuid::from_u128(1),
                    app_id: uuid::Uuid::from_u128(2),
                    api_version: "v1.0".into(),
                    user_agent: format!("Probe/{writer}/{n}"),
                    call_chain_id: None,
                    participant_id: None,
                    media_leg_id: None,
                    quality_json: format!(r#"{{"padding":"{}"}}"#, "x".repeat(8_000)),
                };
                store.add_device_quality_report(report).await.unwrap();
            }
        });
    }
    while !writers.is_empty() {
        tokio::select! {
            joined = writers.join_next() => joined.unwrap().unwrap(),
            () = tokio::time::sleep(std::time::Duration::from_millis(20)) => {}
        }
        largest = largest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
    }
    assert!(largest > 0, "the writes went through the WAL");
    // 1,000 pages of 4 KiB, and the group commit that crossed it.
    assert!(largest < 12 << 20, "the WAL grew to {} MiB", largest >> 20);
    store.close().await;
}

/// The WAL-index header's frame counts (sqlite.org/walformat.html, in the `-shm` file, native byte order): the last
/// valid frame of the WAL (`mxFrame`), and how many of them are back in the database (`nBackfill`).
fn wal_frames(shm: &std::path::Path) -> (u32, u32) {
    let bytes = std::fs::read(shm).unwrap();
    let at = |offset: usize| u32::from_ne_bytes(bytes[offset..offset + 4].try_into().unwrap());
    (at(16), at(96))
}

/// Between commits, when nothing waits, the thread copies the WAL back into the database (so SQLite's own checkpoint,
/// inside a commit, rarely has work left to stall it with).
#[tokio::test]
async fn the_wal_is_checkpointed_while_the_store_is_idle() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("switchboard.sqlite");
    let shm = directory.path().join("switchboard.sqlite-shm");
    let store = SqliteStore::open(&path, testsuite::epoch()).await.unwrap();
    let report = |n: u32| switchboard_store::NewDeviceQualityReport {
        received_at: testsuite::epoch(),
        tenant_id: uuid::Uuid::from_u128(1),
        app_id: uuid::Uuid::from_u128(2),
        api_version: "v1.0".into(),
        user_agent: format!("Probe/{n}"),
        call_chain_id: None,
        participant_id: None,
        media_leg_id: None,
        quality_json: "{}".into(),
    };
    // One commit each; 15 are not yet enough to checkpoint for.
    for n in 0..15 {
        store.add_device_quality_report(report(n)).await.unwrap();
    }
    let (frames, backfilled) = wal_frames(&shm);
    assert!(backfilled < frames, "not checkpointed yet: {backfilled} of {frames} frames");
    store.add_device_quality_report(report(15)).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (frames, backfilled) = wal_frames(&shm);
        if backfilled == frames {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still {backfilled} of {frames} frames after 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    store.close().await;
}
