//! What the dispatcher reports through the `metrics` facade; the server renders it at `/metrics` in Prometheus'
//! text format.

use std::time::Duration;

use switchboard_store::{Store, StoreError};

pub const QUEUED: &str = "switchboard_notifications_queued";
pub const DEAD_LETTERS: &str = "switchboard_notifications_dead_letters";
pub const IN_FLIGHT: &str = "switchboard_notification_posts_in_flight";
pub const DELIVERED: &str = "switchboard_notifications_delivered_total";
pub const RETRIED: &str = "switchboard_notification_retries_total";
pub const DEAD_LETTERED: &str = "switchboard_notifications_dead_lettered_total";
pub const DUPLICATED: &str = "switchboard_notification_duplicates_total";
pub const ATTEMPTS: &str = "switchboard_notification_attempts_total";
/// From the commit that queued a notification to the receiver's 2xx, on the wall clock.
pub const DELIVERY_SECONDS: &str = "switchboard_notification_delivery_seconds";
/// One POST, from sending to the answer.
pub const POST_SECONDS: &str = "switchboard_notification_post_seconds";

/// The histograms' buckets, in seconds: from a loopback receiver's milliseconds to retries minutes later.
pub const SECONDS_BUCKETS: &[f64] =
    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0];

/// Sets the gauges that describe the outbox as stored (queued, dead letters), for a scrape.
pub async fn observe_outbox(store: &dyn Store) -> Result<(), StoreError> {
    let counts = store.notification_counts().await?;
    // Counts of stored rows: far below 2^53, so the conversion is exact.
    metrics::gauge!(QUEUED).set(counts.pending as f64);
    metrics::gauge!(DEAD_LETTERS).set(counts.dead_lettered as f64);
    Ok(())
}

/// The class of an attempt's answer, as a label: `2xx` … `5xx`, or `error` when there was none.
pub(crate) fn attempt(status: Option<u16>, latency: Duration) {
    let class = match status {
        Some(status) => format!("{}xx", status / 100),
        None => "error".to_owned(),
    };
    metrics::counter!(ATTEMPTS, "answer" => class).increment(1);
    metrics::histogram!(POST_SECONDS).record(latency.as_secs_f64());
}
