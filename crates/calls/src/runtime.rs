//! The runtime around the engine: each change loads a call, applies commands at the clock's time, and commits the
//! new document with the timers and notifications it caused in one store transaction. Timers fire from a worker
//! (real time) or from [`Calls::advance`] (virtual time), one at a time, each at its own due time.

use std::{
    future::Future,
    hash::{DefaultHasher, Hash, Hasher},
    sync::Arc,
    time::Duration,
};

use chrono::{DateTime, Utc};
use switchboard_catalogue::{Permission, Root};
use switchboard_engine::{
    Call, Command, Effect, NotificationKind, Rejection, Timer, handle,
    model::{CallState, Operation},
};
use switchboard_store::{
    CallChange, CallRecord, Lease, NewNotification, OperationRecord, OutboxSignal, Store, StoreError, TimerRecord,
};
use switchboard_wire::Shapes;
use tokio::sync::{Mutex, MutexGuard, Notify};
use uuid::Uuid;

use crate::{
    CallsError,
    activity::{Activity, Happened},
    clock::{ClockError, ClockMode, SimulationClock},
    media::{Media, MediaConfig},
    ownership::{NodeConfig, Ownership},
    render,
    tokens::ConversationTokens,
    world::{World, WorldConfig},
};

/// How many activity entries (requests, changes, deliveries) are kept for watchers …
const ACTIVITY_KEPT: usize = 10_000;
/// At most this many timers a change fires itself (each may arm more); any more are stored and fired as usual.
const TIMERS_FIRED_IN_CHANGE: usize = 16;
/// … holding at most this much (a request's bodies are kept up to 256 KiB each).
const ACTIVITY_BYTES: usize = 32 * 1024 * 1024;

/// What the runtime needs to know about the server it runs in.
#[derive(Debug, Clone)]
pub struct CallsConfig {
    pub world: WorldConfig,
    /// The server's public base URL (`https://127.0.0.1:8443`), for `Location` headers and `@odata.context`.
    pub public_url: String,
    pub media: MediaConfig,
    /// Graph as it behaves or as it is documented, where the two differ (`[fidelity] shapes`).
    pub shapes: Shapes,
    /// Signs the conversation tokens observed shapes put in calls' updates.
    pub conversation_tokens: ConversationTokens,
    /// This node among those sharing the store.
    pub node: NodeConfig,
}

/// The app a Graph request comes from, as authenticated by the HTTP layer.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant_id: Uuid,
    pub app_id: Uuid,
    pub roles: Vec<Permission>,
    /// The request's `scenario-id` header, if it had one.
    pub scenario_id: Option<String>,
    /// The root the request came through, which collections name in their `@odata.context`.
    pub root: Root,
}

impl Caller {
    pub(crate) fn has_any(&self, permissions: &[Permission]) -> bool {
        permissions.iter().any(|p| self.roles.contains(p))
    }

    fn owns(&self, call: &Call) -> bool {
        call.tenant_id == self.tenant_id && call.app_id == self.app_id
    }
}

/// Lock stripes: changes to one call are serialised in this process (its one writer); the store's version check
/// and the call's lease cover the rest. Enough of them that calls seldom share one (64 busy calls on 64 stripes
/// queued behind each other a third of the time).
const STRIPES: usize = 4096;
/// A change that lost a race with another process is recomputed this many times.
const CONFLICT_RETRIES: usize = 3;
/// How many due timers one query fetches.
const TIMER_BATCH: u32 = 64;
/// Where the virtual clock's time is kept between runs.
const VIRTUAL_CLOCK_SETTING: &str = "virtual_clock";
/// The timer worker reads the store's timers at least this often: timers of calls whose lease this node took over
/// (their owner died) are found so, and any wake-up missed.
const TIMER_POLL: Duration = Duration::from_secs(30);

/// Switchboard's calls.
pub struct Calls {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<SimulationClock>,
    pub(crate) config: CallsConfig,
    stripes: Vec<Mutex<()>>,
    /// Signalled after every commit that queued notifications; the dispatcher waits on it.
    outbox: Arc<OutboxSignal>,
    /// Signalled after a commit armed a timer earlier than `next_timer`; the timer worker waits on it.
    timers: Notify,
    /// When this node's next timer is due, as far as it knows without asking the store: the earliest the store had
    /// when the worker last read it, lowered by every commit since that armed one earlier. Never later than the
    /// truth, so the worker reads the store only once a timer has come due (a cancelled timer only makes it early:
    /// the worker then finds nothing). `None`: none known.
    next_timer: std::sync::Mutex<Option<DateTime<Utc>>>,
    /// One sweep of due timers at a time (the worker's and [`Calls::advance`]'s), so no timer fires twice.
    sweeping: Mutex<()>,
    /// Serialises fault bookkeeping (read, decrement, write).
    pub(crate) faults: Mutex<()>,
    /// False once no fault is known to be armed, so requests skip the fault lookup (and its lock) entirely.
    pub(crate) faults_maybe_armed: std::sync::atomic::AtomicBool,
    pub(crate) media: Media,
    activity: Arc<Activity>,
    pub(crate) ownership: Ownership,
}

impl Calls {
    pub fn new(store: Arc<dyn Store>, clock: Arc<SimulationClock>, config: CallsConfig) -> Calls {
        Calls {
            store,
            clock,
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            outbox: Arc::new(OutboxSignal::default()),
            timers: Notify::new(),
            next_timer: std::sync::Mutex::new(None),
            sweeping: Mutex::new(()),
            faults: Mutex::new(()),
            faults_maybe_armed: std::sync::atomic::AtomicBool::new(true),
            media: Media::new(config.media.clone()),
            activity: Arc::new(Activity::new(ACTIVITY_KEPT, ACTIVITY_BYTES)),
            ownership: Ownership::new(config.node.clone()),
            config,
        }
    }

    pub fn clock(&self) -> &SimulationClock {
        &self.clock
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    pub fn media(&self) -> &Media {
        &self.media
    }

    /// What happened lately: requests, changes, deliveries (for the console).
    pub fn activity(&self) -> &Arc<Activity> {
        &self.activity
    }

    pub fn world(&self) -> World<'_> {
        World::new(self.store.as_ref(), &self.config.world)
    }

    pub fn base_url(&self) -> &str {
        self.config.public_url.trim_end_matches('/')
    }

    /// What the notification dispatcher waits on.
    pub fn outbox_signal(&self) -> Arc<OutboxSignal> {
        self.outbox.clone()
    }

    async fn lock(&self, call_id: &str) -> MutexGuard<'_, ()> {
        let mut hasher = DefaultHasher::new();
        call_id.to_ascii_lowercase().hash(&mut hasher);
        let stripe = usize::try_from(hasher.finish() % STRIPES as u64).expect("the stripe index fits a usize");
        self.stripes[stripe].lock().await
    }

    /// The call, if `owner` (when given) may see it. Ended calls are returned too; callers decide. A call this
    /// node owns comes from memory (nobody else changes it); any other is read from the store.
    pub(crate) async fn load(&self, call_id: &str, owner: Option<&Caller>) -> Result<Arc<Call>, CallsError> {
        let call_id = call_id.to_ascii_lowercase();
        let call = match self.ownership.resident(&call_id) {
            Some(call) => call,
            None => Arc::new(self.read(&call_id).await?),
        };
        if owner.is_some_and(|owner| !owner.owns(&call)) {
            return Err(CallsError::CallNotFound { call_id });
        }
        Ok(call)
    }

    /// The call from the store.
    async fn read(&self, call_id: &str) -> Result<Call, CallsError> {
        call_of(&self.stored(call_id).await?)
    }

    /// The call's record in the store.
    async fn stored(&self, call_id: &str) -> Result<CallRecord, CallsError> {
        self.store.call(call_id).await?.ok_or_else(|| CallsError::CallNotFound { call_id: call_id.to_owned() })
    }

    /// The call, to be changed by this node: its own copy taken out of memory when it has one (so it changes it
    /// without copying it), else read from the store; with its operations as they are stored, to tell which ones
    /// the change touches and which it lets go.
    async fn load_to_change(
        &self,
        call_id: &str,
        owner: Option<&Caller>,
    ) -> Result<(Call, Vec<Arc<Operation>>), CallsError> {
        let call_id = call_id.to_ascii_lowercase();
        let (call, stored) = match self.ownership.take_resident(&call_id) {
            Some(call) => {
                let stored = call.operations.clone();
                (call, stored)
            }
            None => {
                let record = self.stored(&call_id).await?;
                let call = call_of(&record)?;
                // Those of its rows; any a document of an earlier schema still held inside it are written out.
                let stored = call
                    .operations
                    .iter()
                    .filter(|operation| record.operations.iter().any(|row| row.operation_id == operation.id))
                    .cloned()
                    .collect();
                (call, stored)
            }
        };
        if owner.is_some_and(|owner| !owner.owns(&call)) {
            self.ownership.restore(Arc::new(call));
            return Err(CallsError::CallNotFound { call_id });
        }
        Ok((call, stored))
    }

    /// Stores a new call after applying `commands` (its start) to it.
    pub(crate) async fn insert(&self, mut call: Call, commands: Vec<Command>) -> Result<Arc<Call>, CallsError> {
        let _guard = self.lock(&call.id).await;
        let now = self.clock.now();
        let mut effects = Vec::new();
        let commands_seen = commands.clone();
        for command in commands {
            effects.extend(handle(&mut call, command, now)?);
        }
        let fired = fire_due_now(&mut call, &mut effects, now);
        let lease = self.ownership.first_lease();
        let change = self.change(&call, &[], lease, None, None, effects, now).await?;
        let call = Arc::new(call);
        self.commit(change, &call, None, &FiredNow::causes(&fired, &commands_seen), now).await?;
        Ok(FiredNow::answer(fired, call))
    }

    /// Applies `commands` to a stored call and commits the result with its effects. All or nothing: the first
    /// command the engine refuses fails the whole change.
    pub(crate) async fn execute(
        &self,
        call_id: &str,
        owner: Option<&Caller>,
        commands: Vec<Command>,
    ) -> Result<Arc<Call>, CallsError> {
        self.execute_fired(call_id, owner, commands, None).await
    }

    async fn execute_fired(
        &self,
        call_id: &str,
        owner: Option<&Caller>,
        commands: Vec<Command>,
        fired: Option<TimerRecord>,
    ) -> Result<Arc<Call>, CallsError> {
        let _guard = self.lock(call_id).await;
        let mut attempt = 0;
        loop {
            let (mut call, stored_operations) = self.load_to_change(call_id, owner).await?;
            let loaded_version = call.version;
            let previous_state = call.state;
            let now = self.clock.now();
            let mut effects = Vec::new();
            let mut refused = None;
            for command in commands.iter().cloned() {
                match handle(&mut call, command, now) {
                    Ok(more) => effects.extend(more),
                    Err(rejection) => {
                        refused = Some(rejection);
                        break;
                    }
                }
            }
            let fired_now = if refused.is_none() { fire_due_now(&mut call, &mut effects, now) } else { None };
            let unchanged = loaded_version == call.version && effects.is_empty();
            if refused.is_some() || unchanged {
                if let Some(fired) = &fired {
                    self.store.delete_timer(fired).await?;
                }
                // Refused, the engine left the call as it was.
                let call = Arc::new(call);
                if !call.is_terminated() {
                    self.ownership.restore(call.clone());
                }
                return match refused {
                    // Anything about an ended call is a 404 (docs:call-keepalive).
                    Some(Rejection::Ended) => Err(CallsError::CallNotFound { call_id: call_id.to_owned() }),
                    Some(rejection) => Err(rejection.into()),
                    None => Ok(call),
                };
            }
            // Only the call's owner changes it: this node, once it holds the lease.
            let Some(lease) = self.ownership.lease(self.store.as_ref(), &call.id).await? else {
                return Err(self.lost(&call.id));
            };
            let expected = i64::try_from(loaded_version).expect("invariant: a call's version fits an i64");
            let change =
                self.change(&call, &stored_operations, lease, Some(expected), fired.clone(), effects, now).await?;
            let call = Arc::new(call);
            let causes = FiredNow::causes(&fired_now, &commands);
            match self.commit(change, &call, Some(previous_state), &causes, now).await {
                // Changed behind this node's back (before it took the lease): read from the store again.
                Err(CallsError::Store(StoreError::Conflict { .. })) if attempt < CONFLICT_RETRIES => attempt += 1,
                // Another node took the call over: what this one computed is gone.
                Err(CallsError::Store(StoreError::Fenced { .. })) => return Err(self.lost(&call.id)),
                Err(error) => return Err(error),
                Ok(()) => return Ok(FiredNow::answer(fired_now, call)),
            }
        }
    }

    /// Commits a change of `call`, then brings its media in line with it and tells watchers.
    async fn commit(
        &self,
        change: CallChange,
        call: &Arc<Call>,
        previous_state: Option<CallState>,
        commands: &[Command],
        now: DateTime<Utc>,
    ) -> Result<(), CallsError> {
        let notifications = change.notifications.len();
        // The change happened when its notifications were queued, so a timeline shows it before them.
        let happened = change.notifications.iter().map(|n| n.queued_at).min().unwrap_or_else(Utc::now);
        let earliest_armed = change.timers.iter().map(|timer| timer.due_at).min();
        let lease = change.lease.clone();
        let queued = self.store.commit_call(change).await?;
        // The owner keeps what it committed; an ended call is changed no more and leaves memory.
        if call.is_terminated() {
            self.ownership.forget(&call.id);
        } else {
            self.ownership.keep(call.clone(), lease);
        }
        self.media.sync(call, now);
        self.activity.record_at(
            happened,
            Some(call.id.clone()),
            Happened::Change {
                version: call.version,
                state: call.state.as_str().to_owned(),
                previous_state: previous_state.filter(|s| *s != call.state).map(|s| s.as_str().to_owned()),
                cause: describe(commands),
                notifications,
                sim_time: now,
            },
        );
        self.outbox.committed(queued);
        if let Some(at) = earliest_armed {
            self.timer_armed(at);
        }
        Ok(())
    }

    /// Turns the engine's effects into the rows of one transaction: the call, the operations it started or changed
    /// since `stored_operations` (an operation the engine changed is a new `Arc`), the timers and notifications.
    #[allow(clippy::too_many_arguments)]
    async fn change(
        &self,
        call: &Call,
        stored_operations: &[Arc<Operation>],
        lease: Lease,
        expected_version: Option<i64>,
        fired: Option<TimerRecord>,
        effects: Vec<Effect>,
        now: DateTime<Utc>,
    ) -> Result<CallChange, CallsError> {
        let mut webhook: Option<Option<String>> = None;
        let mut siblings: Option<Vec<String>> = None;
        let mut timers = Vec::new();
        let mut cancelled_timers = Vec::new();
        let mut notifications = Vec::new();
        for effect in effects {
            match effect {
                Effect::Schedule { call_id, timer, at } => {
                    timers.push(TimerRecord { call_id, key: timer.key(), due_at: at });
                }
                Effect::Cancel { timer } => cancelled_timers.push(timer.key()),
                Effect::Broadcast(event) => {
                    if siblings.is_none() {
                        siblings = Some(self.meeting_siblings(call).await?);
                    }
                    for sibling in siblings.iter().flatten() {
                        // Each event is a timer of its own, due at once, committed with this change.
                        let id = format!("{}:{}:{}", call.id, call.version, timers.len());
                        let timer = Timer::RosterSync { id, event: event.clone() };
                        timers.push(TimerRecord { call_id: sibling.clone(), key: timer.key(), due_at: now });
                    }
                }
                Effect::Notify(notification) => {
                    let url = match &notification.call.callback_uri {
                        Some(url) => Some(url.clone()),
                        None => match &webhook {
                            Some(known) => known.clone(),
                            None => {
                                let app = self.store.application(call.app_id).await?;
                                let found = app.and_then(|a| a.calling_webhook);
                                webhook = Some(found.clone());
                                found
                            }
                        },
                    };
                    let rendered = render::notification(
                        &notification,
                        url.as_deref().unwrap_or_default(),
                        self.config.shapes,
                        &self.config.conversation_tokens,
                    );
                    let Some(body) = rendered else { continue };
                    // Calls stored before scenario ids existed use their chain id.
                    let scenario_id = if call.scenario_id.is_empty() { &call.call_chain_id } else { &call.scenario_id };
                    notifications.push(NewNotification {
                        // Time-ordered (v7), so the outbox's unique index on it grows at its end instead of at a
                        // random page per notification (BENCHMARKS.md); still a GUID, as Graph's are.
                        message_id: Uuid::now_v7(),
                        call_id: call.id.clone(),
                        tenant_id: call.tenant_id,
                        app_id: call.app_id,
                        url,
                        body: body.to_string(),
                        chain_id: call.call_chain_id.clone(),
                        scenario_id: scenario_id.clone(),
                        raised_at: now,
                        // Delivery runs on the wall clock, whatever the simulation's clock says.
                        queued_at: Utc::now(),
                        offer: matches!(notification.kind, NotificationKind::Incoming),
                    });
                }
            }
        }
        let record = CallRecord {
            call_id: call.id.clone(),
            tenant_id: call.tenant_id,
            app_id: call.app_id,
            state: call.state.as_str().to_owned(),
            version: i64::try_from(call.version).expect("invariant: a call's version fits an i64"),
            document: serde_json::to_string(call).expect("a call document is plain data and always serialises"),
            operations: call
                .operations
                .iter()
                .filter(|operation| !stored_operations.iter().any(|stored| Arc::ptr_eq(stored, operation)))
                .map(|operation| OperationRecord {
                    operation_id: operation.id.clone(),
                    document: serde_json::to_string(operation)
                        .expect("an operation is plain data and always serialises"),
                })
                .collect(),
            created_at: call.created_at,
            updated_at: call.updated_at,
            ended_at: call.is_terminated().then_some(now),
        };
        let forgotten_operations = stored_operations
            .iter()
            .filter(|stored| !call.operations.iter().any(|operation| operation.id == stored.id))
            .map(|stored| stored.id.clone())
            .collect();
        Ok(CallChange {
            call: record,
            lease,
            expected_version,
            fired,
            timers,
            cancelled_timers,
            forgotten_operations,
            notifications,
        })
    }

    /// The other active calls in the same meeting as `call` (other bots, or the same bot joined twice).
    async fn meeting_siblings(&self, call: &Call) -> Result<Vec<String>, CallsError> {
        let Some(meeting_id) = call.meeting_id() else { return Ok(Vec::new()) };
        let calls = self.meeting_calls(call.tenant_id, meeting_id).await?;
        Ok(calls.into_iter().filter(|other| other.id != call.id).map(|other| other.id).collect())
    }

    /// The active calls of bots in a meeting.
    pub(crate) async fn meeting_calls(&self, tenant_id: Uuid, meeting_id: &str) -> Result<Vec<Call>, CallsError> {
        let filter = switchboard_store::CallFilter {
            tenant_id: Some(tenant_id),
            active_only: true,
            limit: u32::MAX,
            ..switchboard_store::CallFilter::default()
        };
        let mut calls = Vec::new();
        for record in self.store.calls(filter).await? {
            let call = call_of(&record)?;
            if call.meeting_id() == Some(meeting_id) {
                calls.push(call);
            }
        }
        Ok(calls)
    }

    // ---- ownership ------------------------------------------------------------------------------------------------

    /// Registers this node with the store (its first heartbeat): before it serves, so its calls' timers and leases
    /// are its own from the start. Also a heartbeat of a node back after its heartbeat lapsed (a test's, say): it
    /// keeps mixing only the conferences of calls it can still hold.
    pub async fn register_node(&self) -> Result<(), CallsError> {
        if self.ownership.heartbeat(self.store.as_ref()).await? {
            self.keep_media_of_calls_still_held().await?;
        }
        Ok(())
    }

    /// After this node's heartbeat had lapsed (other nodes may have taken its calls): each call whose conference it
    /// mixes is taken again, or, taken by another node, its media is let go.
    async fn keep_media_of_calls_still_held(&self) -> Result<(), CallsError> {
        for call_id in self.media.conference_ids() {
            if self.ownership.lease(self.store.as_ref(), &call_id).await?.is_none() {
                self.lost(&call_id);
            }
        }
        Ok(())
    }

    /// Another node owns `call_id` now: this one forgets its lease and stops mixing its media.
    fn lost(&self, call_id: &str) -> CallsError {
        self.ownership.forget(call_id);
        self.media.release(call_id);
        CallsError::OwnedElsewhere { call_id: call_id.to_owned() }
    }

    /// Heartbeats until `shutdown`, three times per lease time; a failed heartbeat is retried at the next. When one
    /// finds the heartbeat had lapsed, the conferences are checked beside the loop (one lease each: with many calls
    /// longer than a lease time, which must not hold up the next heartbeat), and that check is stopped on shutdown.
    pub async fn run_ownership(self: Arc<Self>, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut checking: Option<tokio::task::JoinHandle<()>> = None;
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(self.ownership.heartbeat_interval()) => {}
            }
            match self.ownership.heartbeat(self.store.as_ref()).await {
                Ok(false) => {}
                Ok(true) if checking.as_ref().is_some_and(|check| !check.is_finished()) => {}
                Ok(true) => {
                    let calls = self.clone();
                    checking = Some(tokio::spawn(async move {
                        if let Err(error) = calls.keep_media_of_calls_still_held().await {
                            tracing::error!(%error, "checking which calls' media this node still mixes failed");
                        }
                    }));
                }
                Err(error) => {
                    tracing::error!(%error, "the node's heartbeat failed; its leases expire unless the next one succeeds");
                }
            }
        }
        if let Some(check) = checking {
            check.abort();
        }
    }

    /// How many live calls this node holds the lease of, and how many of those it keeps in memory.
    pub fn owned_calls(&self) -> (usize, usize) {
        self.ownership.counts()
    }

    /// How many calls' conferences this node runs (their media is mixed here).
    pub fn conferences(&self) -> usize {
        self.media.conferences()
    }

    // ---- timers ---------------------------------------------------------------------------------------------------

    /// Fires due timers until `shutdown`: in real time when they come due, in virtual time those due by the clock's
    /// "now" (armed for no delay), whenever a commit arms one or the clock changes.
    pub async fn run_timers(self: Arc<Self>, shutdown: impl Future<Output = ()>) {
        let mut clock_changes = self.clock.changes();
        tokio::pin!(shutdown);
        let mut read_store = true;
        loop {
            let (wait, polls) = match self.sweep(read_store).await {
                Ok(next) => (next.unwrap_or(TIMER_POLL).min(TIMER_POLL), next.is_none_or(|next| next >= TIMER_POLL)),
                Err(error) => {
                    tracing::error!(%error, "firing due timers failed; retrying shortly");
                    (Duration::from_secs(1), true)
                }
            };
            read_store = tokio::select! {
                () = &mut shutdown => return,
                () = self.timers.notified() => false,
                _ = clock_changes.changed() => true,
                () = tokio::time::sleep(wait) => polls,
            };
        }
    }

    /// A commit armed a timer due `at`: the worker is woken if that is earlier than any it knows of.
    fn timer_armed(&self, at: DateTime<Utc>) {
        let mut next = self.next_timer.lock().expect("invariant: nothing panics while holding next_timer");
        if next.is_none_or(|next| at < next) || self.clock.mode() == ClockMode::Virtual {
            *next = Some(next.map_or(at, |next| next.min(at)));
            self.timers.notify_one();
        }
    }

    /// Fires every timer due now; returns how long until the next one, in real time. Unless `read_store`, in real
    /// time it asks the store only if `next_timer` says one has come due.
    async fn sweep(&self, read_store: bool) -> Result<Option<Duration>, CallsError> {
        let _sweeping = self.sweeping.lock().await;
        let virtual_time = self.clock.mode() == ClockMode::Virtual;
        {
            let mut next = self.next_timer.lock().expect("invariant: nothing panics while holding next_timer");
            if !read_store && !virtual_time {
                let now = self.clock.now();
                match *next {
                    None => return Ok(None),
                    Some(due) if due > now => return Ok(Some((due - now).to_std().unwrap_or_default())),
                    Some(_) => {}
                }
            }
            // From here on, commits that arm a timer say so here; those before are in what the store gives below.
            *next = None;
        }
        loop {
            let now = self.clock.now();
            let due = self.store.due_timers(now, TIMER_BATCH, &self.ownership.claimant()).await?;
            if due.is_empty() {
                break;
            }
            for timer in due {
                self.fire(timer).await?;
            }
        }
        if virtual_time {
            return Ok(None);
        }
        let stored = self.store.next_timer_due(&self.ownership.claimant()).await?;
        let mut next = self.next_timer.lock().expect("invariant: nothing panics while holding next_timer");
        *next = match (*next, stored) {
            (Some(armed), Some(stored)) => Some(armed.min(stored)),
            (armed, stored) => armed.or(stored),
        };
        Ok(next.map(|due| (due - self.clock.now()).to_std().unwrap_or_default()))
    }

    /// At start-up, a virtual clock continues from where it was: never before the time it had reached when the
    /// server stopped, so calls and timers keep their order across restarts.
    pub async fn restore_clock(&self) -> Result<(), CallsError> {
        if self.clock.mode() != ClockMode::Virtual {
            return Ok(());
        }
        let saved = self.store.setting(VIRTUAL_CLOCK_SETTING).await?;
        let saved = saved.and_then(|text| DateTime::parse_from_rfc3339(&text).ok()).map(|t| t.with_timezone(&Utc));
        if let Some(saved) = saved.filter(|saved| *saved > self.clock.now()) {
            self.clock.move_to(saved)?;
        }
        Ok(())
    }

    async fn save_clock(&self) -> Result<(), CallsError> {
        let now = self.clock.now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        Ok(self.store.put_setting(VIRTUAL_CLOCK_SETTING, &now).await?)
    }

    /// Moves a virtual clock forward by `by`, firing each timer that comes due on the way at its own time.
    pub async fn advance(&self, by: Duration) -> Result<DateTime<Utc>, CallsError> {
        if self.clock.mode() != ClockMode::Virtual {
            return Err(ClockError::Realtime.into());
        }
        let _sweeping = self.sweeping.lock().await;
        let target = self.clock.now()
            + chrono::Duration::from_std(by).map_err(|_| CallsError::Invalid(format!("{by:?} is too far ahead")))?;
        // Timers and media frames in time order: the media runs up to the next timer (stopping where something
        // happened in it), then the timer fires. Media being fetched takes no virtual time.
        loop {
            self.media.settled().await;
            let timer = self.store.due_timers(target, 1, &self.ownership.claimant()).await?.pop();
            let horizon = timer.as_ref().map_or(target, |t| t.due_at.max(self.clock.now()));
            let happenings = self.media.run_until(horizon);
            if !happenings.is_empty() {
                for happening in happenings {
                    self.clock.move_to(happening.at.max(self.clock.now()))?;
                    self.media_event(happening).await?;
                }
                continue;
            }
            let Some(timer) = timer else { break };
            self.clock.move_to(timer.due_at.max(self.clock.now()))?;
            self.fire(timer).await?;
        }
        self.clock.move_to(target)?;
        self.save_clock().await?;
        self.drop_expired_recordings().await?;
        Ok(target)
    }

    /// Switches the clock between real and virtual time.
    pub async fn set_clock_mode(&self, mode: ClockMode) {
        let _sweeping = self.sweeping.lock().await;
        self.clock.set_mode(mode);
    }

    async fn fire(&self, record: TimerRecord) -> Result<(), CallsError> {
        let timer = match Timer::from_key(&record.key) {
            Ok(timer) => timer,
            Err(error) => {
                tracing::error!(call_id = %record.call_id, key = %record.key, %error, "dropping a timer this build cannot read");
                return Ok(self.store.delete_timer(&record).await?);
            }
        };
        let call_id = record.call_id.clone();
        match self.execute_fired(&call_id, None, vec![Command::Timer(timer)], Some(record.clone())).await {
            // A call another node took over meanwhile: its timers are that node's to fire.
            Ok(_) | Err(CallsError::Rejected(_) | CallsError::OwnedElsewhere { .. }) => Ok(()),
            Err(CallsError::CallNotFound { .. } | CallsError::Corrupt { .. }) => {
                tracing::warn!(%call_id, key = %record.key, "dropping a timer of a call that is gone or unreadable");
                Ok(self.store.delete_timer(&record).await?)
            }
            Err(error) => Err(error),
        }
    }
}

/// The call a stored record holds, if this build can read it: a document of an earlier schema is upgraded as it is
/// read (and written back upgraded with the call's next change); one of a newer schema is refused rather than read
/// with what this build does not know about it dropped (and then written back without it).
pub(crate) fn call_of(record: &CallRecord) -> Result<Call, CallsError> {
    let corrupt = |error: String| CallsError::Corrupt { call_id: record.call_id.clone(), error };
    let mut call = document_of(record).map_err(corrupt)?;
    for operation in &record.operations {
        let parsed = serde_json::from_str(&operation.document)
            .map_err(|e| corrupt(format!("its operation {}: {e}", operation.operation_id)))?;
        call.operations.push(Arc::new(parsed));
    }
    Ok(call)
}

/// The call a stored document holds, without the operations stored beside it.
fn document_of(record: &CallRecord) -> Result<Call, String> {
    use switchboard_engine::model::{SCHEMA_VERSION, upgrade};
    let newer = |version: u64| {
        format!(
            "its document has schema {version}, and this build knows {SCHEMA_VERSION}: a newer Switchboard wrote it"
        )
    };
    // Documents of this build's schema, nearly all of them, are parsed once.
    let unreadable = match serde_json::from_str::<Call>(&record.document) {
        Ok(call) if call.schema_version > SCHEMA_VERSION => return Err(newer(call.schema_version.into())),
        Ok(call) => return Ok(call),
        Err(error) => error,
    };
    let mut document: serde_json::Value = serde_json::from_str(&record.document).map_err(|e| e.to_string())?;
    match document.get("schemaVersion").and_then(serde_json::Value::as_u64).unwrap_or(1) {
        version if version > u64::from(SCHEMA_VERSION) => Err(newer(version)),
        version if version < u64::from(SCHEMA_VERSION) => {
            upgrade(&mut document);
            serde_json::from_value(document).map_err(|e| format!("upgrading it from schema {version}: {e}"))
        }
        _ => Err(unreadable.to_string()),
    }
}

/// The commands of a change, briefly (their debug form, each cut to a line's length).
fn describe(commands: &[Command]) -> String {
    const LONGEST: usize = 160;
    let described: Vec<String> = commands
        .iter()
        .map(|command| {
            let text = format!("{command:?}");
            match text.char_indices().nth(LONGEST) {
                Some((cut, _)) => format!("{}…", &text[..cut]),
                None => text,
            }
        })
        .collect();
    described.join("; ")
}

/// Fires, in the change that armed them, the timers `effects` arm for `call` due at once — a simulated person who
/// answers at once, an operation Graph completes right after accepting it, an invitee who cannot be reached —
/// instead of storing each as a timer row that a sweep reads back and fires in a transaction of its own. What they
/// do commits with what armed them, their notifications after its own. `None` when none fired.
fn fire_due_now(call: &mut Call, effects: &mut Vec<Effect>, now: DateTime<Utc>) -> Option<FiredNow> {
    let mut accepted = None;
    let mut timers = Vec::new();
    for _ in 0..TIMERS_FIRED_IN_CHANGE {
        let due = effects
            .iter()
            .position(|e| matches!(e, Effect::Schedule { call_id, at, .. } if *call_id == call.id && *at <= now));
        let Some(index) = due else { break };
        let Effect::Schedule { timer, .. } = effects.remove(index) else {
            unreachable!("invariant: the position found is a schedule")
        };
        // Firing now, it is armed no longer: any other arming of it in this change goes too.
        effects
            .retain(|e| !matches!(e, Effect::Schedule { call_id, timer: t, .. } if *call_id == call.id && *t == timer));
        accepted.get_or_insert_with(|| call.clone());
        // A timer is never refused (one that no longer applies does nothing).
        effects
            .extend(handle(call, Command::Timer(timer.clone()), now).expect("invariant: the engine refuses no timer"));
        timers.push(timer);
    }
    // An arming stored by an earlier change is moot too — unless the timer armed itself again as it fired (the store
    // applies a change's cancels after its armings).
    for timer in &timers {
        let armed_again = effects
            .iter()
            .any(|e| matches!(e, Effect::Schedule { call_id, timer: t, .. } if *call_id == call.id && t == timer));
        if !armed_again {
            effects.push(Effect::Cancel { timer: timer.clone() });
        }
    }
    Some(FiredNow { accepted: accepted?, timers })
}

/// The timers a change fired itself ([`fire_due_now`]).
struct FiredNow {
    /// The call as the change's own commands left it, before the timers fired: what the request is answered with
    /// (the operation `running`, the call `establishing`), as Graph answers before it gets on with it.
    accepted: Call,
    timers: Vec<Timer>,
}

impl FiredNow {
    /// What caused the change, for the activity feed: its commands, then the timers it fired (copied only then).
    fn causes<'a>(fired: &Option<FiredNow>, commands: &'a [Command]) -> std::borrow::Cow<'a, [Command]> {
        match fired {
            None => std::borrow::Cow::Borrowed(commands),
            Some(fired) => {
                let timers = fired.timers.iter().cloned().map(Command::Timer);
                std::borrow::Cow::Owned(commands.iter().cloned().chain(timers).collect())
            }
        }
    }

    fn answer(fired: Option<FiredNow>, committed: Arc<Call>) -> Arc<Call> {
        fired.map_or(committed, |f| Arc::new(f.accepted))
    }
}
