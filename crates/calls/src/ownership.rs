//! This node's ownership of calls (ARCHITECTURE.md, "Ownership"): each call is changed by the one node holding its
//! lease, and every change carries the lease's epoch, which the store checks (fencing). A node keeps its leases by
//! heartbeating; one that misses its heartbeats for the lease time may find its calls taken over, and its changes
//! refused. Leases are on the wall clock, whatever the simulation's clock says.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, Utc};
use switchboard_engine::Call;
use switchboard_store::{Claimant, Lease, NodeRecord, Store, StoreError};

/// At most this many call documents are held in memory; past it, the document of another call is dropped (its lease
/// is kept) and read from the store again on its next command. ~10 KiB each in memory (BENCHMARKS.md, "Idle calls").
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
    held: Mutex<Held>,
}

#[derive(Default)]
struct Held {
    calls: HashMap<String, Owned>,
    /// How many of them have their document in memory.
    resident: usize,
}

struct Owned {
    lease: Lease,
    /// Shared with readers; the writer takes it out while it changes the call, so it changes it without a copy.
    call: Option<Arc<Call>>,
}

impl Held {
    fn remove(&mut self, call_id: &str) {
        if let Some(owned) = self.calls.remove(call_id)
            && owned.call.is_some()
        {
            self.resident -= 1;
        }
    }

    fn evict(&mut self, call_id: &str) {
        if let Some(owned) = self.calls.get_mut(call_id)
            && owned.call.take().is_some()
        {
            self.resident -= 1;
        }
    }
}

impl Ownership {
    pub(crate) fn new(config: NodeConfig) -> Ownership {
        Ownership { config, started_at: Utc::now(), held: Mutex::new(Held::default()) }
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
            self.held().calls.insert(call_id.to_owned(), Owned { lease: lease.clone(), call: None });
        }
        Ok(lease)
    }

    /// The call as this node last committed it, if it owns the call and keeps its document in memory.
    pub(crate) fn resident(&self, call_id: &str) -> Option<Arc<Call>> {
        self.held().calls.get(call_id).and_then(|owned| owned.call.clone())
    }

    /// The call as this node last committed it, taken out of memory to be changed (and kept again once committed;
    /// meanwhile readers read it from the store).
    pub(crate) fn take_resident(&self, call_id: &str) -> Option<Call> {
        let mut held = self.held();
        let call = held.calls.get_mut(call_id)?.call.take()?;
        held.resident -= 1;
        drop(held);
        // Copied only if a reader holds it right now.
        Some(Arc::unwrap_or_clone(call))
    }

    /// Puts back a call taken out to be changed that did not change, if this node still holds its lease.
    pub(crate) fn restore(&self, call: Arc<Call>) {
        let mut held = self.held();
        if let Some(owned) = held.calls.get_mut(&call.id)
            && owned.call.is_none()
        {
            owned.call = Some(call);
            held.resident += 1;
        }
    }

    /// Keeps `call` as committed under `lease`, dropping another call's document if too many are in memory.
    pub(crate) fn keep(&self, call: Arc<Call>, lease: Lease) {
        let mut held = self.held();
        let previous = held.calls.insert(call.id.clone(), Owned { lease, call: Some(call.clone()) });
        if previous.is_none_or(|p| p.call.is_none()) {
            held.resident += 1;
        }
        if held.resident > MAX_RESIDENT {
            let other = held.calls.iter().find(|(id, o)| o.call.is_some() && **id != call.id).map(|(id, _)| id.clone());
            if let Some(other) = other {
                held.evict(&other);
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
        (held.calls.len(), held.resident)
    }

    /// Asks for due timers as this node, now.
    pub(crate) fn claimant(&self) -> Claimant {
        Claimant { node_id: self.config.node_id.clone(), at: Utc::now() }
    }

    /// Tells the store this node is alive for another lease time. If it had expired meanwhile, other nodes may have
    /// taken its calls: it forgets every lease, and takes each again (or finds it taken) on the call's next change.
    pub(crate) async fn heartbeat(&self, store: &dyn Store) -> Result<(), StoreError> {
        let now = Utc::now();
        let lease = chrono::Duration::from_std(self.config.lease).unwrap_or(chrono::Duration::MAX);
        let node = NodeRecord {
            node_id: self.config.node_id.clone(),
            address: String::new(),
            started_at: self.started_at,
            heartbeat_at: now,
            expires_at: now + lease,
        };
        if !store.heartbeat(node).await? {
            let forgotten = self.forget_all();
            if forgotten > 0 {
                tracing::warn!(node_id = %self.config.node_id, forgotten, "this node's heartbeat had expired: its leases may have been taken over");
            }
        }
        Ok(())
    }

    /// How often to heartbeat: three times per lease time.
    pub(crate) fn heartbeat_interval(&self) -> Duration {
        self.config.lease / 3
    }
}
