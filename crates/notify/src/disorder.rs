//! Deliberate delivery trouble for bot authors to test against (all off by default): Graph warns that notifications
//! may arrive out of order (graph-calls.md §c, "Ordering"), webhooks behind load balancers see the same POST twice,
//! and notifications can come late. Adjustable while the server runs, through `/_sim/delivery`.

use std::{
    sync::{Arc, RwLock},
    time::Duration,
};

use serde::{Deserialize, Serialize};

/// The knobs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Disorder {
    /// Up to this many of a call's queued notifications are sent in a random order; 0 or 1 keeps the order.
    pub reorder_window: u32,
    /// The chance (0 to 1) that a delivered notification is sent once more, identical but for `client-request-id`.
    pub duplicate_rate: f64,
    /// Every POST waits this long first …
    #[serde(with = "humantime_serde")]
    pub delay: Duration,
    /// … plus a random part of up to this much.
    #[serde(with = "humantime_serde")]
    pub delay_jitter: Duration,
    /// Seeds the randomness, so a failing test can be run again with the same disorder.
    pub seed: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum DisorderError {
    #[error("duplicateRate must be between 0 and 1, not {0}")]
    Rate(f64),
    #[error("reorderWindow must be at most {max}, not {0}", max = MAX_REORDER_WINDOW)]
    Window(u32),
    #[error(
        "delay and delayJitter must add up to at most {} (a notification that late is a lost one)",
        humantime::format_duration(MAX_DELAY)
    )]
    Delay,
}

const MAX_REORDER_WINDOW: u32 = 64;
const MAX_DELAY: Duration = Duration::from_secs(600);

impl Disorder {
    pub fn validate(&self) -> Result<(), DisorderError> {
        if !(0.0..=1.0).contains(&self.duplicate_rate) {
            return Err(DisorderError::Rate(self.duplicate_rate));
        }
        if self.reorder_window > MAX_REORDER_WINDOW {
            return Err(DisorderError::Window(self.reorder_window));
        }
        if self.delay.saturating_add(self.delay_jitter) > MAX_DELAY {
            return Err(DisorderError::Delay);
        }
        Ok(())
    }

    pub(crate) fn reorders(&self) -> bool {
        self.reorder_window > 1
    }

    /// The wait before a POST.
    pub(crate) fn delay(&self, rng: &mut fastrand::Rng) -> Duration {
        self.delay + self.delay_jitter.mul_f64(rng.f64())
    }

    pub(crate) fn duplicates(&self, rng: &mut fastrand::Rng) -> bool {
        self.duplicate_rate > 0.0 && rng.f64() < self.duplicate_rate
    }
}

/// The knobs as the dispatcher and `/_sim/delivery` share them.
#[derive(Debug, Clone, Default)]
pub struct DeliveryControls {
    disorder: Arc<RwLock<Disorder>>,
}

impl DeliveryControls {
    pub fn new(disorder: Disorder) -> Result<DeliveryControls, DisorderError> {
        disorder.validate()?;
        Ok(DeliveryControls { disorder: Arc::new(RwLock::new(disorder)) })
    }

    pub fn disorder(&self) -> Disorder {
        self.disorder.read().expect("invariant: nothing panics while holding the disorder lock").clone()
    }

    pub fn set_disorder(&self, disorder: Disorder) -> Result<(), DisorderError> {
        disorder.validate()?;
        *self.disorder.write().expect("invariant: nothing panics while holding the disorder lock") = disorder;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knobs_are_checked_and_read_from_json() {
        let knobs: Disorder =
            serde_json::from_str(r#"{"reorderWindow": 3, "duplicateRate": 0.5, "delay": "20ms", "seed": 9}"#).unwrap();
        assert_eq!(
            (knobs.reorder_window, knobs.delay, knobs.delay_jitter),
            (3, Duration::from_millis(20), Duration::ZERO)
        );
        let controls = DeliveryControls::default();
        controls.set_disorder(knobs.clone()).unwrap();
        assert_eq!(controls.disorder(), knobs);
        let rate = Disorder { duplicate_rate: 1.5, ..Disorder::default() };
        assert!(controls.set_disorder(rate).unwrap_err().to_string().contains("between 0 and 1"));
        let late = Disorder { delay: Duration::from_secs(3600), ..Disorder::default() };
        assert!(controls.set_disorder(late).unwrap_err().to_string().contains("at most 10m"));
        assert_eq!(controls.disorder(), knobs, "a refused change changes nothing");
        assert!(serde_json::from_str::<Disorder>(r#"{"reorder": 3}"#).is_err(), "unknown knobs are refused");
    }

    #[test]
    fn delays_stay_within_their_jitter() {
        let mut rng = fastrand::Rng::with_seed(3);
        let knobs = Disorder {
            delay: Duration::from_millis(10),
            delay_jitter: Duration::from_millis(5),
            ..Disorder::default()
        };
        for _ in 0..100 {
            let wait = knobs.delay(&mut rng);
            assert!(wait >= Duration::from_millis(10) && wait <= Duration::from_millis(15));
        }
        assert!(!Disorder::default().duplicates(&mut rng));
        assert!(Disorder { duplicate_rate: 1.0, ..Disorder::default() }.duplicates(&mut rng));
    }
}
