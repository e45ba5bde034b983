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
