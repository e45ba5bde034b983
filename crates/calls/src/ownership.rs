//! This node's ownership of calls (ARCHITECTURE.md, "Ownership"): each call is changed by the one node holding its
//! lease, and every change carries the lease's epoch, which the store checks (fencing). A node keeps its leases by
//! heartbeating; one that misses its heartbeats for the lease time may find its calls taken over, and its changes
//! refused. Leases are on the wall clock, whatever the simulation's clock says.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use chrono::{DateTime, Utc};
use switchboard_store::{Claimant, Lease, NodeRecord, Store, StoreError};

/// Who this node is among those sharing a store, and how long it owns calls without a heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeConfig {
    pub node_id: String,
    pub lease: Duration,
}

/// The leases this node holds, by call id. Only calls that are live and were changed here are in it.
pub(crate) struct Ownership {
    config: NodeConfig,
    started_at: DateTime<Utc>,
    held: Mutex<HashMap<String, Lease>>,
}

impl Ownership {
    pub(crate) fn new(config: NodeConfig) -> Ownership {
        Ownership { config, started_at: Utc::now(), held: Mutex::new(HashMap::new()) }
    }

    pub(crate) fn node_id(&self) -> &str {
        &self.config.node_id
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<String, Lease>> {
        self.held.lock().expect("invariant: nothing panics holding the lease map")
    }

    /// The lease of a new call, which its first commit writes.
    pub(crate) fn first_lease(&self) -> Lease {
        Lease { node_id: self.config.node_id.clone(), epoch: 1 }
    }

    /// The lease this node holds on `call_id`, taking it from the store when it holds none; `None` when another
    /// live node holds it (or the call is not stored).
    pub(crate) async fn lease(&self, store: &dyn Store, call_id: &str) -> Result<Option<Lease>, StoreError> {
        if let Some(lease) = self.held().get(call_id) {
            return Ok(Some(lease.clone()));
        }
        let lease = store.acquire_call(call_id, &self.config.node_id, Utc::now()).await?;
        if let Some(lease) = &lease {
            self.held().insert(call_id.to_owned(), lease.clone());
        }
        Ok(lease)
    }

    /// Keeps `lease` for `call_id` (after the commit that created the call).
    pub(crate) fn keep(&self, call_id: &str, lease: Lease) {
        self.held().insert(call_id.to_owned(), lease);
    }

    /// Forgets the lease of a call that ended (nothing changes it any more) or that this node lost.
    pub(crate) fn forget(&self, call_id: &str) {
        self.held().remove(call_id);
    }

    pub(crate) fn held_count(&self) -> usize {
        self.held().len()
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
            let forgotten = std::mem::take(&mut *self.held()).len();
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
