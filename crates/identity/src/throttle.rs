//! Failed token requests, counted per client (and source address) and per source: past a limit within a window, the
//! client — or everything from the source — is answered 429 with `Retry-After` until the window ends, without its
//! credential being checked (which, for a secret chosen by hand, costs an argon2 hash). The identity platform
//! throttles client-credentials requests the same way: 429 with `Retry-After` (MSAL.NET wiki, "Client throttling").
//!
//! A client is counted per source, so an attacker who knows an app's client id cannot lock the app out from where
//! it really runs; a source is counted across clients, so cycling client ids does not get around it. Requests
//! refused here are not counted again. Memory is bounded: at most twice [`TRACKED`] windows.

use std::{collections::HashMap, net::IpAddr, sync::Mutex};

use chrono::{DateTime, Duration, Utc};

/// How long failures are counted for.
const WINDOW_SECONDS: i64 = 60;
/// Failures of one client from one source within a window …
const PER_CLIENT: u32 = 10;
/// … and of every client from one source.
const PER_SOURCE: u32 = 50;
/// Windows kept before new clients are no longer tracked (sources are, up to twice as many windows in all).
const TRACKED: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Client(String, Option<IpAddr>),
    Source(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: DateTime<Utc>,
    failures: u32,
}

#[derive(Debug, Default)]
pub(crate) struct Throttle {
    windows: Mutex<Windows>,
}

#[derive(Debug, Default)]
struct Windows {
    open: HashMap<Key, Window>,
    /// When ended windows were last dropped: at most once a second, not at every failure of a flood.
    pruned: Option<DateTime<Utc>>,
}

const POISON: &str = "invariant: nothing panics while holding the throttle's lock";

impl Throttle {
    fn keys(client: &str, source: Option<IpAddr>) -> impl Iterator<Item = (Key, u32)> {
        let client = (Key::Client(client.to_ascii_lowercase(), source), PER_CLIENT);
        std::iter::once(client).chain(source.map(|source| (Key::Source(source), PER_SOURCE)))
    }

    /// The seconds until `client` may try again from `source`, if it has failed too often.
    pub(crate) fn wait(&self, client: &str, source: Option<IpAddr>, now: DateTime<Utc>) -> Option<u64> {
        let windows = self.windows.lock().expect(POISON);
        Throttle::keys(client, source)
            .filter_map(|(key, limit)| {
                let window = windows.open.get(&key)?;
                let ends = window.started + Duration::seconds(WINDOW_SECONDS);
                (window.failures >= limit && ends > now).then(|| (ends - now).num_seconds().max(1) as u64)
            })
            .max()
    }

    /// Counts a failed request.
    pub(crate) fn failed(&self, client: &str, source: Option<IpAddr>, now: DateTime<Utc>) {
        let mut guard = self.windows.lock().expect(POISON);
        let Windows { open: windows, pruned } = &mut *guard;
        if windows.len() >= TRACKED && pruned.is_none_or(|at| now - at >= Duration::seconds(1)) {
            windows.retain(|_, w| w.started + Duration::seconds(WINDOW_SECONDS) > now);
            *pruned = Some(now);
        }
        for (key, _) in Throttle::keys(client, source) {
            // Past the bound only sources are still tracked: they are what stops a flood of client ids.
            let bound = if matches!(key, Key::Client(..)) { TRACKED } else { 2 * TRACKED };
            let full = windows.len() >= bound;
            match windows.get_mut(&key) {
                Some(window) if window.started + Duration::seconds(WINDOW_SECONDS) > now => window.failures += 1,
                Some(window) => *window = Window { started: now, failures: 1 },
                None if full => {}
                None => {
                    windows.insert(key, Window { started: now, failures: 1 });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_held_back_after_its_failures_and_lets_go_when_the_window_ends() {
        let throttle = Throttle::default();
        let (here, there): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let now = Utc::now();
        for _ in 0..PER_CLIENT {
            assert_eq!(throttle.wait("App", Some(here), now), None);
            throttle.failed("App", Some(here), now);
        }
        assert_eq!(throttle.wait("app", Some(here), now), Some(60), "the same client, in any case");
        assert_eq!(throttle.wait("app", Some(there), now), None, "not from where the app really runs");
        assert_eq!(throttle.wait("other", Some(here), now), None, "nor another client from here");
        assert_eq!(throttle.wait("app", Some(here), now + Duration::seconds(45)), Some(15));
        assert_eq!(throttle.wait("app", Some(here), now + Duration::seconds(60)), None);
    }

    #[test]
    fn a_source_cycling_client_ids_is_held_back_too() {
        let throttle = Throttle::default();
        let source: IpAddr = "198.51.100.7".parse().unwrap();
        let now = Utc::now();
        for n in 0..PER_SOURCE {
            throttle.failed(&format!("client-{n}"), Some(source), now);
        }
        assert!(throttle.wait("a-new-client", Some(source), now).is_some());
        assert!(throttle.wait("a-new-client", Some("198.51.100.8".parse().unwrap()), now).is_none());
    }

    #[test]
    fn memory_is_bounded() {
        let throttle = Throttle::default();
        let now = Utc::now();
        for n in 0..(TRACKED as u32 * 3) {
            let source = IpAddr::from(std::net::Ipv4Addr::from(n));
            throttle.failed(&format!("client-{n}"), Some(source), now);
        }
        assert_eq!(throttle.windows.lock().unwrap().open.len(), 2 * TRACKED);
    }
}
