//! `kill -9` under load, round after round, against one data directory. Bots create calls and mute and unmute
//! themselves in established group calls; at a random moment of each round the server is killed and started
//! again. After each restart:
//! - every call whose creation was acknowledged (201) exists;
//! - every group call's mute state is the last acknowledged one, or the one still unanswered when the server died
//!   (a change is all there or not there);
//! - its notifications agree with it: the bot's `isMuted` in the roster notifications alternates (each one a real
//!   change) and the last one is the stored state (no change without its notification, or the reverse).
//!
//! At the end every notification has reached the bot's webhook, per call in order (duplicates allowed: delivery
//! is at least once).

use std::{
    collections::{HashMap, HashSet},
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use clap::Args;
use serde_json::Value;

use crate::{
    bot::{DEV_APP, Fleet, prepare_group_calls},
    process::Server,
};

#[derive(Args)]
pub(crate) struct CrashArgs {
    /// The switchboard binary
    #[arg(long, default_value = "target/release/switchboard")]
    binary: PathBuf,
    /// How many times to kill it
    #[arg(long, default_value_t = 20)]
    rounds: usize,
    /// How long the load runs before each kill, at most (the moment is random within it)
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    load: Duration,
    /// Bots working at once
    #[arg(long, default_value_t = 16)]
    bots: usize,
}

/// What the bots were told, per group call: the last acknowledged mute state, and the one asked for with no answer.
#[derive(Default, Clone, Copy)]
struct MuteState {
    acknowledged: bool,
    unanswered: Option<bool>,
}

#[derive(Default)]
struct Ledger {
    created: HashSet<String>,
    mutes: HashMap<String, MuteState>,
}

fn start(args: &CrashArgs, data: &std::path::Path, port: u16) -> Result<Server, String> {
    let started = Instant::now();
    let server = Server::start(&[], &args.binary, &format!("127.0.0.1:{port}"), data, &[])?;
    eprintln!("  up in {} ms", started.elapsed().as_millis());
    Ok(server)
}

pub(crate) async fn run(args: CrashArgs) -> Result<(), String> {
    let data = std::env::temp_dir().join(format!("switchboard-crash-{}", uuid::Uuid::new_v4()));
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
    let mut server = start(&args, &data, port)?;
    let mut fleet = Fleet::start(&server.base).await?;
    let groups = prepare_group_calls(&fleet, args.bots).await?;
    let ledger: Arc<Mutex<Ledger>> = Arc::default();
    for call in &groups {
        ledger.lock().expect("ledger").mutes.insert(call.clone(), MuteState::default());
    }
    for round in 1..=args.rounds {
        let kill_after = args.load.mul_f64(0.25 + 0.75 * fastrand::f64());
        let mut bots = tokio::task::JoinSet::new();
        for (lane, call) in groups.iter().enumerate() {
            let (fleet, ledger, call) = (fleet.clone(), ledger.clone(), call.clone());
            bots.spawn(async move { bot(fleet, ledger, call, lane).await });
        }
        tokio::time::sleep(kill_after).await;
        server.child.kill().map_err(|e| e.to_string())?; // SIGKILL
        let _ = server.child.wait();
        bots.abort_all();
        while bots.join_next().await.is_some() {}
        eprintln!("round {round}: killed after {} ms", kill_after.as_millis());
        server = start(&args, &data, port)?;
        fleet.rebase(&server.base);
        check(&fleet, &ledger).await.map_err(|e| format!("round {round}: {e}"))?;
    }
    let result = check_deliveries(&fleet).await;
    let _ = server.child.kill();
    let _ = server.child.wait();
    let _ = std::fs::remove_dir_all(&data);
    let (calls, notifications) = result?;
    println!(
        "{} rounds of kill -9 under load: {} acknowledged calls all present, {} group calls consistent, {notifications} \
         notifications of {calls} calls all delivered in order",
        args.rounds,
        ledger.lock().expect("ledger").created.len(),
        groups.len()
    );
    Ok(())
}

/// One bot: creates a call, then mutes or unmutes itself in its group call, over and over.
async fn bot(fleet: Fleet, ledger: Arc<Mutex<Ledger>>, group: String, lane: usize) {
    let users = fleet.users().to_vec();
    for n in 0usize.. {
        let user = &users[(lane + n) % users.len()];
        if let Ok(id) = fleet.create_call(&[user]).await {
            ledger.lock().expect("ledger").created.insert(id);
        }
        let want = {
            let mut ledger = ledger.lock().expect("ledger");
            let state = ledger.mutes.get_mut(&group).expect("every group call is in the ledger");
            let want = !state.acknowledged;
            state.unanswered = Some(want);
            want
        };
        if fleet.toggle_mute(&group, want, false).await.is_ok() {
            let mut ledger = ledger.lock().expect("ledger");
            let state = ledger.mutes.get_mut(&group).expect("every group call is in the ledger");
            *state = MuteState { acknowledged: want, unanswered: None };
        }
    }
}

async fn check(fleet: &Fleet, ledger: &Arc<Mutex<Ledger>>) -> Result<(), String> {
    let (created, mutes) = {
        let ledger = ledger.lock().expect("ledger");
        (ledger.created.iter().cloned().collect::<Vec<_>>(), ledger.mutes.clone())
    };
    for id in &created {
        fleet
            .graph(reqwest::Method::GET, &format!("/v1.0/communications/calls/{id}"), None)
            .await
            .map_err(|e| format!("an acknowledged call is missing: {e}"))?;
    }
    for (call, state) in mutes {
        let stored = fleet.sim(&format!("/calls/{call}")).await?["bot"]["muted"].as_bool().unwrap_or_default();
        if stored != state.acknowledged && Some(stored) != state.unanswered {
            return Err(format!("call {call}: muted is {stored}, acknowledged {}", state.acknowledged));
        }
        // Learn what the unanswered request did, so the next round starts from the truth.
        ledger.lock().expect("ledger").mutes.insert(call.clone(), MuteState { acknowledged: stored, unanswered: None });
        let notified = roster_mutes(fleet, &call).await?;
        if notified.windows(2).any(|w| w[0] == w[1]) {
            return Err(format!("call {call}: a roster notification without a change: {notified:?}"));
        }
        if notified.last().copied().unwrap_or(false) != stored {
            return Err(format!("call {call}: stored muted {stored} but the notifications say {notified:?}"));
        }
    }
    Ok(())
}

/// The bot's `isMuted` in each roster notification of a call, in order.
async fn roster_mutes(fleet: &Fleet, call: &str) -> Result<Vec<bool>, String> {
    let mut mutes = Vec::new();
    let mut after = 0;
    loop {
        let page = fleet.sim(&format!("/notifications?callId={call}&after={after}&limit=1000")).await?;
        let entries = page["value"].as_array().cloned().unwrap_or_default();
        for entry in &entries {
            after = after.max(entry["seq"].as_u64().unwrap_or_default());
            for notification in entry["body"]["value"].as_array().into_iter().flatten() {
                if !notification["resourceUrl"].as_str().unwrap_or_default().ends_with("/participants") {
                    continue;
                }
                let bot = notification["resourceData"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|p: &&Value| p["info"]["identity"]["application"]["id"] == DEV_APP);
                if let Some(bot) = bot {
                    mutes.push(bot["isMuted"].as_bool().unwrap_or_default());
                }
            }
        }
        if entries.len() < 1000 {
            break;
        }
    }
    // Set-up rosters show the bot unmuted more than once before any change; from the first mute on, each is one.
    let first_change = mutes.iter().position(|m| *m).unwrap_or(mutes.len());
    Ok(std::iter::once(false).chain(mutes[first_change..].iter().copied()).collect())
}

/// Waits until nothing is pending, then checks each call's notifications reached the webhook in order.
async fn check_deliveries(fleet: &Fleet) -> Result<(usize, usize), String> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let pending = fleet.sim("/notifications?status=pending&limit=1").await?;
        if pending["value"].as_array().is_none_or(Vec::is_empty) {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("notifications still pending after 2 minutes: {pending}"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut seen: HashMap<String, Vec<u64>> = HashMap::new();
    for (call, sequence) in fleet.deliveries() {
        let numbers = seen.entry(call).or_default();
        // At least once: a repeat of what already arrived is allowed, going back past it is not.
        if numbers.last().is_some_and(|last| sequence <= *last) {
            if !numbers.contains(&sequence) {
                return Err(format!("notification {sequence} arrived after {numbers:?}"));
            }
            continue;
        }
        numbers.push(sequence);
    }
    let mut total = 0;
    for (call, numbers) in &seen {
        if numbers.iter().enumerate().any(|(i, n)| *n != i as u64 + 1) {
            return Err(format!("call {call}: notifications arrived as {numbers:?}"));
        }
        total += numbers.len();
    }
    Ok((seen.len(), total))
}
