//! What an attempt's answer comes to, as a pure function of the answer, the notification and the time: delivered;
//! tried again after an exponential backoff with jitter or the receiver's `Retry-After`, set aside if its call has
//! waited for it too long; or given up on, past an attempt limit or a time horizon per round (a round starts when
//! the notification is queued or replayed), or when the receiver refuses it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use switchboard_store::{AttemptOutcome, NotificationRecord};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) max_attempts: u32,
    pub(crate) horizon: Duration,
    /// How long a call's later notifications may wait behind one being retried before it is set aside.
    pub(crate) max_hold_back: Duration,
}

/// What an answer from a receiver means for delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    Accepted,
    /// Worth trying again: 408, 429, 5xx, or no answer at all (connection refused, reset, timed out).
    Transient,
    /// The receiver does not want it (any other status); trying again would not help.
    Refused,
}

impl Answer {
    pub(crate) fn of(status: Option<StatusCode>) -> Answer {
        match status {
            None => Answer::Transient,
            Some(status) if status.is_success() => Answer::Accepted,
            Some(StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS) => Answer::Transient,
            Some(status) if status.is_server_error() => Answer::Transient,
            Some(_) => Answer::Refused,
        }
    }
}

impl RetryPolicy {
    /// What an attempt at a batch led by `head`, answered `answer` at `now`, comes to — and, when it is given up on
    /// after a transient failure, why.
    pub(crate) fn outcome(
        &self,
        head: &NotificationRecord,
        answer: Answer,
        now: DateTime<Utc>,
        retry_after: Option<Duration>,
        rng: &mut fastrand::Rng,
    ) -> (AttemptOutcome, Option<String>) {
        match answer {
            Answer::Accepted => (AttemptOutcome::Delivered, None),
            Answer::Refused => (AttemptOutcome::DeadLettered, None),
            Answer::Transient => match self.retry_at(head, now, retry_after, rng) {
                // Graph says notifications may come out of order; it does not make a bot wait an hour for the rest
                // of a call behind one its webhook keeps failing.
                Ok(at) if self.held_back_too_long(head, at) => (AttemptOutcome::SetAside(at), None),
                Ok(at) => (AttemptOutcome::RetryAt(at), None),
                Err(why) => (AttemptOutcome::DeadLettered, Some(why)),
            },
        }
    }

    /// Whether retrying `head` at `retry_at` would hold its call's later notifications back longer than allowed
    /// (counted from when it was queued or replayed); one already set aside stays so.
    fn held_back_too_long(&self, head: &NotificationRecord, retry_at: DateTime<Utc>) -> bool {
        let since = head.replayed_at.unwrap_or(head.notification.queued_at);
        head.set_aside || (retry_at - since).to_std().unwrap_or_default() > self.max_hold_back
    }

    /// The wait after the `failed`-th failed attempt of a round: the initial backoff doubled per further failure, at
    /// most the maximum, with "equal jitter" — half of it fixed, half random — so that many retries queued by one
    /// outage spread out instead of arriving together, and none comes back sooner than half the backoff.
    pub(crate) fn backoff(&self, failed: u32, rng: &mut fastrand::Rng) -> Duration {
        let doublings = failed.saturating_sub(1).min(31);
        let ceiling = self.initial_backoff.saturating_mul(1 << doublings).min(self.max_backoff);
        let half = ceiling / 2;
        half + half.mul_f64(rng.f64())
    }

    /// When to try `head` (and the notifications batched with it) again after a transient failure at `now`, or why
    /// not: out of attempts, or the next attempt would fall beyond the round's horizon. A receiver's `Retry-After`
    /// replaces the backoff.
    pub(crate) fn retry_at(
        &self,
        head: &NotificationRecord,
        now: DateTime<Utc>,
        retry_after: Option<Duration>,
        rng: &mut fastrand::Rng,
    ) -> Result<DateTime<Utc>, String> {
        let failed = head.round_attempts + 1;
        if failed >= self.max_attempts {
            return Err(format!("gave up after {failed} attempts"));
        }
        let wait = retry_after.unwrap_or_else(|| self.backoff(failed, rng));
        let next = now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
        let horizon =
            head.round_started_at() + chrono::Duration::from_std(self.horizon).unwrap_or(chrono::Duration::MAX);
        if next > horizon {
            return Err(format!(
                "gave up after {failed} attempts: the next one would come after the retry horizon of {}",
                humantime::format_duration(self.horizon)
            ));
        }
        Ok(next)
    }
}

/// A `Retry-After` value (RFC 9110 §10.2.3): a number of seconds, or an HTTP date.
pub(crate) fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::at;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            max_attempts: 5,
            horizon: Duration::from_secs(600),
            max_hold_back: Duration::from_secs(5),
        }
    }

    fn record(round_attempts: u32) -> NotificationRecord {
        crate::tests::record(1, "http://127.0.0.1/", round_attempts)
    }

    #[test]
    fn answers_are_classified_as_graph_retries_them() {
        let of = |code: u16| Answer::of(Some(StatusCode::from_u16(code).unwrap()));
        assert_eq!([of(200), of(202), of(204)], [Answer::Accepted; 3]);
        assert_eq!([of(408), of(429), of(500), of(503)], [Answer::Transient; 4]);
        assert_eq!([of(400), of(401), of(403), of(404), of(410), of(302)], [Answer::Refused; 6]);
        assert_eq!(Answer::of(None), Answer::Transient, "no answer at all");
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum_with_jitter_in_its_upper_half() {
        let mut rng = fastrand::Rng::with_seed(7);
        for (failed, ceiling) in [(1, 1), (2, 2), (3, 4), (7, 60), (40, 60)] {
            for _ in 0..50 {
                let wait = policy().backoff(failed, &mut rng);
                let ceiling = Duration::from_secs(ceiling);
                assert!(
                    wait >= ceiling / 2 && wait <= ceiling,
                    "attempt {failed}: {wait:?} not in [{ceiling:?}/2, {ceiling:?}]"
                );
            }
        }
        let spread: std::collections::HashSet<_> = (0..20).map(|_| policy().backoff(3, &mut rng)).collect();
        assert!(spread.len() > 10, "jittered, not fixed");
    }

    #[test]
    fn retries_stop_at_the_attempt_limit_and_the_horizon() {
        let mut rng = fastrand::Rng::with_seed(1);
        let next = policy().retry_at(&record(0), at(10), None, &mut rng).unwrap();
        assert!(next >= at(10) && next <= at(11));
        assert!(policy().retry_at(&record(4), at(10), None, &mut rng).unwrap_err().contains("after 5 attempts"));
        let late = policy().retry_at(&record(1), at(599), None, &mut rng).unwrap_err();
        assert!(late.contains("retry horizon of 10m"), "{late}");
        let mut replayed = record(0);
        replayed.replayed_at = Some(at(3600));
        assert!(policy().retry_at(&replayed, at(3700), None, &mut rng).is_ok(), "a replay starts a new round");
    }

    #[test]
    fn an_answer_comes_to_delivered_retried_set_aside_or_dead_lettered() {
        let mut rng = fastrand::Rng::with_seed(3);
        let queued = record(0);
        let now = queued.notification.queued_at;
        let outcome = |head: &NotificationRecord, answer, at, rng: &mut fastrand::Rng| {
            policy().outcome(head, answer, at, None, rng)
        };
        assert_eq!(outcome(&queued, Answer::Accepted, now, &mut rng), (AttemptOutcome::Delivered, None));
        assert_eq!(outcome(&queued, Answer::Refused, now, &mut rng), (AttemptOutcome::DeadLettered, None));
        let (soon, _) = outcome(&queued, Answer::Transient, now, &mut rng);
        assert!(matches!(soon, AttemptOutcome::RetryAt(at) if at > now), "{soon:?}");
        // A retry that would hold the call's later notifications back past 5 s sets it aside.
        let late = now + chrono::Duration::seconds(5);
        let (aside, _) = outcome(&record(1), Answer::Transient, late, &mut rng);
        assert!(matches!(aside, AttemptOutcome::SetAside(at) if at > late), "{aside:?}");
        let mut set_aside = record(1);
        set_aside.set_aside = true;
        assert!(matches!(outcome(&set_aside, Answer::Transient, now, &mut rng).0, AttemptOutcome::SetAside(_)));
        let (given_up, why) = outcome(&record(4), Answer::Transient, now, &mut rng);
        assert_eq!(given_up, AttemptOutcome::DeadLettered);
        assert!(why.unwrap().contains("after 5 attempts"));
    }

    #[test]
    fn retry_after_is_honoured_in_seconds_or_as_a_date() {
        let now = at(0);
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        let date = (now + chrono::Duration::seconds(30)).to_rfc2822().replace("+0000", "GMT");
        assert_eq!(retry_after(&date, now), Some(Duration::from_secs(30)));
        assert_eq!(retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now), Some(Duration::ZERO), "a date passed: at once");
        assert_eq!(retry_after("soon", now), None);
        let mut rng = fastrand::Rng::with_seed(1);
        let next = policy().retry_at(&record(0), now, Some(Duration::from_secs(45)), &mut rng).unwrap();
        assert_eq!(next, at(45), "instead of the backoff");
    }
}
