//! How the calls runtime (and a replay) tell the notification dispatcher that the outbox holds something new:
//! which calls got notifications, so that the dispatcher reads just those, or that anything may have changed.

use std::{collections::HashSet, sync::Mutex};

use tokio::sync::Notify;

/// Past this many calls waiting to be looked at, the dispatcher is told to look at everything instead.
const LISTED_CALLS: usize = 1024;

#[derive(Default)]
pub struct OutboxSignal {
    raised: Mutex<Raised>,
    notify: Notify,
}

/// What was signalled since the dispatcher last took it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Raised {
    /// Calls with new notifications, committed before they were signalled.
    pub calls: HashSet<String>,
    /// Look at the whole outbox (replayed notifications, or more calls than are listed).
    pub everything: bool,
}

const POISON: &str = "invariant: nothing panics while holding the outbox signal";

impl OutboxSignal {
    /// `call_id` got notifications (call after the commit).
    pub fn raised(&self, call_id: &str) {
        {
            let mut raised = self.raised.lock().expect(POISON);
            if raised.calls.len() < LISTED_CALLS {
                raised.calls.insert(call_id.to_owned());
            } else {
                raised.everything = true;
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

    #[test]
    fn calls_are_listed_until_there_are_too_many_to_list() {
        let signal = OutboxSignal::default();
        signal.raised("a");
        signal.raised("a");
        signal.raised("b");
        assert_eq!(signal.take(), Raised { calls: ["a", "b"].map(str::to_owned).into(), everything: false });
        assert_eq!(signal.take(), Raised::default(), "taken");
        for n in 0..=LISTED_CALLS {
            signal.raised(&n.to_string());
        }
        assert!(signal.take().everything);
    }
}
