//! This node's ownership of calls (ARCHITECTURE.md, "Ownership"): each call is changed by the one node holding its
//! lease, and every change carries the lease's epoch, which the store checks (fencing). A node keeps its leases by
//! heartbeating; one that misses its heartbeats for the lease time may find its calls taken over, and its changes
//! refused. Leases are on the wall clock, whatever the simulation's clock says.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, Utc};
use switchboard_engine::Call;
use switchboard_store::{Claimant, Lease, NodeRecord, Store, StoreError};

/// At most this many call documents are held in memory; past it, the document of the call changed least recently is
/// dropped (its lease is kept) and read from the store again on its next command. ~10 KiB each in memory
/// (BENCHMARKS.md, "Idle calls").
const MAX_RESIDENT: usize = 4_096;

/// Who this node is among those sharing a store, and how long it owns calls without a heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeConfig {
    pub node_id: String,
    pub lease: Duration,
}

/// The leases this node holds, by call id, with the call documents it keeps in memory: only live calls changed
/// here. A document in memory is the call as committed: nobody else changes a call while this node holds its lease.
pub(crate) struct Ownership {
    config: NodeConfig,
    started_at: DateTime<Utc>,
    max_resident: usize,
    held: Mutex<Held>,
}

#[derive(Default)]
struct Held {
    calls: HashMap<String, Owned>,
    /// The calls whose document is in memory, by when it was last kept: the least recently changed first.
    resident: BTreeMap<u64, String>,
    ticks: u64,
}

struct Owned {
    lease: Lease,
    /// Shared with readers; the writer takes it out while it changes the call, so it changes it without a copy.
    call: Option<Arc<Call>>,
    /// When the document was last kept (its key in `Held::resident`).
    tick: u64,
}

impl Held {
    fn tick(&mut self) -> u64 {
        self.ticks += 1;
        self.ticks
    }

    /// Puts `call` in memory under `lease`, as the most recently changed.
    fn hold(&mut self, call: Arc<Call>, lease: Lease) {
        let tick = self.tick();
        let call_id = call.id.clone();
        let previous = self.calls.insert(call_id.clone(), Owned { lease, call: Some(call), tick });
        if let Some(previous) = previous
            && previous.call.is_some()
        {
            self.resident.remove(&previous.tick);
        }
        self.resident.insert(tick, call_id);
    }

    /// Takes a call's document out of memory (the lease stays).
    fn take(&mut self, call_id: &str) -> Option<Arc<Call>> {
        let owned = self.calls.get_mut(call_id)?;
        let call = owned.call.take()?;
        self.resident.remove(&owned.tick);
        Some(call)
    }

    fn remove(&mut self, call_id: &str) {
        self.take(call_id);
        self.calls.remove(call_id);
    }
}

impl Ownership {
    pub(crate) fn new(config: NodeConfig) -> Ownership {
        Ownership { config, started_at: Utc::now(), max_resident: MAX_RESIDENT, held: Mutex::new(Held::default()) }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held.lock().expect("invariant: nothing panics holding the lease map")
    }

    /// The lease of a new call, which its first commit writes.
    pub(crate) fn first_lease(&self) -> Lease {
        Lease { node_id: self.config.node_id.clone(), epoch: 1 }
    }

    /// The lease this node holds on `call_id`, taking it from the store when it holds none; `None` when another
    /// live node holds it (or the call is not stored).
    pub(crate) async fn lease(&self, store: &dyn Store, call_id: &str) -> Result<Option<Lease>, StoreError> {
        if let Some(owned) = self.held().calls.get(call_id) {
            return Ok(Some(owned.lease.clone()));
        }
        let lease = store.acquire_call(call_id, &self.config.node_id, Utc::now()).await?;
        if let Some(lease) = &lease {
            // The document is read from the store once more, now that nobody else changes it.
            self.held().calls.insert(call_id.to_owned(), Owned { lease: lease.clone(), call: None, tick: 0 });
        }
        Ok(lease)
    }

    /// The lease this node may hold on a call, as the store has it: this node's own (from an earlier run) is held
    /// again as it is; another's, or none, is taken (`lease`). `None`: another node took the call meanwhile.
    pub(crate) async fn claim(
        &self,
        store: &dyn Store,
        call_id: &str,
        stored: Option<Lease>,
    ) -> Result<Option<Lease>, StoreError> {
        match stored {
            Some(lease) if lease.node_id == self.config.node_id => {
                let mut held = self.held();
                let owned = held.calls.entry(call_id.to_owned()).or_insert(Owned { lease, call: None, tick: 0 });
                Ok(Some(owned.lease.clone()))
            }
            _ => self.lease(store, call_id).await,
        }
    }

    /// The call as this node last committed it, if it owns the call and keeps its document in memory.
    pub(crate) fn resident(&self, call_id: &str) -> Option<Arc<Call>> {
        self.held().calls.get(call_id).and_then(|owned| owned.call.clone())
    }

    /// The call as this node last committed it, taken out of memory to be changed (and kept again once committed;
    /// meanwhile readers read it from the store).
    pub(crate) fn take_resident(&self, call_id: &str) -> Option<Call> {
        let call = self.held().take(call_id)?;
        // Copied only if a reader holds it right now.
        Some(Arc::unwrap_or_clone(call))
    }

    /// Puts back a call taken out to be changed that did not change, if this node still holds its lease.
    pub(crate) fn restore(&self, call: Arc<Call>) {
        let mut held = self.held();
        let lease = match held.calls.get(&call.id) {
            Some(owned) if owned.call.is_none() => owned.lease.clone(),
            _ => return,
        };
        held.hold(call, lease);
    }

    /// Keeps `call` as committed under `lease`, dropping the document of the call changed least recently if too many
    /// are in memory.
    pub(crate) fn keep(&self, call: Arc<Call>, lease: Lease) {
        let mut held = self.held();
        held.hold(call, lease);
        while held.resident.len() > self.max_resident {
            let Some((_, idle)) = held.resident.pop_first() else { break };
            if let Some(owned) = held.calls.get_mut(&idle) {
                owned.call = None;
            }
        }
    }

    /// Forgets a call that ended (nothing changes it any more) or that this node lost.
    pub(crate) fn forget(&self, call_id: &str) {
        self.held().remove(call_id);
    }

    /// Forgets every call (the simulation was reset, or this node's heartbeat had expired).
    pub(crate) fn forget_all(&self) -> usize {
        std::mem::take(&mut *self.held()).calls.len()
    }

    /// How many live calls this node holds the lease of, and how many of their documents are in memory.
    pub(crate) fn counts(&self) -> (usize, usize) {
        let held = self.held();
        (held.calls.len(), held.resident.len())
    }

    /// Asks for due timers as this node, now.
    pub(crate) fn claimant(&self) -> Claimant {
        Claimant { node_id: self.config.node_id.clone(), at: Utc::now() }
    }

    /// Tells the store this node is alive for another lease time. If it had expired meanwhile, other nodes may have
    /// taken its calls: it forgets every lease, and takes each again (or finds it taken) on the call's next change.
    /// True if it had expired.
    pub(crate) async fn heartbeat(&self, store: &dyn Store) -> Result<bool, StoreError> {
        let now = Utc::now();
        let lease = chrono::Duration::from_std(self.config.lease).unwrap_or(chrono::Duration::MAX);
        let node = NodeRecord {
            node_id: self.config.node_id.clone(),
            address: String::new(),
            started_at: self.started_at,
            heartbeat_at: now,
            expires_at: now + lease,
        };
        if store.heartbeat(node).await? {
            return Ok(false);
        }
        let forgotten = self.forget_all();
        if forgotten > 0 {
            tracing::warn!(node_id = %self.config.node_id, forgotten, "this node's heartbeat had expired: its leases may have been taken over");
        }
        Ok(true)
    }

    /// How often to heartbeat: three times per lease time.
    pub(crate) fn heartbeat_interval(&self) -> Duration {
        self.config.lease / 3
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(id: &str) -> Arc<Call> {
        Arc::new(Call::new(crate::testing::group_call(id, Vec::new()), Utc::now()))
    }

    #[test]
    fn the_document_of_the_call_changed_least_recently_leaves_memory_first() {
        let ownership = Ownership {
            max_resident: 2,
            ..Ownership::new(NodeConfig { node_id: "node".into(), lease: Duration::from_secs(10) })
        };
        let lease = ownership.first_lease();
        for id in ["a", "b", "a", "c"] {
            ownership.keep(call(id), lease.clone());
        }
        let resident = |id| ownership.resident(id).is_some();
        assert_eq!((resident("a"), resident("b"), resident("c")), (true, false, true), "b was changed least recently");
        assert_eq!(ownership.counts(), (3, 2), "b's lease is kept");
        let taken = ownership.take_resident("a").expect("a is in memory");
        assert_eq!(ownership.counts(), (3, 1));
        ownership.restore(Arc::new(taken));
        ownership.keep(call("b"), lease.clone());
        assert_eq!((resident("a"), resident("b"), resident("c")), (true, true, false), "now c is the idlest");
        ownership.forget("a");
        assert_eq!(ownership.counts(), (2, 1));
    }
}
