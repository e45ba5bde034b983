//! The dispatcher's delivery slots as plain numbers: whether a delivery may start, given those under way. The
//! tasks and POSTs that hold the slots are the dispatcher's; this part decides, and is tested on its own.
//!
//! Two pools: the slots of receivers that answer (`concurrency`) and those struggling receivers share (a quarter as
//! many again, at most [`MAX_STRUGGLING_SLOTS`]), so that webhooks that hang, reset or fail never take an answering
//! receiver's slot. Each receiving host also has task slots: every slot but a reserve for the others, so one busy
//! receiver never takes them all.

use std::collections::HashMap;

/// At most this many deliveries to struggling receivers at once, whatever `concurrency` is.
const MAX_STRUGGLING_SLOTS: usize = 16;

/// Which pool a slot came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pool {
    Answering,
    Struggling,
}

/// What one delivery holds: a task slot of its receiving host (when its URL names one) and a pool slot — until its
/// receiver is seen to struggle, when an answering slot is given back at once (so a wave of webhooks that hang
/// holds the answering slots for a second, not for the whole timeout). Given back whole by [`SlotBook::release`].
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Claim {
    host: Option<String>,
    pool: Option<Pool>,
}

#[derive(Debug)]
pub(crate) struct SlotBook {
    answering_free: usize,
    struggling_free: usize,
    tasks_per_host: usize,
    hosts: HashMap<String, Receiver>,
}

/// A receiving host's share.
#[derive(Debug)]
struct Receiver {
    tasks_free: usize,
    /// Its last answer was an error, a timeout or slow (or a POST has waited long for one): its deliveries take
    /// struggling slots.
    struggling: bool,
}

impl SlotBook {
    pub(crate) fn new(concurrency: usize, connections_per_host: usize) -> SlotBook {
        // Every delivery slot but a reserve for other receivers (as many as one receiver's connections).
        let reserve = connections_per_host.max(1).min(concurrency / 2).max(1);
        SlotBook {
            answering_free: concurrency.max(1),
            struggling_free: struggling_slots(concurrency),
            tasks_per_host: concurrency.saturating_sub(reserve).max(1),
            hosts: HashMap::new(),
        }
    }

    /// How many deliveries could start now, at most.
    pub(crate) fn free(&self) -> usize {
        self.answering_free + self.struggling_free
    }

    /// The slots for a delivery to `host`: one of its task slots and an answering slot, or a struggling slot if it
    /// struggles; none if either is all taken.
    pub(crate) fn claim(&mut self, host: Option<&str>) -> Option<Claim> {
        let tasks_per_host = self.tasks_per_host;
        let receiver = host.map(|host| {
            self.hosts.entry(host.to_owned()).or_insert(Receiver { tasks_free: tasks_per_host, struggling: false })
        });
        if receiver.as_ref().is_some_and(|receiver| receiver.tasks_free == 0) {
            return None;
        }
        let pool = if receiver.as_ref().is_some_and(|receiver| receiver.struggling) {
            Pool::Struggling
        } else {
            Pool::Answering
        };
        if let Some(receiver) = receiver {
            receiver.tasks_free -= 1;
        }
        let free = self.pool_mut(pool);
        if *free == 0 {
            // The task slot taken above goes back with the claim it never became.
            self.release(Claim { host: host.map(str::to_owned), pool: None });
            return None;
        }
        *free -= 1;
        Some(Claim { host: host.map(str::to_owned), pool: Some(pool) })
    }

    /// The claim's receiver struggles: its next deliveries take struggling slots, and a claim holding an answering
    /// slot gives it back now. True if one was given back (another delivery may start).
    pub(crate) fn struggles(&mut self, claim: &mut Claim) -> bool {
        if let Some(receiver) = claim.host.as_ref().and_then(|host| self.hosts.get_mut(host)) {
            receiver.struggling = true;
        }
        if claim.pool != Some(Pool::Answering) {
            return false;
        }
        claim.pool = None;
        self.answering_free += 1;
        true
    }

    /// The claim's receiver answered, in time: its next deliveries take answering slots again.
    pub(crate) fn answers(&mut self, claim: &Claim) {
        if let Some(receiver) = claim.host.as_ref().and_then(|host| self.hosts.get_mut(host)) {
            receiver.struggling = false;
        }
    }

    /// Gives back what `claim` still holds.
    pub(crate) fn release(&mut self, claim: Claim) {
        if let Some(receiver) = claim.host.as_ref().and_then(|host| self.hosts.get_mut(host)) {
            receiver.tasks_free += 1;
        }
        if let Some(pool) = claim.pool {
            *self.pool_mut(pool) += 1;
        }
    }

    fn pool_mut(&mut self, pool: Pool) -> &mut usize {
        match pool {
            Pool::Answering => &mut self.answering_free,
            Pool::Struggling => &mut self.struggling_free,
        }
    }
}

/// The delivery slots struggling receivers share: a quarter as many again as `concurrency`, at most
/// [`MAX_STRUGGLING_SLOTS`]. More attempts at once at receivers that hang, reset or fail only journal more failures
/// and retries, and the healthy bots' notifications wait for that work (with 32 such slots, at the default
/// `concurrency` of 128, their p50 went from 13 ms to 90 ms while four bad webhooks were being called;
/// BENCHMARKS.md, "Misbehaving webhooks").
fn struggling_slots(concurrency: usize) -> usize {
    (concurrency / 4).clamp(1, MAX_STRUGGLING_SLOTS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struggling_receivers_share_a_quarter_of_the_slots_at_most_sixteen() {
        assert_eq!([1, 8, 64, 128, 1024].map(struggling_slots), [1, 2, 16, 16, 16]);
    }

    #[test]
    fn one_receiver_takes_every_slot_but_a_reserve_for_the_others() {
        // 8 answering slots, a reserve of 2 (one receiver's connections): one host gets 6.
        let mut book = SlotBook::new(8, 2);
        let mine: Vec<Claim> = (0..6).map(|_| book.claim(Some("bot:443")).expect("a free slot")).collect();
        assert_eq!(book.claim(Some("bot:443")), None, "the host's task slots are all taken");
        let other = book.claim(Some("other:443")).expect("the reserve is another receiver's");
        assert!(book.claim(None).is_some(), "a delivery without a host needs only a pool slot");
        assert_eq!(book.free(), 2, "2 struggling slots left, no answering one");
        assert_eq!(book.claim(Some("other:443")), None, "the answering pool is empty");
        book.release(other);
        mine.into_iter().for_each(|claim| book.release(claim));
        assert!(book.claim(Some("bot:443")).is_some());
    }

    #[test]
    fn a_struggling_receiver_gives_its_answering_slot_back_and_then_takes_struggling_ones() {
        let mut book = SlotBook::new(4, 1);
        let mut hanging = book.claim(Some("hangs:80")).unwrap();
        assert_eq!(book.free(), 3 + 1);
        assert!(book.struggles(&mut hanging), "the answering slot is given back at once");
        assert!(!book.struggles(&mut hanging), "once");
        assert_eq!(book.free(), 4 + 1);
        // Its next deliveries share the one struggling slot, however many answering slots are free.
        let second = book.claim(Some("hangs:80")).unwrap();
        assert_eq!(book.claim(Some("hangs:80")), None);
        assert_eq!(book.free(), 4);
        book.release(hanging);
        book.release(second);
        assert_eq!(book.free(), 4 + 1);
        // Answering again, it is back in the answering pool.
        let answered = book.claim(Some("hangs:80")).unwrap();
        book.answers(&answered);
        book.release(answered);
        let mut claims: Vec<Claim> = (0..3).map(|_| book.claim(Some("hangs:80")).unwrap()).collect();
        assert_eq!(book.free(), 1 + 1);
        assert_eq!(book.claim(Some("hangs:80")), None, "three task slots: four, less a reserve of one");
        claims.iter_mut().for_each(|claim| assert!(book.struggles(claim)));
        claims.into_iter().for_each(|claim| book.release(claim));
        assert_eq!(book.free(), 4 + 1, "every slot is back");
    }
}
