//! The behaviour every [`Store`] backend must show. A backend's tests call [`run`] with a way to open a fresh,
//! empty store; each check gets its own.

use std::future::Future;

use chrono::{DateTime, TimeZone, Utc};

use uuid::Uuid;

use crate::{
    ApplicationRecord, AttemptOutcome, CallChange, CallFilter, CallRecord, CertificateRecord, Claimant,
    DeliveryAttempt, DeliveryStatus, Lease, NewDeviceQualityReport, NewNotification, NodeRecord, NotificationCounts,
    NotificationFilter, OperationRecord, RecordingRecord, ReplaySelection, SecretRecord, SigningKeyRecord, Store,
    StoreError, TenantRecord, TimerRecord, WorldEntityRecord,
};

/// A fixed instant, so results do not depend on the clock.
pub fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 9, 30, 0).single().expect("a valid date")
}

pub async fn run<S: Store, F: Future<Output = S>>(open_empty: impl Fn() -> F) {
    instance_is_fixed_at_creation(open_empty().await).await;
    device_quality_reports_are_kept_in_order_and_paged(open_empty().await).await;
    dev_defaults_are_claimed_once(open_empty().await).await;
    tenants_and_applications(open_empty().await).await;
    secrets_and_certificates_belong_to_their_app(open_empty().await).await;
    signing_keys_rotate_and_expire(open_empty().await).await;
    calls_commit_with_their_timers_and_notifications(open_empty().await).await;
    a_calls_operations_are_kept_beside_it(open_empty().await).await;
    concurrent_changes_stand_or_fall_alone(open_empty().await).await;
    timers_come_due_in_order(open_empty().await).await;
    ownership_is_a_lease_fenced_by_its_epoch(open_empty().await).await;
    notifications_go_out_in_order_per_call(open_empty().await).await;
    a_change_numbers_its_notifications_after_its_calls_earlier_ones(open_empty().await).await;
    a_notification_set_aside_holds_nothing_back(open_empty().await).await;
    an_undelivered_offer_is_given_up_when_its_call_ends(open_empty().await).await;
    a_calls_due_notifications_are_handed_out_together(open_empty().await).await;
    receivers_take_turns(open_empty().await).await;
    every_attempt_is_journaled(open_empty().await).await;
    dead_letters_are_replayed(open_empty().await).await;
    the_journal_is_filtered_counted_and_pruned(open_empty().await).await;
    recordings_live_until_some_time_after_their_call(open_empty().await).await;
    the_world_is_kept_per_tenant_and_reset(open_empty().await).await;
    settings_are_kept(open_empty().await).await;
}

async fn settings_are_kept(store: impl Store) {
    assert_eq!(store.setting("clock").await.unwrap(), None);
    store.put_setting("clock", "a").await.unwrap();
    store.put_setting("clock", "b").await.unwrap();
    assert_eq!(store.setting("clock").await.unwrap().as_deref(), Some("b"));
    store.close().await;
}

async fn instance_is_fixed_at_creation(store: impl Store) {
    store.ping().await.expect("a fresh store answers");
    let first = store.instance().await.expect("instance");
    let again = store.instance().await.expect("instance");
    assert_eq!(first, again, "the instance does not change between reads");
    assert!(first.schema_version >= 1, "migrations ran: {first:?}");
    store.close().await;
}

fn report(n: u32) -> NewDeviceQualityReport {
    NewDeviceQualityReport {
        received_at: epoch() + chrono::Duration::seconds(i64::from(n)),
        tenant_id: Uuid::from_u128(7),
        app_id: Uuid::from_u128(u128::from(n)),
        api_version: "v1.0".into(),
        user_agent: format!("TestDevice/{n}"),
        call_chain_id: Some(format!("chain-{n}")),
        participant_id: n.is_multiple_of(2).then(|| format!("participant-{n}")),
        media_leg_id: None,
        quality_json: format!(r#"{{"deviceName":"room {n}"}}"#),
    }
}

async fn device_quality_reports_are_kept_in_order_and_paged(store: impl Store) {
    assert!(store.device_quality_reports(0, 10).await.expect("list").is_empty());
    let mut stored = Vec::new();
    for n in 0..5 {
        stored.push(store.add_device_quality_report(report(n)).await.expect("add"));
    }
    assert!(stored.windows(2).all(|pair| pair[0].id < pair[1].id), "ids increase");
    let first_page = store.device_quality_reports(0, 3).await.expect("page 1");
    assert_eq!(first_page, stored[..3]);
    let second_page = store.device_quality_reports(first_page[2].id, 3).await.expect("page 2");
    assert_eq!(second_page, stored[3..], "the last id of a page is the cursor for the next");
    assert_eq!(second_page[1].report, report(4), "every field comes back as stored");
    store.close().await;
}

async fn dev_defaults_are_claimed_once(store: impl Store) {
    assert!(store.claim_dev_defaults(epoch()).await.expect("claim"), "the first claim wins");
    assert!(!store.claim_dev_defaults(epoch()).await.expect("claim"), "later claims do not");
    store.close().await;
}

fn tenant(n: u128) -> TenantRecord {
    TenantRecord { tenant_id: Uuid::from_u128(n), display_name: format!("Tenant {n}"), created_at: epoch() }
}

fn application(n: u128, tenant: u128, permissions: &[&str]) -> ApplicationRecord {
    ApplicationRecord {
        app_id: Uuid::from_u128(1000 + n),
        tenant_id: Uuid::from_u128(tenant),
        display_name: format!("App {n}"),
        permissions: permissions.iter().map(|p| p.to_string()).collect(),
        calling_webhook: Some(format!("https://bot{n}.example/calls")),
        created_at: epoch(),
    }
}

async fn tenants_and_applications(store: impl Store) {
    store.put_tenant(tenant(1)).await.expect("tenant 1");
    store.put_tenant(tenant(2)).await.expect("tenant 2");
    store.put_tenant(TenantRecord { display_name: "Renamed".into(), ..tenant(1) }).await.expect("rename");
    let tenants = store.tenants().await.expect("tenants");
    assert_eq!(tenants.len(), 2);
    assert_eq!(tenants[0].display_name, "Renamed", "put updates");

    let first = application(1, 1, &["Calls.JoinGroupCall.All", "Calls.Initiate.All"]);
    store.put_application(first.clone()).await.expect("app 1");
    store.put_application(application(2, 2, &[])).await.expect("app 2");
    let stored = store.application(first.app_id).await.expect("read").expect("present");
    assert_eq!(
        stored.permissions,
        vec!["Calls.Initiate.All", "Calls.JoinGroupCall.All"],
        "permissions come back sorted"
    );
    assert_eq!(stored.calling_webhook, first.calling_webhook);
    let narrowed =
        ApplicationRecord { permissions: vec!["Calls.AccessMedia.All".into()], calling_webhook: None, ..first.clone() };
    store.put_application(narrowed.clone()).await.expect("update");
    assert_eq!(store.application(first.app_id).await.unwrap(), Some(narrowed), "put replaces the permissions");
    assert_eq!(store.applications().await.unwrap().len(), 2);
    assert!(store.application(Uuid::from_u128(4242)).await.unwrap().is_none());

    assert!(store.delete_tenant(tenant(1).tenant_id).await.unwrap());
    assert!(!store.delete_tenant(tenant(1).tenant_id).await.unwrap(), "already gone");
    assert_eq!(store.applications().await.unwrap().len(), 1, "a tenant takes its apps with it");
    assert!(store.delete_application(application(2, 2, &[]).app_id).await.unwrap());
    store.close().await;
}

async fn secrets_and_certificates_belong_to_their_app(store: impl Store) {
    store.put_tenant(tenant(1)).await.unwrap();
    let app = application(1, 1, &[]);
    store.put_application(app.clone()).await.unwrap();
    let secret = |n: u128| SecretRecord {
        secret_id: Uuid::from_u128(n),
        app_id: app.app_id,
        hint: "abc".into(),
        hash: format!("{n:064x}"),
        created_at: epoch(),
        expires_at: (n == 2).then(|| epoch() + chrono::Duration::days(30)),
    };
    store.add_secret(secret(1)).await.unwrap();
    store.add_secret(secret(2)).await.unwrap();
    assert_eq!(store.secrets(app.app_id).await.unwrap(), vec![secret(1), secret(2)]);
    assert!(store.delete_secret(app.app_id, Uuid::from_u128(1)).await.unwrap());
    assert!(!store.delete_secret(Uuid::from_u128(99), Uuid::from_u128(2)).await.unwrap(), "only the owner's secret");

    let certificate = CertificateRecord {
        app_id: app.app_id,
        sha1: "aa".repeat(20),
        sha256: "bb".repeat(32),
        public_key_pem: "-----BEGIN PUBLIC KEY-----".into(),
        description: "CN=bot".into(),
        created_at: epoch(),
        expires_at: None,
    };
    store.put_certificate(certificate.clone()).await.unwrap();
    let replaced = CertificateRecord { description: "CN=bot, renewed".into(), ..certificate.clone() };
    store.put_certificate(replaced.clone()).await.unwrap();
    assert_eq!(store.certificates(app.app_id).await.unwrap(), vec![replaced], "same thumbprint replaces");

    assert!(store.delete_application(app.app_id).await.unwrap());
    assert!(store.secrets(app.app_id).await.unwrap().is_empty(), "secrets go with their app");
    assert!(store.certificates(app.app_id).await.unwrap().is_empty(), "certificates go with their app");
    store.close().await;
}

async fn signing_keys_rotate_and_expire(store: impl Store) {
    let key = |n: i64| SigningKeyRecord {
        kid: format!("key-{n}"),
        private_key_pem: format!("pem {n}"),
        created_at: epoch() + chrono::Duration::hours(n),
        retired_at: None,
    };
    store.rotate_signing_key(key(0)).await.unwrap();
    store.rotate_signing_key(key(1)).await.unwrap();
    store.rotate_signing_key(key(2)).await.unwrap();
    let keys = store.signing_keys().await.unwrap();
    assert_eq!(keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(), ["key-0", "key-1", "key-2"]);
    assert_eq!(keys[0].retired_at, Some(key(1).created_at), "retired when the next key arrived");
    assert_eq!(keys[1].retired_at, Some(key(2).created_at));
    assert_eq!(keys[2].retired_at, None, "the newest is active");
    let deleted = store.delete_signing_keys_retired_before(key(2).created_at).await.unwrap();
    assert_eq!(deleted, 1, "only key-0 was retired before key-2 arrived");
    assert_eq!(store.signing_keys().await.unwrap().len(), 2);
    store.close().await;
}

fn seconds(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

fn call_record(id: &str, app: u128, version: i64, ended: bool) -> CallRecord {
    CallRecord {
        call_id: id.into(),
        tenant_id: Uuid::from_u128(1),
        app_id: Uuid::from_u128(app),
        state: if ended { "terminated" } else { "established" }.into(),
        version,
        document: format!(r#"{{"id":"{id}","version":{version}}}"#),
        operations: Vec::new(),
        created_at: epoch(),
        updated_at: epoch() + seconds(version),
        ended_at: ended.then(|| epoch() + seconds(version)),
    }
}

fn timer(call_id: &str, key: &str, due_in: i64) -> TimerRecord {
    TimerRecord { call_id: call_id.into(), key: key.into(), due_at: epoch() + seconds(due_in) }
}

pub(crate) fn notification(call_id: &str, app: u128, n: u32) -> NewNotification {
    NewNotification {
        message_id: Uuid::from_u128((app << 32) | u128::from(n)),
        call_id: call_id.into(),
        tenant_id: Uuid::from_u128(1),
        app_id: Uuid::from_u128(app),
        url: Some(format!("https://bot{app}.example/callback")),
        body: format!(r#"{{"n":{n}}}"#),
        chain_id: format!("chain-{call_id}"),
        scenario_id: format!("scenario-{call_id}"),
        raised_at: epoch() + seconds(n.into()),
        queued_at: epoch(),
        offer: false,
    }
}

/// The lease the checks' changes are made under unless they say otherwise.
fn lease(node_id: &str, epoch: i64) -> Lease {
    Lease { node_id: node_id.into(), epoch }
}

/// The node that owns the checks' calls, asking for timers.
fn owner() -> Claimant {
    Claimant { node_id: "node-a".into(), at: epoch() }
}

fn change(call: CallRecord, expected_version: Option<i64>) -> CallChange {
    CallChange {
        call,
        lease: lease("node-a", 1),
        expected_version,
        fired: None,
        timers: Vec::new(),
        cancelled_timers: Vec::new(),
        forgotten_operations: Vec::new(),
        notifications: Vec::new(),
    }
}

async fn calls_commit_with_their_timers_and_notifications(store: impl Store) {
    let mut first = change(call_record("c1", 10, 1, false), None);
    first.timers = vec![timer("c1", "keepAlive", 2700), timer("c1", "ring", 60)];
    first.notifications = vec![notification("c1", 10, 1)];
    store.commit_call(first.clone()).await.expect("a new call");
    assert_eq!(store.call("c1").await.unwrap(), Some(first.call.clone()), "every field comes back as stored");
    assert!(matches!(store.commit_call(first).await, Err(StoreError::Conflict { .. })), "the id is taken");

    // A change computed from a stale version writes nothing at all.
    let mut stale = change(call_record("c1", 10, 3, false), Some(2));
    stale.timers = vec![timer("c1", "other", 5)];
    stale.notifications = vec![notification("c1", 10, 2)];
    assert!(matches!(store.commit_call(stale).await, Err(StoreError::Conflict { .. })));
    assert_eq!(store.call("c1").await.unwrap().unwrap().version, 1);
    assert_eq!(store.due_timers(epoch() + seconds(10_000), 10, &owner()).await.unwrap().len(), 2);
    assert_eq!(store.notifications(journal()).await.unwrap().len(), 1);

    // The timer that fired goes, one re-armed with the same key moves, and a timer for another call is kept.
    let mut fired = change(call_record("c1", 10, 2, false), Some(1));
    fired.fired = Some(timer("c1", "ring", 60));
    fired.timers = vec![timer("c1", "keepAlive", 3000), timer("c2", "replaced", 61)];
    store.commit_call(fired).await.expect("the current version");
    let timers = store.due_timers(epoch() + seconds(10_000), 10, &owner()).await.unwrap();
    assert_eq!(timers, [timer("c2", "replaced", 61), timer("c1", "keepAlive", 3000)]);

    // Ending a call drops its timers.
    store.commit_call(change(call_record("c1", 10, 3, true), Some(2))).await.unwrap();
    assert_eq!(store.due_timers(epoch() + seconds(10_000), 10, &owner()).await.unwrap(), [timer("c2", "replaced", 61)]);

    store.commit_call(change(call_record("c3", 11, 1, false), None)).await.unwrap();
    let all = store.calls(CallFilter { limit: 10, ..CallFilter::default() }).await.unwrap();
    assert_eq!(all.len(), 2);
    let active = store.calls(CallFilter { active_only: true, limit: 10, ..CallFilter::default() }).await.unwrap();
    assert_eq!(active.iter().map(|c| c.call_id.as_str()).collect::<Vec<_>>(), ["c3"]);
    let of_app = CallFilter { app_id: Some(Uuid::from_u128(10)), limit: 10, ..CallFilter::default() };
    assert_eq!(store.calls(of_app).await.unwrap()[0].call_id, "c1");
    assert_eq!(store.call("missing").await.unwrap(), None);
    store.close().await;
}

fn operation(id: &str, status: &str) -> OperationRecord {
    OperationRecord { operation_id: id.into(), document: format!(r#"{{"id":"{id}","status":"{status}"}}"#) }
}

/// Calls' operations with `document`s of their own: a change writes the ones it started or changed and names the
/// ones it forgot; a read returns them all, in the order they were started.
async fn a_calls_operations_are_kept_beside_it(store: impl Store) {
    let mut first = change(call_record("c1", 10, 1, false), None);
    first.call.operations = vec![operation("o1", "running"), operation("o2", "running")];
    store.commit_call(first.clone()).await.unwrap();
    store.commit_call(change(call_record("c2", 10, 1, false), None)).await.unwrap();
    assert_eq!(store.call("c1").await.unwrap(), Some(first.call.clone()));

    // o1 changes (and keeps its place), o2 is forgotten, o3 starts.
    let mut next = change(call_record("c1", 10, 2, false), Some(1));
    next.call.operations = vec![operation("o3", "running"), operation("o1", "completed")];
    next.forgotten_operations = vec!["o2".into()];
    store.commit_call(next).await.unwrap();
    let expected = [operation("o1", "completed"), operation("o3", "running")];
    assert_eq!(store.call("c1").await.unwrap().unwrap().operations, expected);
    let listed = store.calls(CallFilter { active_only: true, limit: 10, ..CallFilter::default() }).await.unwrap();
    let of = |calls: &[CallRecord], id: &str| calls.iter().find(|c| c.call_id == id).unwrap().operations.clone();
    assert_eq!((of(&listed, "c1"), of(&listed, "c2")), (expected.to_vec(), Vec::new()));
    let claimable: Vec<CallRecord> =
        store.claimable_calls_after(&owner(), None, 10).await.unwrap().into_iter().map(|(call, _)| call).collect();
    assert_eq!(of(&claimable, "c1"), expected);

    // A stale change writes none of its operations; an ended call keeps none.
    let mut stale = change(call_record("c1", 10, 3, false), Some(1));
    stale.call.operations = vec![operation("o4", "running")];
    assert!(matches!(store.commit_call(stale).await, Err(StoreError::Conflict { .. })));
    assert_eq!(store.call("c1").await.unwrap().unwrap().operations, expected);
    store.commit_call(change(call_record("c1", 10, 3, true), Some(2))).await.unwrap();
    assert_eq!(store.call("c1").await.unwrap().unwrap().operations, []);
    store.close().await;
}

async fn concurrent_changes_stand_or_fall_alone(store: impl Store) {
    // Many changes at once (a backend may commit them together): each is answered for itself, and one that
    // conflicts leaves no trace while the others stand. Forty creations of twenty ids: one of each pair must lose.
    let store = std::sync::Arc::new(store);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40u32 {
        let store = store.clone();
        tasks.spawn(async move {
            let id = format!("g{}", i / 2);
            let mut created = change(call_record(&id, 10, 1, false), None);
            created.notifications = vec![notification(&id, 10, i)];
            (id, store.commit_call(created).await)
        });
    }
    let mut outcomes: std::collections::BTreeMap<String, (u32, u32)> = std::collections::BTreeMap::new();
    while let Some(joined) = tasks.join_next().await {
        let (id, outcome) = joined.expect("invariant: a commit task does not panic");
        let counts = outcomes.entry(id).or_default();
        match outcome {
            Ok(_) => counts.0 += 1,
            Err(StoreError::Conflict { .. }) => counts.1 += 1,
            Err(error) => panic!("{error}"),
        }
    }
    assert_eq!(outcomes.len(), 20);
    assert!(outcomes.values().all(|counts| *counts == (1, 1)), "one stands, one conflicts: {outcomes:?}");
    let journal = store.notifications(journal()).await.unwrap();
    assert_eq!(journal.len(), 20, "the losers' notifications were not written");
    for id in outcomes.keys() {
        assert!(store.call(id).await.unwrap().is_some(), "{id}");
    }
    store.close().await;
}

async fn ownership_is_a_lease_fenced_by_its_epoch(store: impl Store) {
    let at = |s: i64| epoch() + seconds(s);
    let node = |id: &str, now: DateTime<Utc>| NodeRecord {
        node_id: id.into(),
        address: String::new(),
        started_at: epoch(),
        heartbeat_at: now,
        expires_at: now + seconds(10),
    };
    let claimant = |id: &str, now: DateTime<Utc>| Claimant { node_id: id.into(), at: now };
    assert!(!store.heartbeat(node("a", at(0))).await.unwrap(), "a new node was not alive before");
    store.heartbeat(node("b", at(0))).await.unwrap();
    let mut created = change(call_record("c1", 10, 1, false), None);
    created.lease = lease("a", 1);
    created.timers = vec![timer("c1", "ring", 5)];
    store.commit_call(created).await.unwrap();

    // While a is alive, b can neither take the call nor fire its timers, nor run its media.
    assert_eq!(store.acquire_call("c1", "b", at(5)).await.unwrap(), None);
    let claimable = |calls: Vec<(CallRecord, Option<Lease>)>| {
        calls.into_iter().map(|(call, lease)| (call.call_id, lease)).collect::<Vec<_>>()
    };
    assert!(claimable(store.claimable_calls_after(&claimant("b", at(5)), None, 10).await.unwrap()).is_empty());
    let mine = claimable(store.claimable_calls_after(&claimant("a", at(5)), None, 10).await.unwrap());
    assert_eq!(mine, [("c1".to_owned(), Some(lease("a", 1)))], "with the lease on it");
    assert_eq!(store.due_timers(at(100), 10, &claimant("b", at(5))).await.unwrap(), []);
    assert_eq!(store.next_timer_due(&claimant("b", at(5))).await.unwrap(), None);
    assert_eq!(store.due_timers(at(100), 10, &claimant("a", at(5))).await.unwrap(), [timer("c1", "ring", 5)]);
    assert!(store.heartbeat(node("a", at(5))).await.unwrap(), "a was alive: it stays so until 15 s");
    assert_eq!(store.acquire_call("c1", "b", at(12)).await.unwrap(), None);

    // a misses its heartbeats: past 15 s, b takes the call over with a higher epoch, and its timers with it.
    store.heartbeat(node("b", at(16))).await.unwrap();
    let lapsed = claimable(store.claimable_calls_after(&claimant("b", at(16)), None, 10).await.unwrap());
    assert_eq!(lapsed, [("c1".to_owned(), Some(lease("a", 1)))], "a's lease lapsed: b may take the call");
    let taken = store.acquire_call("c1", "b", at(16)).await.unwrap();
    assert_eq!(taken, Some(lease("b", 2)));
    assert_eq!(store.next_timer_due(&claimant("b", at(16))).await.unwrap(), Some(at(5)));
    assert_eq!(store.due_timers(at(100), 10, &claimant("a", at(16))).await.unwrap(), [], "not a's any more");
    assert!(claimable(store.claimable_calls_after(&claimant("a", at(16)), None, 10).await.unwrap()).is_empty());

    // a, stale, cannot commit: nothing of its change is written.
    let mut stale = change(call_record("c1", 10, 2, false), Some(1));
    stale.lease = lease("a", 1);
    stale.timers = vec![timer("c1", "late", 50)];
    stale.notifications = vec![notification("c1", 10, 1)];
    assert!(matches!(store.commit_call(stale).await, Err(StoreError::Fenced { epoch: 1, .. })));
    assert_eq!(store.call("c1").await.unwrap().unwrap().version, 1);
    assert!(store.notifications(journal()).await.unwrap().is_empty(), "nothing it raised is sent");
    assert_eq!(store.next_timer_due(&claimant("b", at(16))).await.unwrap(), Some(at(5)), "nor armed");
    assert!(!store.heartbeat(node("a", at(20))).await.unwrap(), "a had expired");
    assert_eq!(store.acquire_call("c1", "a", at(20)).await.unwrap(), None, "b holds it");

    // b commits under its lease; once it lets go, a takes the call again, the epoch still rising, and an owner
    // taking its own call again (a restart) fences its earlier run too.
    let mut current = change(call_record("c1", 10, 2, false), Some(1));
    current.lease = lease("b", 2);
    store.commit_call(current).await.unwrap();
    store.release_call("c1", &lease("b", 2)).await.unwrap();
    assert_eq!(store.acquire_call("c1", "a", at(21)).await.unwrap(), Some(lease("a", 3)));
    assert_eq!(store.acquire_call("c1", "a", at(22)).await.unwrap(), Some(lease("a", 4)));
    store.release_call("c1", &lease("a", 3)).await.unwrap();
    assert_eq!(store.acquire_call("c1", "b", at(22)).await.unwrap(), None, "a stale release gives nothing up");
    assert_eq!(store.acquire_call("missing", "a", at(22)).await.unwrap(), None, "no lease on what is not stored");
    store.close().await;
}

async fn timers_come_due_in_order(store: impl Store) {
    assert_eq!(store.next_timer_due(&owner()).await.unwrap(), None);
    let mut new = change(call_record("c1", 10, 1, false), None);
    new.timers = vec![timer("c1", "b", 30), timer("c1", "a", 30), timer("c1", "early", 10)];
    store.commit_call(new).await.unwrap();
    assert_eq!(store.next_timer_due(&owner()).await.unwrap(), Some(epoch() + seconds(10)));
    assert_eq!(store.due_timers(epoch() + seconds(9), 10, &owner()).await.unwrap(), []);
    let due = store.due_timers(epoch() + seconds(30), 2, &owner()).await.unwrap();
    assert_eq!(due, [timer("c1", "early", 10), timer("c1", "a", 30)], "earliest first, then by key; limited");
    // Deleting a timer that was moved since it was read leaves the moved one alone.
    store.delete_timer(&timer("c1", "b", 20)).await.unwrap();
    store.delete_timer(&timer("c1", "early", 10)).await.unwrap();
    assert_eq!(store.next_timer_due(&owner()).await.unwrap(), Some(epoch() + seconds(30)));
    assert_eq!(store.due_timers(epoch() + seconds(30), 10, &owner()).await.unwrap().len(), 2);
    // Active calls can be walked by id, a page at a time; ended ones are left out.
    store.commit_call(change(call_record("c0", 10, 1, true), None)).await.unwrap();
    store.commit_call(change(call_record("c2", 10, 1, false), None)).await.unwrap();
    let ids = |page: Vec<(CallRecord, Option<Lease>)>| page.into_iter().map(|(c, _)| c.call_id).collect::<Vec<_>>();
    assert_eq!(ids(store.claimable_calls_after(&owner(), None, 1).await.unwrap()), ["c1"]);
    assert_eq!(ids(store.claimable_calls_after(&owner(), Some("c1".into()), 5).await.unwrap()), ["c2"]);
    assert!(store.claimable_calls_after(&owner(), Some("c2".into()), 5).await.unwrap().is_empty());
    // A change can disarm its call's timers, whatever they are due.
    let mut next = change(call_record("c1", 10, 2, false), Some(1));
    next.cancelled_timers = vec!["a".into(), "never-armed".into()];
    store.commit_call(next).await.unwrap();
    assert_eq!(store.due_timers(epoch() + seconds(30), 10, &owner()).await.unwrap(), [timer("c1", "b", 30)]);
    store.close().await;
}

fn journal() -> NotificationFilter {
    NotificationFilter { limit: 100, ..NotificationFilter::default() }
}

fn attempt(at: i64, outcome: AttemptOutcome) -> DeliveryAttempt {
    DeliveryAttempt {
        started_at: epoch() + seconds(at),
        latency_ms: 12,
        url: "https://bot.example/callback".into(),
        request_headers: vec![("scenario-id".into(), "s".into())],
        batch_size: 1,
        status: Some(503),
        response_excerpt: Some("unavailable".into()),
        error: Some("the receiver answered 503".into()),
        outcome,
    }
}

fn bodies(records: &[crate::NotificationRecord]) -> Vec<&str> {
    records.iter().map(|n| n.notification.body.as_str()).collect()
}

/// Calls c1 (notifications 1, 2, 3 for app 10) and c2 (4 with nowhere to go, then 5, for app 11); what their commits
/// queued for delivery.
async fn two_calls(store: &impl Store) -> Vec<crate::NotificationRecord> {
    let mut c1 = change(call_record("c1", 10, 1, false), None);
    c1.notifications = vec![notification("c1", 10, 1), notification("c1", 10, 2), notification("c1", 10, 3)];
    let mut queued = store.commit_call(c1).await.unwrap();
    let mut c2 = change(call_record("c2", 11, 1, false), None);
    let mut nowhere = notification("c2", 11, 4);
    nowhere.url = None;
    c2.notifications = vec![nowhere, notification("c2", 11, 5)];
    queued.extend(store.commit_call(c2).await.unwrap());
    queued
}

async fn notifications_go_out_in_order_per_call(store: impl Store) {
    assert_eq!(store.next_retry_due(&[]).await.unwrap(), None);
    let queued = two_calls(&store).await;

    let journal_all = store.notifications(journal()).await.unwrap();
    let pending: Vec<_> = journal_all.iter().filter(|n| n.status == DeliveryStatus::Pending).cloned().collect();
    assert_eq!(queued, pending, "a commit hands over what it queued, as the journal then shows it");
    assert_eq!(queued.len(), 4, "all but the one with nowhere to go");
    assert!(journal_all.windows(2).all(|w| w[0].seq < w[1].seq), "the journal is in the order they were raised");
    let numbers: Vec<_> = journal_all.iter().map(|n| (n.notification.call_id.as_str(), n.call_sequence)).collect();
    assert_eq!(numbers, [("c1", 1), ("c1", 2), ("c1", 3), ("c2", 1), ("c2", 2)], "numbered within their call");
    assert_eq!(journal_all[0].notification, notification("c1", 10, 1), "every field comes back as stored");
    let undeliverable = &journal_all[3];
    assert_eq!(undeliverable.status, DeliveryStatus::DeadLettered, "nowhere to send it: a dead letter at once");
    assert!(undeliverable.last_error.as_deref().unwrap_or_default().contains("webhook"));

    let now = epoch();
    assert_eq!(store.next_retry_due(&[]).await.unwrap(), None, "new ones are due at once, not retries");
    let first = store.deliverable_notifications(now, 1, 10).await.unwrap();
    assert_eq!(bodies(&first), [r#"{"n":1}"#, r#"{"n":5}"#], "only the oldest pending one of each call");
    assert_eq!(
        bodies(&store.deliverable_notifications(now, 3, 1).await.unwrap()),
        [r#"{"n":1}"#, r#"{"n":2}"#, r#"{"n":3}"#],
        "one call"
    );

    // A retry keeps the call's later notifications waiting behind it.
    store.record_attempt(&[first[0].seq], attempt(0, AttemptOutcome::RetryAt(now + seconds(5)))).await.unwrap();
    store.record_attempt(&[first[1].seq], attempt(0, AttemptOutcome::Delivered)).await.unwrap();
    assert_eq!(store.deliverable_notifications(now + seconds(4), 3, 10).await.unwrap(), []);
    assert_eq!(store.next_retry_due(&[]).await.unwrap(), Some(now + seconds(5)));
    assert_eq!(store.next_retry_due(&["c1".into()]).await.unwrap(), None, "calls being delivered to are left out");
    assert_eq!(store.deliverable_retries(now + seconds(4), 3, 10).await.unwrap(), [], "not due yet");
    assert_eq!(
        bodies(&store.deliverable_retries(now + seconds(5), 3, 10).await.unwrap()),
        [r#"{"n":1}"#, r#"{"n":2}"#, r#"{"n":3}"#],
        "the retry that came due, and what waited behind it"
    );
    // A fresh notification goes before a retry that is due, however much older the retry is.
    let mut c3 = change(call_record("c3", 10, 1, false), None);
    c3.notifications = vec![notification("c3", 10, 6)];
    store.commit_call(c3).await.unwrap();
    let fresh_first = store.deliverable_notifications(now + seconds(5), 1, 10).await.unwrap();
    assert_eq!(bodies(&fresh_first), [r#"{"n":6}"#, r#"{"n":1}"#]);
    store.record_attempt(&[fresh_first[0].seq], attempt(5, AttemptOutcome::Delivered)).await.unwrap();
    let retried = store.deliverable_notifications(now + seconds(5), 1, 10).await.unwrap();
    assert_eq!((retried.len(), retried[0].attempts, retried[0].last_status), (1, 1, Some(503)));
    store.record_attempt(&[retried[0].seq], attempt(5, AttemptOutcome::Delivered)).await.unwrap();
    let next = store.deliverable_notifications(now + seconds(5), 1, 10).await.unwrap();
    assert_eq!(bodies(&next), [r#"{"n":2}"#]);
    store.record_attempt(&[next[0].seq], attempt(6, AttemptOutcome::DeadLettered)).await.unwrap();
    // An attempt recorded twice (two dispatchers racing) changes the outcome once.
    store.record_attempt(&[next[0].seq], attempt(6, AttemptOutcome::Delivered)).await.unwrap();
    let last = store.deliverable_notifications(now + seconds(6), 1, 10).await.unwrap();
    assert_eq!(bodies(&last), [r#"{"n":3}"#], "a dead letter does not hold the call's later notifications back");
    store.record_attempt(&[last[0].seq], attempt(7, AttemptOutcome::Delivered)).await.unwrap();
    assert_eq!(store.next_retry_due(&[]).await.unwrap(), None);
    assert_eq!(store.deliverable_retries(now + seconds(60), 3, 10).await.unwrap(), []);

    let of_c1 = store.notifications(NotificationFilter { call_id: Some("c1".into()), ..journal() }).await.unwrap();
    let outcome: Vec<_> = of_c1.iter().map(|n| (n.status, n.attempts)).collect();
    assert_eq!(
        outcome,
        [(DeliveryStatus::Delivered, 2), (DeliveryStatus::DeadLettered, 1), (DeliveryStatus::Delivered, 1)]
    );
    assert_eq!(of_c1[0].finished_at, Some(now + seconds(5) + chrono::Duration::milliseconds(12)));
    let of_app = NotificationFilter { app_id: Some(Uuid::from_u128(11)), after: of_c1[0].seq, ..journal() };
    assert_eq!(store.notifications(of_app).await.unwrap().len(), 2);
    let paged = store.notifications(NotificationFilter { after: of_c1[1].seq, limit: 1, ..journal() }).await.unwrap();
    assert_eq!(bodies(&paged), [r#"{"n":3}"#]);
    store.close().await;
}

async fn a_change_numbers_its_notifications_after_its_calls_earlier_ones(store: impl Store) {
    two_calls(&store).await;
    let mut next = change(call_record("c1", 10, 2, false), Some(1));
    next.notifications = vec![notification("c1", 10, 6), notification("c1", 10, 7)];
    let queued = store.commit_call(next).await.unwrap();
    assert_eq!(queued.iter().map(|n| n.call_sequence).collect::<Vec<_>>(), [4, 5], "after c1's three");

    // Refused changes number nothing: a stale version, and a notification of another call (a caller's bug).
    let mut stale = change(call_record("c1", 10, 3, false), Some(1));
    stale.notifications = vec![notification("c1", 10, 8)];
    assert!(matches!(store.commit_call(stale).await, Err(StoreError::Conflict { .. })));
    let mut stray = change(call_record("c1", 10, 3, false), Some(2));
    stray.notifications = vec![notification("c1", 10, 8), notification("c2", 11, 9)];
    assert!(matches!(store.commit_call(stray).await, Err(StoreError::Backend(_))));
    assert_eq!(store.call("c1").await.unwrap().unwrap().version, 2, "neither is written");
    let mut last = change(call_record("c1", 10, 3, false), Some(2));
    last.notifications = vec![notification("c1", 10, 10)];
    assert_eq!(store.commit_call(last).await.unwrap()[0].call_sequence, 6);
    let c1 = NotificationFilter { call_id: Some("c1".into()), ..journal() };
    let numbers: Vec<i64> = store.notifications(c1).await.unwrap().iter().map(|n| n.call_sequence).collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5, 6]);
    store.close().await;
}

async fn a_notification_set_aside_holds_nothing_back(store: impl Store) {
    two_calls(&store).await;
    let now = epoch();
    let first = store.deliverable_notifications(now, 1, 10).await.unwrap();
    let held = first[0].seq;
    store.record_attempt(&[held], attempt(0, AttemptOutcome::RetryAt(now + seconds(60)))).await.unwrap();
    assert_eq!(store.deliverable_notifications_of(&["c1".into()], now, 3).await.unwrap(), [], "held back");
    store.record_attempt(&[held], attempt(1, AttemptOutcome::SetAside(now + seconds(60)))).await.unwrap();
    for later in [
        store.deliverable_notifications(now, 3, 10).await.unwrap(),
        store.deliverable_notifications_of(&["c1".into()], now, 3).await.unwrap(),
    ] {
        let c1: Vec<_> = later.into_iter().filter(|n| n.notification.call_id == "c1").collect();
        assert_eq!(bodies(&c1), [r#"{"n":2}"#, r#"{"n":3}"#], "the later ones go on");
    }
    let journaled = store.notification(held).await.unwrap().unwrap();
    assert!(journaled.set_aside && journaled.status == DeliveryStatus::Pending, "still pending, set aside");
    assert_eq!(store.next_retry_due(&[]).await.unwrap(), Some(now + seconds(60)), "its retry is still kept");
    assert_eq!(store.deliverable_retries(now + seconds(59), 3, 10).await.unwrap(), []);
    // Due, it goes with the call's others, first.
    let due = store.deliverable_retries(now + seconds(60), 3, 10).await.unwrap();
    assert_eq!(bodies(&due), [r#"{"n":1}"#, r#"{"n":2}"#, r#"{"n":3}"#]);
    let attempts = store.delivery_attempts(held).await.unwrap();
    assert_eq!(attempts.last().unwrap().delivery.outcome, AttemptOutcome::SetAside(now + seconds(60)));
    store.close().await;
}

async fn an_undelivered_offer_is_given_up_when_its_call_ends(store: impl Store) {
    let mut offered = change(call_record("c1", 10, 1, false), None);
    let offer = NewNotification { offer: true, ..notification("c1", 10, 1) };
    offered.notifications = vec![offer, notification("c1", 10, 2)];
    store.commit_call(offered).await.unwrap();
    let mut ended = change(call_record("c1", 10, 2, true), Some(1));
    ended.notifications = vec![notification("c1", 10, 3)];
    store.commit_call(ended).await.unwrap();
    let journal = store.notifications(journal()).await.unwrap();
    let states: Vec<_> = journal.iter().map(|n| (n.notification.offer, n.status)).collect();
    assert_eq!(
        states,
        [(true, DeliveryStatus::DeadLettered), (false, DeliveryStatus::Pending), (false, DeliveryStatus::Pending)],
        "only the offer is given up; the call's other notifications still go"
    );
    assert!(journal[0].last_error.as_deref().unwrap_or_default().contains("call ended before its offer"));
    store.close().await;
}

async fn receivers_take_turns(store: impl Store) {
    // c1 and c2 notify app 10's webhook, c3 app 11's; raised in that order.
    for (call, app, n) in [("c1", 10, 1), ("c2", 10, 2), ("c3", 11, 3)] {
        let mut new = change(call_record(call, app, 1, false), None);
        new.notifications = vec![notification(call, app, n)];
        store.commit_call(new).await.unwrap();
    }
    let due = store.deliverable_notifications(epoch(), 1, 10).await.unwrap();
    let calls: Vec<&str> = due.iter().map(|n| n.notification.call_id.as_str()).collect();
    assert_eq!(calls, ["c1", "c3", "c2"], "each receiver's first call, then each one's second");
    assert_eq!(store.deliverable_notifications(epoch(), 1, 2).await.unwrap().len(), 2);
    store.close().await;
}

async fn a_calls_due_notifications_are_handed_out_together(store: impl Store) {
    two_calls(&store).await;
    let now = epoch();
    let batch = store.deliverable_notifications(now, 3, 10).await.unwrap();
    assert_eq!(bodies(&batch), [r#"{"n":1}"#, r#"{"n":2}"#, r#"{"n":3}"#, r#"{"n":5}"#], "calls by their oldest");
    assert_eq!(
        bodies(&store.deliverable_notifications(now, 2, 10).await.unwrap()),
        [r#"{"n":1}"#, r#"{"n":2}"#, r#"{"n":5}"#]
    );
    let of = |ids: &[&str]| ids.iter().map(|id| (*id).to_owned()).collect::<Vec<String>>();
    assert_eq!(
        bodies(&store.deliverable_notifications_of(&of(&["c2", "c1", "c9"]), now, 2).await.unwrap()),
        [r#"{"n":5}"#, r#"{"n":1}"#, r#"{"n":2}"#],
        "the calls asked for, in the order asked"
    );
    store.record_attempt(&[batch[0].seq, batch[1].seq], attempt(0, AttemptOutcome::Delivered)).await.unwrap();
    store.record_attempt(&[batch[2].seq], attempt(0, AttemptOutcome::RetryAt(now + seconds(3)))).await.unwrap();
    assert_eq!(bodies(&store.deliverable_notifications(now, 3, 10).await.unwrap()), [r#"{"n":5}"#]);
    assert_eq!(
        bodies(&store.deliverable_notifications_of(&of(&["c1", "c2"]), now, 3).await.unwrap()),
        [r#"{"n":5}"#],
        "nothing of a call waiting for a retry"
    );
    store.close().await;
}

async fn every_attempt_is_journaled(store: impl Store) {
    two_calls(&store).await;
    let now = epoch();
    let first = store.deliverable_notifications(now, 1, 1).await.unwrap().remove(0);
    store.record_attempt(&[first.seq], attempt(0, AttemptOutcome::RetryAt(now + seconds(2)))).await.unwrap();
    let mut delivered = attempt(2, AttemptOutcome::Delivered);
    delivered.status = Some(202);
    delivered.error = None;
    store.record_attempt(&[first.seq], delivered.clone()).await.unwrap();
    store.record_attempt(&[first.seq], attempt(3, AttemptOutcome::Duplicate)).await.unwrap();
    let attempts = store.delivery_attempts(first.seq).await.unwrap();
    let numbered: Vec<_> = attempts.iter().map(|a| (a.seq, a.attempt, a.delivery.outcome)).collect();
    assert_eq!(
        numbered,
        [
            (first.seq, 1, AttemptOutcome::RetryAt(now + seconds(2))),
            (first.seq, 2, AttemptOutcome::Delivered),
            (first.seq, 3, AttemptOutcome::Duplicate)
        ]
    );
    assert_eq!(attempts[1].delivery, delivered, "every field comes back as stored");
    let stored = store.notification(first.seq).await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.attempts, stored.last_status),
        (DeliveryStatus::Delivered, 2, Some(202)),
        "a duplicate is journaled but changes nothing"
    );
    assert_eq!(store.notification(first.seq + 1000).await.unwrap(), None);
    assert_eq!(store.delivery_attempts(first.seq + 1000).await.unwrap(), []);
    store.close().await;
}

async fn dead_letters_are_replayed(store: impl Store) {
    two_calls(&store).await;
    let now = epoch();
    let heads = store.deliverable_notifications(now, 1, 10).await.unwrap();
    for head in &heads {
        store.record_attempt(&[head.seq], attempt(0, AttemptOutcome::RetryAt(now))).await.unwrap();
        store.record_attempt(&[head.seq], attempt(0, AttemptOutcome::DeadLettered)).await.unwrap();
    }
    let dead = NotificationFilter { status: Some(DeliveryStatus::DeadLettered), ..journal() };
    assert_eq!(store.notifications(dead.clone()).await.unwrap().len(), 3, "two given up on, one with nowhere to go");

    let later = now + seconds(60);
    let one = ReplaySelection { seq: Some(heads[0].seq), ..ReplaySelection::default() };
    assert_eq!(store.replay_notifications(one.clone(), later).await.unwrap(), 1);
    assert_eq!(store.replay_notifications(one, later).await.unwrap(), 0, "only dead letters are replayed");
    let replayed = store.notification(heads[0].seq).await.unwrap().unwrap();
    assert_eq!(
        (replayed.status, replayed.attempts, replayed.round_attempts, replayed.replayed_at, replayed.finished_at),
        (DeliveryStatus::Pending, 2, 0, Some(later), None),
        "due again with a fresh retry budget; its history is kept"
    );
    assert_eq!(replayed.round_started_at(), later);
    assert_eq!(store.deliverable_notifications(later, 1, 10).await.unwrap()[0].seq, heads[0].seq, "and due at once");

    let of_c2 = ReplaySelection { call_id: Some("c2".into()), ..ReplaySelection::default() };
    assert_eq!(store.replay_notifications(of_c2.clone(), later).await.unwrap(), 1, "not the one with nowhere to go");
    let moved = ReplaySelection { url: Some("https://moved.example/cb".into()), ..of_c2 };
    assert_eq!(store.replay_notifications(moved, later).await.unwrap(), 1);
    let nowhere =
        &store.notifications(NotificationFilter { call_id: Some("c2".into()), ..journal() }).await.unwrap()[0];
    assert_eq!(
        (nowhere.status, nowhere.notification.url.as_deref()),
        (DeliveryStatus::Pending, Some("https://moved.example/cb"))
    );
    let other_app = ReplaySelection { app_id: Some(Uuid::from_u128(99)), ..ReplaySelection::default() };
    assert_eq!(store.replay_notifications(other_app, later).await.unwrap(), 0);
    store.close().await;
}

async fn the_journal_is_filtered_counted_and_pruned(store: impl Store) {
    assert_eq!(store.notification_counts().await.unwrap(), NotificationCounts::default());
    two_calls(&store).await;
    let now = epoch();
    let raised = |since: i64, before: i64| NotificationFilter {
        raised_since: Some(epoch() + seconds(since)),
        raised_before: Some(epoch() + seconds(before)),
        ..journal()
    };
    assert_eq!(bodies(&store.notifications(raised(2, 4)).await.unwrap()), [r#"{"n":2}"#, r#"{"n":3}"#]);
    let heads = store.deliverable_notifications(now, 3, 10).await.unwrap();
    let mut finished = attempt(10, AttemptOutcome::Delivered);
    store.record_attempt(&[heads[0].seq, heads[1].seq], finished.clone()).await.unwrap();
    finished.started_at = now + seconds(100);
    store.record_attempt(&[heads[3].seq], finished).await.unwrap();
    assert_eq!(
        store.notification_counts().await.unwrap(),
        NotificationCounts { pending: 1, delivered: 3, dead_lettered: 1 }
    );
    let pending = NotificationFilter { status: Some(DeliveryStatus::Pending), ..journal() };
    assert_eq!(bodies(&store.notifications(pending).await.unwrap()), [r#"{"n":3}"#]);

    // Finished before +50 s: the two delivered at +10 s and the dead letter (queued at the epoch) go.
    assert_eq!(store.prune_notifications(now + seconds(50), 100).await.unwrap(), 3);
    assert_eq!(store.delivery_attempts(heads[0].seq).await.unwrap(), [], "attempts go with their notification");
    // Keep at most none: every finished one goes, the pending one never does.
    assert_eq!(store.prune_notifications(now, 0).await.unwrap(), 1);
    assert_eq!(bodies(&store.notifications(journal()).await.unwrap()), [r#"{"n":3}"#]);
    store.close().await;
}

fn entity(tenant: u128, kind: &str, key: &str, document: &str) -> WorldEntityRecord {
    WorldEntityRecord {
        tenant_id: Uuid::from_u128(tenant),
        kind: kind.into(),
        key: key.into(),
        document: document.into(),
        updated_at: epoch(),
    }
}

async fn the_world_is_kept_per_tenant_and_reset(store: impl Store) {
    store.put_world_entity(entity(1, "user", "alice", "{}")).await.unwrap();
    store.put_world_entity(entity(1, "user", "alice", r#"{"v":2}"#)).await.unwrap();
    store.put_world_entity(entity(1, "phone", "+15550100", "{}")).await.unwrap();
    store.put_world_entity(entity(2, "user", "alice", "{}")).await.unwrap();
    let alice = store.world_entity(Uuid::from_u128(1), "user", "alice").await.unwrap();
    assert_eq!(alice.map(|e| e.document), Some(r#"{"v":2}"#.to_owned()), "a put replaces");
    assert_eq!(store.world_entities(Some(Uuid::from_u128(1)), None).await.unwrap().len(), 2);
    assert_eq!(store.world_entities(None, Some("user")).await.unwrap().len(), 2);
    assert!(store.delete_world_entity(Uuid::from_u128(2), "user", "alice").await.unwrap());
    assert!(!store.delete_world_entity(Uuid::from_u128(2), "user", "alice").await.unwrap());

    let mut call = change(call_record("c1", 10, 1, false), None);
    call.timers = vec![timer("c1", "a", 1)];
    call.notifications = vec![notification("c1", 10, 1)];
    store.commit_call(call).await.unwrap();
    store.put_tenant(tenant(1)).await.unwrap();
    store.reset_simulation().await.unwrap();
    assert_eq!(store.world_entities(None, None).await.unwrap(), []);
    assert_eq!(store.call("c1").await.unwrap(), None);
    assert_eq!(store.next_timer_due(&owner()).await.unwrap(), None);
    assert_eq!(store.notifications(journal()).await.unwrap(), []);
    assert_eq!(store.tenants().await.unwrap().len(), 1, "the directory is not part of the simulation");
    store.close().await;
}

async fn recordings_live_until_some_time_after_their_call(store: impl Store) {
    store.commit_call(change(call_record("live", 10, 1, false), None)).await.unwrap();
    store.commit_call(change(call_record("over", 10, 1, true), None)).await.unwrap();
    let recording = |n: u128, call_id: &str| RecordingRecord {
        recording_id: Uuid::from_u128(n),
        call_id: call_id.into(),
        tenant_id: Uuid::from_u128(1),
        app_id: Uuid::from_u128(10),
        token_sha256: "ab".repeat(32),
        wav: vec![1, 2, 3, n as u8],
        created_at: epoch(),
    };
    store.put_recording(recording(1, "live")).await.unwrap();
    store.put_recording(recording(2, "over")).await.unwrap();
    assert_eq!(store.recording(Uuid::from_u128(2)).await.unwrap(), Some(recording(2, "over")));
    // "over" ended at epoch + 1 s.
    assert_eq!(store.delete_recordings_of_calls_ended_before(epoch()).await.unwrap(), 0, "not yet");
    assert_eq!(store.delete_recordings_of_calls_ended_before(epoch() + seconds(2)).await.unwrap(), 1);
    assert_eq!(store.recording(Uuid::from_u128(2)).await.unwrap(), None);
    assert!(store.recording(Uuid::from_u128(1)).await.unwrap().is_some(), "its call goes on");
    store.reset_simulation().await.unwrap();
    assert_eq!(store.recording(Uuid::from_u128(1)).await.unwrap(), None, "reset forgets them");
    store.close().await;
}
