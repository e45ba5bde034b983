//! The behaviour every [`Store`] backend must show. A backend's tests call [`run`] with a way to open a fresh,
//! empty store; each check gets its own.

use std::future::Future;

use chrono::{DateTime, TimeZone, Utc};

use crate::{NewDeviceQualityReport, Store};

/// A fixed instant, so results do not depend on the clock.
pub fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 9, 30, 0).single().expect("a valid date")
}

pub async fn run<S: Store, F: Future<Output = S>>(open_empty: impl Fn() -> F) {
    instance_is_fixed_at_creation(open_empty().await).await;
    device_quality_reports_are_kept_in_order_and_paged(open_empty().await).await;
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
