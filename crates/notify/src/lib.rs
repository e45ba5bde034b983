//! Delivers notifications from the store's outbox to bots, the way Graph posts `commsNotifications`
//! (graph-calls.md §c), and better: signed with a token the bot can validate against Switchboard's notification keys;
//! one call's notifications strictly in the order they were raised while different calls proceed in parallel (with a
//! bounded number of connections per receiving host, kept alive, HTTP/2 where the receiver offers it); retried with
//! backoff and jitter on timeouts, connection errors, 408, 429 (honouring `Retry-After`) and 5xx, up to an attempt
//! limit and a time horizon; dead-lettered on any other answer or when retries run out, to be replayed later. Every
//! attempt is journaled. Delivery is at least once: a crash after a POST and before its journal entry sends the
//! notification again after the restart, with the same `X-Microsoft-Skype-Message-ID`.

mod disorder;
mod policy;
mod post;
mod slots;
pub mod telemetry;

use std::{
    collections::{HashMap, HashSet},
    future::Future,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
pub use disorder::{DeliveryControls, Disorder, DisorderError};
use policy::{Answer, RetryPolicy};
pub use post::Destinations;
use post::{Envelope, NotSent};
use slots::{Claim, SlotBook};
use switchboard_identity::Identity;
use switchboard_store::{AttemptOutcome, DeliveryAttempt, NotificationRecord, OutboxSignal, Store, StoreError};
use switchboard_wire::Shapes;
use tokio::{sync::Semaphore, task::JoinSet};
use uuid::Uuid;

/// How the dispatcher delivers.
#[derive(Debug, Clone)]
pub struct DispatcherConfig {
    /// How long one POST may take, connection and answer included.
    pub timeout: Duration,
    /// The wait after the first failed attempt; it doubles after each further one, up to `max_backoff`.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Attempts per round (from queueing, or from a replay) before a notification is dead-lettered.
    pub max_attempts: u32,
    /// No retry is scheduled later than this after the round started; the notification is dead-lettered instead.
    pub retry_horizon: Duration,
    /// Calls whose notifications are being delivered at once.
    pub concurrency: usize,
    /// Connections open at once to one receiving host (and port).
    pub connections_per_host: usize,
    /// Up to this many queued notifications of a call go in one POST; 1 sends each on its own, as Graph does.
    pub batch_size: u32,
    /// Delivered and dead-lettered notifications are kept in the journal this long …
    pub journal_retention: Duration,
    /// … and at most this many of them.
    pub journal_max_entries: u64,
    /// Certificates (PEM) to trust for HTTPS receivers, besides the system's.
    pub extra_roots: Vec<Vec<u8>>,
    /// Where notifications may be posted.
    pub destinations: Destinations,
    /// Headers as live Graph sends them, or as documented.
    pub shapes: Shapes,
    /// How long a notification that cannot be delivered holds its call's later ones back; after it, it is set aside
    /// (retried on its own) and they go out, the `switchboard-sequence` header showing the gap.
    pub max_hold_back: Duration,
}

impl Default for DispatcherConfig {
    fn default() -> DispatcherConfig {
        DispatcherConfig {
            timeout: Duration::from_secs(5),
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            max_attempts: 20,
            retry_horizon: Duration::from_secs(3600),
            // One receiving host gets every delivery slot but a reserve as large as its connections: with 64 and 8,
            // 56 — fewer than the calls of one busy bot, and deliveries fell behind 2,500 operations/s; with 128
            // and 32 they kept up (BENCHMARKS.md, "Notifications handed to the dispatcher in memory").
            concurrency: 128,
            connections_per_host: 32,
            batch_size: 1,
            journal_retention: Duration::from_secs(7 * 24 * 3600),
            journal_max_entries: 100_000,
            extra_roots: Vec::new(),
            destinations: Destinations {
                addresses: switchboard_egress::AddressPolicy::public_and(Vec::new()),
                loopback_http: false,
            },
            shapes: Shapes::default(),
            max_hold_back: Duration::from_secs(5),
        }
    }
}

/// The dispatcher looks at the outbox at least this often, in case a wake-up was missed.
const POLL: Duration = Duration::from_secs(30);
/// How many of a call's due notifications one delivery task takes (sent in order, in batches of `batch_size`).
const PREFETCH: u32 = 32;
/// How many calls with something due are read per free delivery slot, so busy receivers can be passed over.
const CANDIDATES_PER_SLOT: usize = 4;
/// How many calls passed over for want of a slot are remembered by name.
const MISSED_LISTED: usize = 64;
/// How many calls' delivered notifications are remembered (`NextLook::settled`); past it they are forgotten, and
/// the calls' next notifications are read from the outbox once.
const SETTLED_REMEMBERED: usize = 200_000;
/// How many handed-over notifications wait in memory at most (for their call's delivery, or a slot); past it, their
/// calls are read from the outbox, which has them all.
const HELD_IN_MEMORY: usize = 8192;
/// How often the journal is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// How long a notification token is reused; far inside its lifetime, so a bot never sees one close to expiry.
const TOKEN_REUSE: Duration = Duration::from_secs(300);
/// An answer slower than this marks its receiver as struggling (as errors and timeouts do).
const SLOW_ANSWER: Duration = Duration::from_secs(1);
/// How long a delivery task keeps trying to journal an attempt the store refused (a full disk, say) before it lets
/// the notification go out again; the first retry waits `JOURNAL_RETRY`, doubling up to `JOURNAL_RETRY_MAX`.
const JOURNAL_PATIENCE: Duration = Duration::from_secs(10);
const JOURNAL_RETRY: Duration = Duration::from_millis(100);
const JOURNAL_RETRY_MAX: Duration = Duration::from_secs(2);

pub struct Dispatcher {
    store: Arc<dyn Store>,
    identity: Arc<Identity>,
    client: reqwest::Client,
    wake: Arc<OutboxSignal>,
    config: DispatcherConfig,
    policy: RetryPolicy,
    controls: DeliveryControls,
    /// Per receiving host, the POSTs it may have at once (`connections_per_host`).
    connections: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// The delivery slots: which deliveries may start (the pure part, `slots.rs`).
    slots: Arc<Mutex<SlotBook>>,
    /// A delivery under way gave its answering slot back (the loop learns of tasks that end by itself).
    slots_freed: AtomicBool,
    /// The notification token of each app, reused while it is fresh: signing one costs more than the POST.
    tokens: Mutex<HashMap<(Uuid, Uuid), (String, Instant)>>,
    /// Told of every attempt once it is journaled (the console's live view).
    observer: Option<AttemptObserver>,
}

/// What a delivery task holds while it delivers one call's notifications: its claim on the slot book, given back
/// when the task ends, and its receiver's connection slots (a POST waits for one).
struct Slots {
    book: Arc<Mutex<SlotBook>>,
    claim: Mutex<Claim>,
    connections: Option<Arc<Semaphore>>,
}

impl Slots {
    fn book(&self) -> std::sync::MutexGuard<'_, SlotBook> {
        self.book.lock().expect("invariant: nothing panics while holding the slot book")
    }

    fn claim(&self) -> std::sync::MutexGuard<'_, Claim> {
        self.claim.lock().expect("invariant: nothing panics while holding a claim")
    }

    /// The receiver struggles; true if an answering slot was given back.
    fn struggling(&self) -> bool {
        self.book().struggles(&mut self.claim())
    }

    fn answering(&self) {
        self.book().answers(&self.claim());
    }
}

impl Drop for Slots {
    fn drop(&mut self) {
        let claim = std::mem::take(self.claim.get_mut().expect("invariant: nothing panics while holding a claim"));
        self.book().release(claim);
    }
}

/// What the dispatcher's next look at the outbox covers.
#[derive(Default)]
struct NextLook {
    /// The whole outbox.
    everything: bool,
    /// The calls whose retries came due; and when the next one will, read after the look.
    retries: bool,
    /// These calls: they got notifications, or their delivery ended with more to send.
    calls: HashSet<String>,
    /// Calls that got notifications while their delivery was under way: looked at once it ends.
    after_delivery: HashSet<String>,
    /// What a look found due but could not start for want of a slot: looked at again when one frees up.
    missed: Missed,
    /// Notifications the runtime handed over as it committed them, per call, in order: delivered from memory when
    /// nothing of the call can be pending before them (`deliverable_from_memory`), else their call is read from the outbox.
    handed: HashMap<String, Vec<NotificationRecord>>,
    /// How many notifications `handed` holds.
    held: usize,
    /// Per call, the number (`call_sequence`) of its last notification known to be finished, with every one before
    /// it finished or set aside (set-aside ones retry on their own and hold nothing back).
    settled: HashMap<String, i64>,
    /// Per call, the highest `seq` read from the outbox since it last went from memory: a handed notification at or
    /// below it may have been read (and delivered, or found waiting for its retry) already, so its call is read from
    /// the outbox again rather than risk sending it twice or early.
    read: HashMap<String, i64>,
    /// The same for every call not in `read` (past `SETTLED_REMEMBERED` calls, they share one figure).
    read_floor: i64,
    /// Counts the times `settled` was forgotten (a replay makes finished notifications pending again): a delivery
    /// that started before does not settle anything.
    forgotten: u64,
}

#[derive(Default)]
struct Missed {
    everything: bool,
    retries: bool,
    calls: HashSet<String>,
}

impl NextLook {
    fn waiting_for_slots(&self) -> bool {
        self.missed.everything || self.missed.retries || !self.missed.calls.is_empty()
    }

    /// Sorts the handed notifications of calls with no delivery under way: those that can go from memory are
    /// returned, one run per call; the calls of the others are to be read from the outbox.
    fn deliverable_from_memory(&mut self, busy: &HashSet<String>, in_order: bool) -> Vec<Vec<NotificationRecord>> {
        let mut ready = Vec::new();
        let idle: Vec<_> = self.handed.extract_if(|call_id, _| !busy.contains(call_id)).collect();
        for (call_id, mut records) in idle {
            self.held -= records.len();
            let settled = self.settled.get(&call_id).copied();
            // Already delivered from the outbox (read there before the hand-over was taken).
            records.retain(|record| settled.is_none_or(|through| record.call_sequence > through));
            let Some(head) = records.first() else { continue };
            // Nothing can be pending before the first: the one before it is settled, or it is the call's first.
            let follows = settled.map_or(head.call_sequence == 1, |through| head.call_sequence == through + 1);
            let contiguous = records.windows(2).all(|pair| pair[1].call_sequence == pair[0].call_sequence + 1);
            let unread = head.seq > self.read_floor && self.read.get(&call_id).is_none_or(|read| head.seq > *read);
            if in_order && follows && contiguous && unread && !self.calls.contains(&call_id) {
                self.read.remove(&call_id);
                ready.push(records);
            } else {
                self.calls.insert(call_id);
            }
        }
        ready
    }

    /// `records` were read from the outbox.
    fn read_from_outbox(&mut self, records: &[NotificationRecord]) {
        for record in records {
            let read = self.read.entry(record.notification.call_id.clone()).or_insert(record.seq);
            *read = (*read).max(record.seq);
        }
        if self.read.len() > SETTLED_REMEMBERED {
            self.read_floor = self.read.drain().map(|(_, seq)| seq).fold(self.read_floor, i64::max);
        }
    }

    /// Anything in the outbox may have changed (a replay): no call is known to be settled.
    fn forget_settled(&mut self) {
        self.settled.clear();
        self.forgotten += 1;
    }

    /// A notification the runtime handed over, for a call whose delivery may be under way (`busy`).
    fn hand(&mut self, record: NotificationRecord, busy: &HashSet<String>) {
        let call_id = &record.notification.call_id;
        if self.held >= HELD_IN_MEMORY {
            let later = if busy.contains(call_id) { &mut self.after_delivery } else { &mut self.calls };
            later.insert(call_id.clone());
            return;
        }
        self.held += 1;
        self.handed.entry(call_id.clone()).or_default().push(record);
    }

    /// Handed-over notifications that could not start for want of a slot: they wait in memory for one.
    fn hand_back(&mut self, records: Vec<NotificationRecord>) {
        self.held += records.len();
        let call_id = records[0].notification.call_id.clone();
        let handed = self.handed.entry(call_id).or_default();
        let later = std::mem::replace(handed, records);
        handed.extend(later);
    }

    /// A call's delivery, started when `forgotten` was `since`, ended: how far its notifications are settled, if it
    /// knows.
    fn delivered(&mut self, call_id: &str, settled_through: Option<i64>, since: u64) {
        match settled_through.filter(|_| since == self.forgotten) {
            Some(through) => {
                if self.settled.len() >= SETTLED_REMEMBERED && !self.settled.contains_key(call_id) {
                    self.forget_settled();
                    return;
                }
                let settled = self.settled.entry(call_id.to_owned()).or_insert(through);
                *settled = (*settled).max(through);
            }
            None => {
                self.settled.remove(call_id);
            }
        }
    }

    /// A slot came free: what was missed is looked at again.
    fn slots_freed(&mut self) {
        let missed = std::mem::take(&mut self.missed);
        self.everything |= missed.everything;
        self.retries |= missed.retries;
        self.calls.extend(missed.calls);
    }
}

/// One POST's attempt as the journal keeps it (its outcome still to be decided), the receiver's `Retry-After`, and
/// whether the destination was one notifications may not go to (no use trying again).
struct Posted {
    attempt: DeliveryAttempt,
    retry_after: Option<Duration>,
    forbidden: bool,
}

/// How a call's delivery task ended.
struct Ended {
    call_id: String,
    delivery: CallDelivery,
    /// `NextLook::forgotten` when it started.
    since: u64,
}

/// How the delivery of a call's notifications went.
struct CallDelivery {
    /// The call may have more notifications due now.
    more: bool,
    /// A notification of the call waits for a retry at this time.
    retry_at: Option<DateTime<Utc>>,
    /// Every notification of the call up to this number is finished or set aside (`NextLook::settled`); `None`
    /// when that is not known.
    settled_through: Option<i64>,
}

/// How one attempt at a batch ended, for the rest of the call's delivery.
enum Sent {
    Delivered,
    /// The call's next notifications may go on.
    DeadLettered,
    /// The call's next notifications wait behind this one.
    RetryAt(DateTime<Utc>),
    /// Retried then on its own: the call's next notifications may go on.
    SetAside(DateTime<Utc>),
}

/// Watches delivery attempts: the notifications a POST carried and how it went.
pub type AttemptObserver = Arc<dyn Fn(&[NotificationRecord], &DeliveryAttempt) + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the notification HTTP client cannot be built: {0}")]
    Build(reqwest::Error),
    #[error("a certificate to trust for receivers is not valid PEM: {0}")]
    Certificate(reqwest::Error),
}

impl Dispatcher {
    /// A dispatcher over `store`'s outbox, woken by `wake` whenever a change queues notifications.
    pub fn new(
        store: Arc<dyn Store>,
        identity: Arc<Identity>,
        wake: Arc<OutboxSignal>,
        config: DispatcherConfig,
        controls: DeliveryControls,
    ) -> Result<Dispatcher, ClientError> {
        let mut roots = Vec::new();
        for pem in &config.extra_roots {
            roots.extend(reqwest::Certificate::from_pem_bundle(pem).map_err(ClientError::Certificate)?);
        }
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(post::USER_AGENT)
            .pool_max_idle_per_host(config.connections_per_host)
            .dns_resolver(config.destinations.addresses.resolver())
            .tls_certs_merge(roots)
            .build()
            .map_err(ClientError::Build)?;
        let policy = RetryPolicy {
            initial_backoff: config.initial_backoff,
            max_backoff: config.max_backoff,
            max_attempts: config.max_attempts.max(1),
            horizon: config.retry_horizon,
            max_hold_back: config.max_hold_back,
        };
        let slots = Arc::new(Mutex::new(SlotBook::new(config.concurrency, config.connections_per_host)));
        Ok(Dispatcher {
            store,
            identity,
            client,
            wake,
            config,
            policy,
            controls,
            connections: Mutex::new(HashMap::new()),
            slots,
            slots_freed: AtomicBool::new(false),
            tokens: Mutex::new(HashMap::new()),
            observer: None,
        })
    }

    /// Tells `observer` of every attempt.
    pub fn observed_by(mut self, observer: AttemptObserver) -> Dispatcher {
        self.observer = Some(observer);
        self
    }

    /// Delivers until `shutdown` resolves, then lets the deliveries under way finish (each POST is bounded by the
    /// timeout; whoever runs this bounds the whole). What is left stays pending in the store for the next start.
    ///
    /// The loop reads just what can have changed: the calls the runtime says got notifications, the retries that came
    /// due (through the retry index), the calls passed over for want of a slot once one frees up. It reads the whole
    /// outbox only at the start, after a replay, and every `POLL`: a busy server commits thousands of changes a
    /// second, and a look at the whole outbox costs as much as its backlog.
    pub async fn run(self: Arc<Self>, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut deliveries: JoinSet<Ended> = JoinSet::new();
        let mut busy: HashSet<String> = HashSet::new();
        let mut look = NextLook { everything: true, ..NextLook::default() };
        let mut retry_due: Option<DateTime<Utc>> = None;
        let mut next_prune = Instant::now();
        loop {
            let raised = self.wake.take();
            if raised.everything {
                look.everything = true;
                look.forget_settled();
            }
            for call_id in raised.calls {
                if busy.contains(&call_id) {
                    look.after_delivery.insert(call_id);
                } else {
                    look.calls.insert(call_id);
                }
            }
            for record in raised.committed {
                look.hand(record, &busy);
            }
            if self.slots_freed.swap(false, Ordering::Relaxed) {
                look.slots_freed();
            }
            let waiting = look.waiting_for_slots();
            if !waiting && retry_due.is_some_and(|due| due <= Utc::now()) {
                look.retries = true;
            }
            match self.start_due(&mut deliveries, &mut busy, &mut look).await {
                Ok(Some(next_retry)) => retry_due = next_retry,
                Ok(None) => {}
                Err(error) => {
                    tracing::error!(%error, "reading the notification outbox failed; retrying shortly");
                    look.everything = true;
                    retry_due = Some(Utc::now() + chrono::Duration::seconds(1));
                }
            }
            if Instant::now() >= next_prune {
                self.prune().await;
                next_prune = Instant::now() + PRUNE_EVERY;
            }
            // While due calls wait for a slot, only a slot coming free (or the poll) starts anything.
            let retry_wait = retry_due
                .filter(|_| !look.waiting_for_slots())
                .map(|due| (due - Utc::now()).to_std().unwrap_or_default());
            let wait = retry_wait.map_or(POLL, |wait| wait.min(POLL));
            tokio::select! {
                () = &mut shutdown => break,
                Some(ended) = deliveries.join_next(), if !deliveries.is_empty() => {
                    let mut ended = Some(ended);
                    // Whatever else ended meanwhile, so that one look at the outbox serves them all.
                    while let Some(finished) = ended.take().or_else(|| deliveries.try_join_next()) {
                        let finished = finished.expect("invariant: a delivery task does not panic");
                        let Ended { call_id, delivery, since } = finished;
                        busy.remove(&call_id);
                        look.delivered(&call_id, delivery.settled_through, since);
                        if let Some(at) = delivery.retry_at {
                            retry_due = Some(retry_due.map_or(at, |due| due.min(at)));
                        }
                        if look.after_delivery.remove(&call_id) || delivery.more {
                            // What it left may also wait for retries: the next retry is read again.
                            look.retries |= delivery.more;
                            look.calls.insert(call_id);
                        }
                    }
                    look.slots_freed();
                }
                () = self.wake.signalled() => {}
                () = tokio::time::sleep(wait) => {
                    if retry_wait.is_none_or(|wait| wait >= POLL) {
                        look.everything = true;
                    }
                }
            }
        }
        while deliveries.join_next().await.is_some() {}
    }

    /// Starts a delivery task for every call with something due (of those `look` covers) that has none running.
    /// After a look at the retries, returns when the next one is due (`Some(None)`: none is).
    async fn start_due(
        self: &Arc<Self>,
        deliveries: &mut JoinSet<Ended>,
        busy: &mut HashSet<String>,
        look: &mut NextLook,
    ) -> Result<Option<Option<DateTime<Utc>>>, StoreError> {
        let everything = std::mem::take(&mut look.everything);
        let retries = std::mem::take(&mut look.retries) || everything;
        let disorder = self.controls.disorder();
        // Shuffled deliveries settle nothing: every call is read from the outbox.
        let handed = look.deliverable_from_memory(busy, !disorder.reorders());
        let calls: Vec<String> = look.calls.drain().filter(|call_id| !busy.contains(call_id)).collect();
        if !retries && calls.is_empty() && handed.is_empty() {
            return Ok(None);
        }
        let free = self.book().free();
        if free == 0 {
            // Nothing can start: this look waits for a slot.
            look.missed.everything |= everything;
            look.missed.retries |= retries;
            look.missed.calls.extend(calls);
            handed.into_iter().for_each(|records| look.hand_back(records));
            return Ok(None);
        }
        let per_call = PREFETCH.max(disorder.reorder_window);
        // More candidates than free slots: calls whose receiver has all its connections in use are passed over (a
        // webhook that hangs must not take every slot from the bots whose webhooks answer).
        let wanted = u32::try_from(free * CANDIDATES_PER_SLOT + busy.len()).unwrap_or(u32::MAX);
        let now = Utc::now();
        let mut due = Vec::new();
        if everything {
            due = self.store.deliverable_notifications(now, per_call, wanted).await?;
        } else {
            if !calls.is_empty() {
                due = self.store.deliverable_notifications_of(&calls, now, per_call).await?;
            }
            if retries {
                due.extend(self.store.deliverable_retries(now, per_call, wanted).await?);
            }
        }
        look.read_from_outbox(&due);
        // What the outbox gave for the handed-over calls (committed since the hand-over) is handed over too.
        let handed_calls = handed.iter().map(|records| records[0].notification.call_id.clone()).collect();
        let by_call = runs_per_call(due, busy, handed_calls);
        // Handed over, a call's notifications are all it has pending: however many, there are no more to read.
        let handed = handed.into_iter().map(|records| (records, None));
        for (records, per_call) in handed.chain(by_call.into_iter().map(|records| (records, Some(per_call)))) {
            let call_id = records[0].notification.call_id.clone();
            let Some(slots) = self.claim(records[0].notification.url.as_deref()) else {
                if per_call.is_none() {
                    look.hand_back(records);
                    continue;
                }
                // Past a few, a look at everything (bounded by the free slots) is cheaper than one at all of them.
                if look.missed.calls.len() < MISSED_LISTED {
                    look.missed.calls.insert(call_id);
                } else {
                    look.missed.everything = true;
                }
                continue;
            };
            busy.insert(call_id.clone());
            let dispatcher = self.clone();
            let disorder = disorder.clone();
            let since = look.forgotten;
            deliveries.spawn(async move {
                let delivery = dispatcher.deliver_call(records, per_call, &disorder, &slots).await;
                Ended { call_id, delivery, since }
            });
        }
        if !retries {
            return Ok(None);
        }
        let busy: Vec<String> = busy.iter().cloned().collect();
        Ok(Some(self.store.next_retry_due(&busy).await?))
    }

    /// Delivers a call's due notifications in order, in batches, stopping at the first that is not delivered (the
    /// rest wait behind it); or, when the disorder knobs say so, shuffled. Says whether the call may have more due
    /// now (`per_call` were read from the outbox, or one became a dead letter), when a retry was scheduled, and how
    /// far the call is settled. `per_call` is `None` for notifications handed over by the runtime: all it has.
    async fn deliver_call(
        &self,
        records: Vec<NotificationRecord>,
        per_call: Option<u32>,
        disorder: &Disorder,
        slots: &Slots,
    ) -> CallDelivery {
        let mut rng = match disorder.seed {
            Some(seed) => fastrand::Rng::with_seed(seed ^ u64::try_from(records[0].seq).unwrap_or_default()),
            None => fastrand::Rng::new(),
        };
        if disorder.reorders() {
            let mut window: Vec<_> = records.into_iter().take(disorder.reorder_window as usize).collect();
            rng.shuffle(&mut window);
            let mut retry_at = None;
            for record in window {
                if let Sent::RetryAt(at) | Sent::SetAside(at) = self.deliver(&[record], disorder, &mut rng, slots).await
                {
                    retry_at = Some(retry_at.map_or(at, |earlier: DateTime<Utc>| earlier.min(at)));
                }
            }
            return CallDelivery { more: true, retry_at, settled_through: None };
        }
        let all_taken = per_call.is_some_and(|per_call| records.len() >= per_call as usize);
        let mut set_aside_until: Option<DateTime<Utc>> = None;
        let earliest = |at: DateTime<Utc>, other: Option<DateTime<Utc>>| Some(other.map_or(at, |other| other.min(at)));
        for batch in batches(&records, self.config.batch_size) {
            match self.deliver(batch, disorder, &mut rng, slots).await {
                Sent::Delivered => {}
                Sent::DeadLettered => {
                    return CallDelivery { more: true, retry_at: set_aside_until, settled_through: None };
                }
                Sent::RetryAt(at) => {
                    return CallDelivery {
                        more: false,
                        retry_at: earliest(at, set_aside_until),
                        settled_through: None,
                    };
                }
                Sent::SetAside(at) => set_aside_until = earliest(at, set_aside_until),
            }
        }
        // Read from the outbox, fewer than asked for were all the call had pending up to the first waiting for its
        // retry — unless some were set aside: those are read even behind one that waits.
        let settled = !all_taken && !records.iter().any(|record| record.set_aside);
        let settled_through = records.iter().map(|record| record.call_sequence).max().filter(|_| settled);
        CallDelivery { more: all_taken, retry_at: set_aside_until, settled_through }
    }

    /// Whether retrying `batch` at `retry_at` would keep its call's later notifications waiting longer than allowed
    /// since it was queued (or last replayed); one already set aside stays so.
    /// One attempt at `batch`, journaled.
    async fn deliver(
        &self,
        batch: &[NotificationRecord],
        disorder: &Disorder,
        rng: &mut fastrand::Rng,
        slots: &Slots,
    ) -> Sent {
        let envelope = Envelope::new(batch, self.config.shapes);
        let wait = disorder.delay(rng);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let Posted { attempt, retry_after, forbidden } = self.post(batch, &envelope, slots).await;
        let now = Utc::now();
        let head = &batch[0];
        let answer = match forbidden {
            true => Answer::Refused,
            false => Answer::of(attempt.status.and_then(|s| reqwest::StatusCode::from_u16(s).ok())),
        };
        if answer == Answer::Transient || Duration::from_millis(attempt.latency_ms.into()) > SLOW_ANSWER {
            self.struggling(slots);
        } else {
            slots.answering();
        }
        let (outcome, given_up) = self.policy.outcome(head, answer, now, retry_after, rng);
        if let Some(why) = given_up {
            tracing::warn!(call_id = %head.notification.call_id, seq = head.seq, "{why}");
        }
        let delivered = outcome == AttemptOutcome::Delivered;
        if !delivered {
            tracing::warn!(
                call_id = %head.notification.call_id, seq = head.seq, status = ?attempt.status,
                error = attempt.error.as_deref().unwrap_or_default(), outcome = outcome.as_str(),
                "notification not delivered"
            );
        }
        let journaled = self.record(batch, DeliveryAttempt { outcome, ..attempt }).await;
        if delivered && journaled && disorder.duplicates(rng) {
            let again = self.post(batch, &envelope, slots).await.attempt;
            metrics::counter!(telemetry::DUPLICATED).increment(batch.len() as u64);
            self.record(batch, DeliveryAttempt { outcome: AttemptOutcome::Duplicate, ..again }).await;
        }
        match (journaled, outcome) {
            (true, AttemptOutcome::Delivered | AttemptOutcome::Duplicate) => Sent::Delivered,
            (true, AttemptOutcome::DeadLettered) => Sent::DeadLettered,
            (true, AttemptOutcome::RetryAt(at)) => Sent::RetryAt(at),
            (true, AttemptOutcome::SetAside(at)) => Sent::SetAside(at),
            // Unjournaled, the batch is still pending and due: what follows it in the call waits, so that the bot
            // sees the call's notifications in order when the batch goes out again.
            (false, _) => Sent::RetryAt(now),
        }
    }

    /// POSTs `envelope` holding one of its receiver's connection slots, given back as soon as the answer is in
    /// (journaling needs none).
    async fn post(&self, batch: &[NotificationRecord], envelope: &Envelope, slots: &Slots) -> Posted {
        let notification = &batch[0].notification;
        let _connection = match &slots.connections {
            Some(connections) => connections.clone().acquire_owned().await.ok(),
            None => None,
        };
        let token = self.token(notification.tenant_id, notification.app_id);
        let started_at = Utc::now();
        let clock = Instant::now();
        metrics::gauge!(telemetry::IN_FLIGHT).increment(1);
        let send = post::send(&self.client, envelope, &token, &self.config.destinations);
        tokio::pin!(send);
        let sent = tokio::select! {
            sent = &mut send => sent,
            // Still no answer: the receiver is struggling from now on, not only once the timeout ends this POST.
            () = tokio::time::sleep(SLOW_ANSWER) => {
                self.struggling(slots);
                send.await
            }
        };
        metrics::gauge!(telemetry::IN_FLIGHT).decrement(1);
        let latency = clock.elapsed();
        let forbidden = matches!(sent.result, Err(NotSent::Forbidden(_)));
        let (status, excerpt, error, retry_after) = match sent.result {
            Ok(answered) => {
                let error =
                    (!answered.status.is_success()).then(|| format!("the receiver answered {}", answered.status));
                let retry_after = answered.retry_after.as_deref().and_then(|v| policy::retry_after(v, Utc::now()));
                (Some(answered.status.as_u16()), Some(answered.excerpt), error, retry_after)
            }
            Err(not_sent) => (None, None, Some(not_sent.message()), None),
        };
        telemetry::attempt(status, latency);
        let attempt = DeliveryAttempt {
            started_at,
            latency_ms: u32::try_from(latency.as_millis()).unwrap_or(u32::MAX),
            url: sent.url,
            request_headers: sent.headers,
            batch_size: u32::try_from(batch.len()).unwrap_or(u32::MAX),
            status,
            response_excerpt: excerpt,
            error,
            outcome: AttemptOutcome::Delivered,
        };
        Posted { attempt, retry_after, forbidden }
    }

    /// Journals an attempt and counts it; false if the store would not take it.
    async fn record(&self, batch: &[NotificationRecord], attempt: DeliveryAttempt) -> bool {
        let count = batch.len() as u64;
        match attempt.outcome {
            AttemptOutcome::Delivered => {
                metrics::counter!(telemetry::DELIVERED).increment(count);
                let now = Utc::now();
                for record in batch {
                    let waited = (now - record.notification.queued_at).to_std().unwrap_or_default();
                    metrics::histogram!(telemetry::DELIVERY_SECONDS).record(waited.as_secs_f64());
                }
            }
            AttemptOutcome::RetryAt(_) | AttemptOutcome::SetAside(_) => {
                metrics::counter!(telemetry::RETRIED).increment(count)
            }
            AttemptOutcome::DeadLettered => metrics::counter!(telemetry::DEAD_LETTERED).increment(count),
            AttemptOutcome::Duplicate => {}
        }
        let seqs: Vec<i64> = batch.iter().map(|r| r.seq).collect();
        if let Some(observer) = &self.observer {
            observer(batch, &attempt);
        }
        // While the journal refuses the attempt the notifications stay pending; retrying here for a while keeps a
        // store that cannot write (a full disk) from turning into the same notification posted again and again.
        let give_up = Instant::now() + JOURNAL_PATIENCE;
        let mut wait = JOURNAL_RETRY;
        loop {
            match self.store.record_attempt(&seqs, attempt.clone()).await {
                Ok(()) => return true,
                Err(error) if Instant::now() + wait < give_up => {
                    tracing::error!(%error, ?seqs, "journaling a delivery attempt failed; trying again in {wait:?}");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(JOURNAL_RETRY_MAX);
                }
                Err(error) => {
                    // Pending still, they go out again later: at least once.
                    tracing::error!(%error, ?seqs, "journaling a delivery attempt failed; the notifications will be sent again");
                    return false;
                }
            }
        }
    }

    /// The app's notification token: a fresh one every `TOKEN_REUSE`. Tokens are checked against the bot's wall
    /// clock, so they are minted on real time even when calls run on a virtual clock.
    fn token(&self, tenant_id: Uuid, app_id: Uuid) -> String {
        let mut tokens = self.tokens.lock().expect("invariant: nothing panics while holding the tokens lock");
        match tokens.get(&(tenant_id, app_id)) {
            Some((token, minted)) if minted.elapsed() < TOKEN_REUSE => token.clone(),
            _ => {
                let token = self.identity.notification_token(tenant_id, app_id, Utc::now());
                tokens.insert((tenant_id, app_id), (token.clone(), Instant::now()));
                token
            }
        }
    }

    fn book(&self) -> std::sync::MutexGuard<'_, SlotBook> {
        self.slots.lock().expect("invariant: nothing panics while holding the slot book")
    }

    /// The slots for delivering to `url` (`SlotBook::claim`), with its receiver's connection slots; none if the
    /// book has none free for it.
    fn claim(&self, url: Option<&str>) -> Option<Slots> {
        let host = url.and_then(host_of);
        let claim = self.book().claim(host.as_deref())?;
        let connections = host.map(|host| {
            let mut connections =
                self.connections.lock().expect("invariant: nothing panics while holding the connections lock");
            let per_host = self.config.connections_per_host.max(1);
            connections.entry(host).or_insert_with(|| Arc::new(Semaphore::new(per_host))).clone()
        });
        Some(Slots { book: self.slots.clone(), claim: Mutex::new(claim), connections })
    }

    /// The receiver of a delivery under way struggles: the loop may use the answering slot it gives back.
    fn struggling(&self, slots: &Slots) {
        if slots.struggling() {
            self.slots_freed.store(true, Ordering::Relaxed);
            self.wake.nudge();
        }
    }

    async fn prune(&self) {
        let retention = chrono::Duration::from_std(self.config.journal_retention).unwrap_or(chrono::Duration::MAX);
        let cutoff = Utc::now().checked_sub_signed(retention).unwrap_or(DateTime::<Utc>::MIN_UTC);
        match self.store.prune_notifications(cutoff, self.config.journal_max_entries).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "pruned the notification journal"),
            Err(error) => tracing::error!(%error, "pruning the notification journal failed"),
        }
    }
}

/// Consecutive runs of at most `size` notifications that can share a POST: same URL, and — so that a retried batch is
/// the same batch, with the same message id — the same attempts so far.
/// The outbox's due notifications as one run per call, in the order read: calls with a delivery under way (`busy`)
/// or already `taken` left out, and a call read twice (raised, and its retry due) taken once.
fn runs_per_call(
    due: Vec<NotificationRecord>,
    busy: &HashSet<String>,
    mut taken: HashSet<String>,
) -> Vec<Vec<NotificationRecord>> {
    let mut by_call: Vec<Vec<NotificationRecord>> = Vec::new();
    for record in due {
        let call_id = &record.notification.call_id;
        if busy.contains(call_id) {
            continue;
        }
        match by_call.last_mut() {
            Some(call) if &call[0].notification.call_id == call_id => {
                if call.last().is_some_and(|last| record.seq > last.seq) {
                    call.push(record);
                }
            }
            _ => {
                if taken.insert(call_id.clone()) {
                    by_call.push(vec![record]);
                }
            }
        }
    }
    by_call
}

/// The receiving host of a URL (`host:port`), as slots and connections are counted.
fn host_of(url: &str) -> Option<String> {
    let url = reqwest::Url::parse(url).ok()?;
    Some(format!("{}:{}", url.host_str().unwrap_or_default(), url.port_or_known_default().unwrap_or_default()))
}

fn batches(records: &[NotificationRecord], size: u32) -> Vec<&[NotificationRecord]> {
    let size = size.max(1) as usize;
    let mut batches = Vec::new();
    let mut start = 0;
    for end in 1..=records.len() {
        let closes = end == records.len()
            || end - start == size
            || records[end].notification.url != records[start].notification.url
            || records[end].round_attempts != records[start].round_attempts;
        if closes {
            batches.push(&records[start..end]);
            start = end;
        }
    }
    batches
}

#[cfg(test)]
pub(crate) mod tests {
    use chrono::{DateTime, TimeZone};
    use switchboard_store::NewNotification;

    use super::*;

    /// An instant `seconds` after a fixed one.
    pub(crate) fn at(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap() + chrono::Duration::seconds(seconds)
    }

    /// A pending notification of call `c`, queued at `at(0)`.
    pub(crate) fn record(seq: i64, url: &str, round_attempts: u32) -> NotificationRecord {
        let notification = NewNotification {
            message_id: Uuid::from_u128(seq as u128),
            call_id: "c".into(),
            tenant_id: Uuid::nil(),
            app_id: Uuid::nil(),
            url: Some(url.into()),
            body: format!(r#"{{"@odata.type":"x","value":[{{"n":{seq}}}]}}"#),
            chain_id: "chain".into(),
            scenario_id: "scenario".into(),
            raised_at: at(0),
            queued_at: at(0),
            offer: false,
        };
        NotificationRecord {
            attempts: round_attempts,
            round_attempts,
            ..NotificationRecord::queued(seq, seq, notification)
        }
    }

    /// Notification `call_sequence` of call `call_id`, numbered `seq` in the outbox.
    fn handed(call_id: &str, seq: i64, call_sequence: i64) -> NotificationRecord {
        let mut record = record(seq, "http://a/", 0);
        record.notification.call_id = call_id.into();
        record.call_sequence = call_sequence;
        record
    }

    fn hand(look: &mut NextLook, records: &[(&str, i64, i64)]) {
        for &(call_id, seq, call_sequence) in records {
            look.hand(handed(call_id, seq, call_sequence), &["busy".to_string()].into());
        }
    }

    fn ready(look: &mut NextLook, busy: &[&str]) -> Vec<(String, Vec<i64>)> {
        let busy = busy.iter().map(|call_id| call_id.to_string()).collect();
        let mut ready: Vec<_> = look
            .deliverable_from_memory(&busy, true)
            .into_iter()
            .map(|run| (run[0].notification.call_id.clone(), run.iter().map(|r| r.call_sequence).collect()))
            .collect();
        ready.sort();
        ready
    }

    #[test]
    fn handed_notifications_go_from_memory_only_when_nothing_of_their_call_can_be_pending_before_them() {
        let mut look = NextLook::default();
        hand(&mut look, &[("new", 1, 1), ("new", 2, 2), ("old", 3, 7), ("busy", 4, 1)]);
        assert_eq!(ready(&mut look, &["busy"]), [("new".to_string(), vec![1, 2])], "a call's first ones");
        assert_eq!(look.calls, ["old".to_string()].into(), "one before it may be pending: read from the outbox");
        assert!(look.handed.contains_key("busy"), "waits for the delivery under way");

        look.calls.clear();
        look.delivered("new", Some(2), 0);
        look.delivered("busy", Some(1), 0);
        hand(&mut look, &[("new", 5, 3), ("new", 6, 5)]);
        assert_eq!(ready(&mut look, &[]), [], "the delivery under way took it; not contiguous");
        assert_eq!(look.calls, ["new".to_string()].into());
        assert!(!look.handed.contains_key("busy"), "already delivered: dropped");

        look.calls.clear();
        look.delivered("new", Some(5), 0);
        look.read_from_outbox(&[handed("new", 7, 6)]);
        hand(&mut look, &[("new", 7, 6)]);
        assert_eq!(ready(&mut look, &[]), [], "read from the outbox already, perhaps");
        hand(&mut look, &[("new", 8, 6)]);
        look.calls.insert("new".into());
        assert_eq!(ready(&mut look, &[]), [], "to be read from the outbox anyway");
        look.calls.clear();
        hand(&mut look, &[("new", 8, 6)]);
        assert_eq!(ready(&mut look, &[]), [("new".to_string(), vec![6])]);
        look.read_floor = 10;
        hand(&mut look, &[("other", 9, 1)]);
        assert_eq!(ready(&mut look, &[]), [], "below the floor of calls read once too many to remember each");

        look.forget_settled();
        look.delivered("new", Some(6), 0);
        hand(&mut look, &[("new", 9, 7)]);
        assert_eq!(
            ready(&mut look, &[]),
            [],
            "a replay forgot what was settled; a delivery from before settles nothing"
        );
        look.delivered("new", None, look.forgotten);
        assert!(look.settled.is_empty(), "not known to be settled");

        look.calls.clear();
        look.handed.clear();
        look.held = HELD_IN_MEMORY;
        hand(&mut look, &[("busy", 20, 9), ("idle", 21, 1)]);
        assert!(look.handed.is_empty(), "too many held: read from the outbox");
        assert_eq!((look.after_delivery, look.calls), (["busy".to_string()].into(), ["idle".to_string()].into()));
    }

    fn seqs(batches: Vec<&[NotificationRecord]>) -> Vec<Vec<i64>> {
        batches.iter().map(|b| b.iter().map(|r| r.seq).collect()).collect()
    }

    #[test]
    fn due_notifications_start_once_per_call_and_never_beside_a_delivery_under_way() {
        // c1 raised and its retry due (read twice), c2 delivering, c3 handed over already, c4 read once.
        let due = [("c1", 1), ("c1", 2), ("c2", 3), ("c3", 4), ("c4", 5), ("c1", 1), ("c1", 2)]
            .map(|(call_id, seq)| handed(call_id, seq, seq));
        let busy = HashSet::from(["c2".to_owned()]);
        let runs = runs_per_call(due.to_vec(), &busy, HashSet::from(["c3".to_owned()]));
        let runs: Vec<(&str, Vec<i64>)> = runs
            .iter()
            .map(|run| (run[0].notification.call_id.as_str(), run.iter().map(|record| record.seq).collect()))
            .collect();
        assert_eq!(runs, [("c1", vec![1, 2]), ("c4", vec![5])]);
    }

    #[test]
    fn batches_hold_consecutive_notifications_for_one_url_with_the_same_history() {
        let records = [
            record(1, "http://a/", 2),
            record(2, "http://a/", 2),
            record(3, "http://a/", 0),
            record(4, "http://a/", 0),
            record(5, "http://a/", 0),
            record(6, "http://b/", 0),
        ];
        assert_eq!(seqs(batches(&records, 2)), [vec![1, 2], vec![3, 4], vec![5], vec![6]]);
        assert_eq!(seqs(batches(&records, 1)), [[1], [2], [3], [4], [5], [6]]);
        assert_eq!(seqs(batches(&records, 10)), [vec![1, 2], vec![3, 4, 5], vec![6]]);
    }

    #[test]
    fn a_batch_is_one_comms_notifications_body_with_an_id_of_its_own() {
        let records = [record(1, "http://a/", 0), record(2, "http://a/", 0)];
        let single = Envelope::new(&records[..1], Shapes::Documented);
        assert_eq!(single.body, records[0].notification.body.as_bytes());
        let batch = Envelope::new(&records, Shapes::Documented);
        let body: serde_json::Value = serde_json::from_slice(&batch.body).unwrap();
        assert_eq!(body["value"], serde_json::json!([{"n": 1}, {"n": 2}]));
        assert_eq!(body["@odata.type"], "#microsoft.graph.commsNotifications");
        let id = |envelope: &Envelope| envelope.header("x-microsoft-skype-message-id");
        assert_eq!(id(&single), records[0].notification.message_id.to_string());
        assert_eq!(id(&batch), id(&Envelope::new(&records, Shapes::Documented)), "the same batch, the same id");
        assert_ne!(id(&batch), id(&single));
        assert_eq!(
            (single.header("switchboard-sequence"), batch.header("switchboard-sequence")),
            ("1".into(), "1-2".into())
        );
        assert_eq!(batch.header("scenario-id"), "scenario");
        assert_eq!(batch.header("x-microsoft-skype-chain-id"), "chain");
    }
}
