//! What happened lately, for people watching (the console): the Graph requests bots made, every committed change of
//! a call, every delivery attempt. An in-memory ring of the newest entries, numbered, with a live feed of new ones.
//! It is an observer's view, not a record: the store keeps what must survive (calls, the notification journal);
//! this keeps the last `capacity` entries — and no more than `max_bytes` of them — and forgets the rest, and a restart
//! empties it. An entry is shared (`Arc`) by the ring and the live feed, never copied.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::value::RawValue;
use switchboard_store::{DeliveryAttempt, NotificationRecord};
use tokio::sync::broadcast;

const POISON: &str = "invariant: nothing panics while holding the activity lock";

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActivityEntry {
    /// Increases by one per entry, from 1; a watcher resumes after the last one it saw.
    pub seq: u64,
    /// Wall-clock time (requests and deliveries happen on it; a change also says its simulation time).
    pub at: DateTime<Utc>,
    pub call_id: Option<String>,
    #[serde(flatten)]
    pub what: Happened,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Happened {
    /// A Graph request and its answer.
    Request {
        method: String,
        path: String,
        status: u16,
        request_id: String,
        elapsed_ms: f64,
        /// The bodies as sent, kept as JSON text (a Graph request pays no parse for being watched).
        request_body: Option<Box<RawValue>>,
        response_body: Option<Box<RawValue>>,
    },
    /// A committed change of a call.
    Change {
        version: u64,
        state: String,
        previous_state: Option<String>,
        /// What caused it: the commands applied.
        cause: String,
        /// The notifications it raised (their journal entries have the payloads).
        notifications: usize,
        sim_time: DateTime<Utc>,
    },
    /// One POST of notifications to a bot.
    Delivery {
        /// The journal sequence numbers of the notifications it carried.
        seqs: Vec<i64>,
        url: String,
        status: Option<u16>,
        /// `delivered`, `retry`, `deadLettered` or `duplicate`.
        outcome: String,
        error: Option<String>,
        latency_ms: u32,
    },
}

impl ActivityEntry {
    /// About what the entry holds in memory, in bytes: its bodies and texts, and a fixed part for the rest.
    fn size(&self) -> usize {
        const FIXED: usize = 256;
        let text = |t: &Option<Box<RawValue>>| t.as_ref().map_or(0, |raw| raw.get().len());
        FIXED
            + self.call_id.as_ref().map_or(0, String::len)
            + match &self.what {
                Happened::Request { method, path, request_id, request_body, response_body, .. } => {
                    method.len() + path.len() + request_id.len() + text(request_body) + text(response_body)
                }
                Happened::Change { state, previous_state, cause, .. } => {
                    state.len() + previous_state.as_ref().map_or(0, String::len) + cause.len()
                }
                Happened::Delivery { seqs, url, outcome, error, .. } => {
                    seqs.len() * 8 + url.len() + outcome.len() + error.as_ref().map_or(0, String::len)
                }
            }
    }
}

pub struct Activity {
    ring: Mutex<Ring>,
    live: broadcast::Sender<Arc<ActivityEntry>>,
}

struct Ring {
    entries: VecDeque<Arc<ActivityEntry>>,
    capacity: usize,
    /// What the kept entries hold, and the most they may.
    bytes: usize,
    max_bytes: usize,
    last_seq: u64,
}

/// Entries the live feed holds for a watcher that is behind (the ring holds more; it says `resync`).
const LIVE_BACKLOG: usize = 1024;

impl Activity {
    pub fn new(capacity: usize, max_bytes: usize) -> Activity {
        let entries = VecDeque::with_capacity(capacity.min(1024));
        Activity {
            ring: Mutex::new(Ring { entries, capacity, bytes: 0, max_bytes, last_seq: 0 }),
            live: broadcast::channel(LIVE_BACKLOG).0,
        }
    }

    pub fn record(&self, call_id: Option<String>, what: Happened) {
        self.record_at(Utc::now(), call_id, what);
    }

    /// Records what happened at `at` (a request when it arrived, a change when its notifications were queued).
    pub fn record_at(&self, at: DateTime<Utc>, call_id: Option<String>, what: Happened) {
        let mut ring = self.ring.lock().expect(POISON);
        ring.last_seq += 1;
        let entry = Arc::new(ActivityEntry { seq: ring.last_seq, at, call_id, what });
        let size = entry.size();
        while !ring.entries.is_empty() && (ring.entries.len() >= ring.capacity || ring.bytes + size > ring.max_bytes) {
            let oldest = ring.entries.pop_front().expect("invariant: the ring is not empty here");
            ring.bytes -= oldest.size();
        }
        ring.bytes += size;
        ring.entries.push_back(entry.clone());
        // Sent under the lock, so watchers receive entries in sequence order. Nobody watching is fine.
        let _ = self.live.send(entry);
    }

    /// Entries after `after`, oldest first, at most `limit`, of one call if given.
    pub fn since(&self, after: u64, call_id: Option<&str>, limit: usize) -> Vec<Arc<ActivityEntry>> {
        let ring = self.ring.lock().expect(POISON);
        ring.entries
            .iter()
            .filter(|e| e.seq > after)
            .filter(|e| call_id.is_none_or(|id| e.call_id.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(id))))
            .take(limit)
            .cloned()
            .collect()
    }

    /// The entries already kept after `after`, and a feed of every later one, with no gap between them.
    pub fn watch(&self, after: u64) -> (Vec<Arc<ActivityEntry>>, broadcast::Receiver<Arc<ActivityEntry>>) {
        let ring = self.ring.lock().expect(POISON);
        let receiver = self.live.subscribe();
        let backlog = ring.entries.iter().filter(|e| e.seq > after).cloned().collect();
        (backlog, receiver)
    }

    /// A delivery attempt of the notification dispatcher (its batches are one call's).
    pub fn record_delivery(&self, batch: &[NotificationRecord], attempt: &DeliveryAttempt) {
        let call_id = batch.first().map(|r| r.notification.call_id.clone());
        self.record(
            call_id,
            Happened::Delivery {
                seqs: batch.iter().map(|r| r.seq).collect(),
                url: attempt.url.clone(),
                status: attempt.status,
                outcome: attempt.outcome.as_str().to_owned(),
                error: attempt.error.clone(),
                latency_ms: attempt.latency_ms,
            },
        );
    }

    pub fn clear(&self) {
        let mut ring = self.ring.lock().expect(POISON);
        ring.entries.clear();
        ring.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(state: &str) -> Happened {
        Happened::Change {
            version: 1,
            state: state.into(),
            previous_state: None,
            cause: "Start".into(),
            notifications: 1,
            sim_time: Utc::now(),
        }
    }

    #[test]
    fn the_ring_keeps_the_newest_entries_and_a_watcher_misses_none() {
        let activity = Activity::new(3, 1 << 20);
        for state in ["a", "b", "c", "d"] {
            activity.record(Some("call".into()), change(state));
        }
        let seqs: Vec<u64> = activity.since(0, None, 10).iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [2, 3, 4]);
        assert!(activity.since(0, Some("other"), 10).is_empty());
        let (backlog, mut live) = activity.watch(3);
        assert_eq!(backlog.iter().map(|e| e.seq).collect::<Vec<_>>(), [4]);
        activity.record(None, change("e"));
        assert_eq!(live.try_recv().unwrap().seq, 5);
    }

    #[test]
    fn the_ring_keeps_no_more_than_its_bytes() {
        let activity = Activity::new(10_000, 100 * 1024);
        let body = RawValue::from_string(format!("\"{}\"", "x".repeat(10 * 1024))).unwrap();
        for _ in 0..100 {
            let request = Happened::Request {
                method: "POST".into(),
                path: "/v1.0/communications/calls".into(),
                status: 201,
                request_id: "r".into(),
                elapsed_ms: 1.0,
                request_body: Some(body.clone()),
                response_body: None,
            };
            activity.record(None, request);
        }
        let kept = activity.since(0, None, 10_000);
        assert!((8..=10).contains(&kept.len()), "about 100 KiB of 10 KiB bodies: {}", kept.len());
        assert_eq!(kept.last().unwrap().seq, 100, "the newest");
    }
}
