//! The behaviour every [`Store`] backend must show. A backend's tests call [`run`] with a way to open a fresh,
//! empty store; each check gets its own.

use std::future::Future;

use chrono::{DateTime, TimeZone, Utc};

use uuid::Uuid;

use crate::{
    ApplicationRecord, CertificateRecord, NewDeviceQualityReport, SecretRecord, SigningKeyRecord, Store, TenantRecord,
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
        sha256: format!("{n:064x}"),
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
