//! The clock calls run on: the wall clock in production, or a virtual one that only moves when told to, so tests
//! and demos can skip 45 minutes of keep-alive in a millisecond and every run is reproducible.

use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ClockMode {
    Realtime,
    Virtual,
}

#[derive(Debug, Clone, Copy)]
enum State {
    /// Wall-clock time plus an offset, so switching from virtual back to real time never goes backwards.
    Realtime {
        offset: Duration,
    },
    Virtual {
        now: DateTime<Utc>,
    },
}

/// The simulation clock. Cheap to read; every change is announced on [`SimulationClock::changes`].
pub struct SimulationClock {
    state: Mutex<State>,
    changed: watch::Sender<()>,
}

const POISON: &str = "the clock lock is never poisoned: nothing panics while holding it";

impl SimulationClock {
    pub fn new(mode: ClockMode) -> SimulationClock {
        let state = match mode {
            ClockMode::Realtime => State::Realtime { offset: Duration::zero() },
            ClockMode::Virtual => State::Virtual { now: Utc::now() },
        };
        SimulationClock { state: Mutex::new(state), changed: watch::Sender::new(()) }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match *self.state.lock().expect(POISON) {
            State::Realtime { offset } => Utc::now() + offset,
            State::Virtual { now } => now,
        }
    }

    pub fn mode(&self) -> ClockMode {
        match *self.state.lock().expect(POISON) {
            State::Realtime { .. } => ClockMode::Realtime,
            State::Virtual { .. } => ClockMode::Virtual,
        }
    }

    /// Switches mode, keeping the current time.
    pub fn set_mode(&self, mode: ClockMode) {
        let mut state = self.state.lock().expect(POISON);
        let now = match *state {
            State::Realtime { offset } => Utc::now() + offset,
            State::Virtual { now } => now,
        };
        *state = match mode {
            ClockMode::Realtime => State::Realtime { offset: now - Utc::now() },
            ClockMode::Virtual => State::Virtual { now },
        };
        drop(state);
        self.changed.send_replace(());
    }

    /// Moves a virtual clock to `to`, which must not be in its past. Refused in real time.
    pub(crate) fn move_to(&self, to: DateTime<Utc>) -> Result<(), ClockError> {
        let mut state = self.state.lock().expect(POISON);
        match &mut *state {
            State::Realtime { .. } => return Err(ClockError::Realtime),
            State::Virtual { now } if to < *now => return Err(ClockError::Backwards { now: *now, to }),
            State::Virtual { now } => *now = to,
        }
        drop(state);
        self.changed.send_replace(());
        Ok(())
    }

    /// A receiver that sees every change of mode or time.
    pub fn changes(&self) -> watch::Receiver<()> {
        self.changed.subscribe()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    #[error("the clock runs in real time; switch it to virtual time to move it")]
    Realtime,
    #[error("the clock cannot go back: it is {now}, asked for {to}")]
    Backwards { now: DateTime<Utc>, to: DateTime<Utc> },
}
