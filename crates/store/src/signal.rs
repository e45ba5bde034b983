//! How the calls runtime (and a replay) tell the notification dispatcher that the outbox holds something new: the
//! notifications just committed, handed over whole so the dispatcher need not read them back; which calls got
//! notifications, so that it reads just those; or that anything may have changed.

use std::{collections::HashSet, sync::Mutex};

use tokio::sync::Notify;

use crate::NotificationRecord;

/// Past this many calls waiting to be looked at, the dispatcher is told to look at everything instead.
const LISTED_CALLS: usize = 1024;
/// Past this many notifications waiting to be taken, only their calls are listed (the outbox has them all).
const HANDED_NOTIFICATIONS: usize = 4096;

#[derive(Default)]
pub struct OutboxSignal {
    raised: Mutex<Raised>,
    notify: Notify,
}

/// What was signalled since the dispatcher last took it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Raised {
    /// Notifications committed before they were signalled, in the order they were committed.
    pub committed: Vec<NotificationRecord>,
    /// Calls with new notifications, committed before they were signalled, to be read from the outbox.
    pub calls: HashSet<String>,
    /// Look at the whole outbox (replayed notifications, or more calls than are listed).
    pub everything: bool,
}

const POISON: &str = "invariant: nothing panics while holding the outbox signal";

impl OutboxSignal {
    /// Hands over the notifications a change queued (call after the commit, in commit order per call); past
    /// `HANDED_NOTIFICATIONS` waiting, their calls are listed instead.
    pub fn committed(&self, notifications: Vec<NotificationRecord>) {
        if notifications.is_empty() {
            return;
        }
        {
            let mut raised = self.raised.lock().expect(POISON);
            for notification in notifications {
                let call_id = &notification.notification.call_id;
                if raised.committed.len() < HANDED_NOTIFICATIONS && !raised.calls.contains(call_id) {
                    raised.committed.push(notification);
                } else if raised.calls.len() < LISTED_CALLS {
                    raised.calls.insert(call_id.clone());
                } else {
                    raised.everything = true;
                }
            }
        }
        self.notify.notify_one();
    }

    /// Anything in the outbox may have changed.
    pub fn everything(&self) {
        self.raised.lock().expect(POISON).everything = true;
        self.notify.notify_one();
    }

    /// Wakes the dispatcher with nothing new in the outbox (its own state changed).
    pub fn nudge(&self) {
        self.notify.notify_one();
    }

    /// Resolves once something was signalled (at once if something was since the last wait).
    pub async fn signalled(&self) {
        self.notify.notified().await;
    }

    /// What was signalled, leaving nothing.
    pub fn take(&self) -> Raised {
        std::mem::take(&mut *self.raised.lock().expect(POISON))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued(call_id: &str, seq: u32) -> NotificationRecord {
        NotificationRecord::queued(seq.into(), seq.into(), crate::testsuite::notification(call_id, 0, seq))
    }

    fn seqs(raised: &Raised) -> Vec<i64> {
        raised.committed.iter().map(|n| n.seq).collect()
    }

    #[test]
    fn notifications_are_handed_over_until_too_many_wait_then_calls_are_listed_then_everything() {
        let signal = OutboxSignal::default();
        signal.committed(vec![queued("a", 1), queued("a", 2)]);
        signal.committed(vec![queued("b", 3)]);
        let raised = signal.take();
        assert_eq!((seqs(&raised), raised.calls.len(), raised.everything), (vec![1, 2, 3], 0, false));
        assert_eq!(signal.take(), Raised::default(), "taken");

        signal.committed((0..HANDED_NOTIFICATIONS as u32).map(|seq| queued("a", seq)).collect());
        signal.committed(vec![queued("b", 0)]);
        let raised = signal.take();
        assert_eq!(raised.committed.len(), HANDED_NOTIFICATIONS);
        assert_eq!(raised.calls, ["b".to_owned()].into(), "past the limit, the call is listed");

        signal.committed(vec![queued("a", 1)]);
        signal.committed((0..=LISTED_CALLS as u32).map(|n| queued(&n.to_string(), n)).collect());
        let raised = signal.take();
        assert_eq!(seqs(&raised)[..1], [1]);
        assert!(!raised.everything, "calls are handed over, not listed");
        signal.committed((0..HANDED_NOTIFICATIONS as u32).map(|seq| queued("a", seq)).collect());
        signal.committed((0..=LISTED_CALLS as u32).map(|n| queued(&n.to_string(), n)).collect());
        assert!(signal.take().everything, "more calls than can be listed: look at everything");
    }
}
