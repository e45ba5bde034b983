//! The call state machine: `handle(call, command, now) -> effects`, following graph-calls.md §b.
//!
//! This module holds the call's own lifecycle; `peers` what simulated endpoints do, `roster` what the bot does to
//! the people in the call, `actions` the actions that answer with an operation, `media` the IVR queue, DTMF and
//! what the media engine reports.

mod actions;
mod media;
mod peers;
mod roster;

use std::time::Duration;

use chrono::{DateTime, Utc};
use switchboard_catalogue::ApiVersion;

use crate::{
    codes,
    command::{Answer, Command, Effect, Notification, NotificationKind, Replaces, RosterEvent, Timer, TransferRequest},
    model::{
        Call, CallKind, CallState, Conversation, Direction, EndpointKind, Peer, PeerRole, PeerStatus, Response,
        ResultInfo, Transfer,
    },
};

/// "The bot must answer, reject, or redirect the call before the call times out. The current timeout value is 15
/// seconds" (docs:call-answer).
pub const ANSWER_DEADLINE: Duration = Duration::from_secs(15);
/// "If the request is not received within 45 minutes, the call is terminated" (docs:call-keepalive).
pub const KEEP_ALIVE_PERIOD: Duration = Duration::from_secs(45 * 60);
/// redirect `timeout` default: 55 s for one target, 60 s for several (docs:call-redirect).
pub fn default_redirect_timeout(targets: usize) -> Duration {
    Duration::from_secs(if targets > 1 { 60 } else { 55 })
}

/// Why a command cannot be applied; the call is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The call has ended; Graph answers 404 for anything about it from then on (docs:call-keepalive).
    #[error("the call has ended")]
    Ended,
    /// The action does not apply in the call's current state.
    #[error("{action} needs a call that is {expected}; this call is {}", state.as_str())]
    WrongState { action: &'static str, state: CallState, expected: &'static str },
    /// The request asks for something this call cannot do.
    #[error("{0}")]
    NotApplicable(String),
    /// The request names a participant the call does not have.
    #[error("the call has no participant '{0}'")]
    UnknownParticipant(String),
    /// The request names something else the call does not have.
    #[error("{0}")]
    NotFound(String),
    /// The request would create what already exists.
    #[error("{0}")]
    Conflict(String),
}

/// Applies `command` to `call` at `now`, returning what the world must do. On error the call is unchanged.
pub fn handle(call: &mut Call, command: Command, now: DateTime<Utc>) -> Result<Vec<Effect>, Rejection> {
    if call.is_terminated() {
        // A timer armed before the call ended is moot; anything else is about a call that no longer exists.
        return if matches!(command, Command::Timer(_)) { Ok(Vec::new()) } else { Err(Rejection::Ended) };
    }
    let before = call.clone();
    let mut machine = Machine { call, now, effects: Vec::new(), syncing: false };
    if let Err(rejection) = machine.apply(command) {
        *machine.call = before;
        return Err(rejection);
    }
    machine.cancel_moot_timers();
    let Machine { call, effects, .. } = machine;
    if *call != before && call.version == before.version {
        call.version += 1;
        call.updated_at = now;
    }
    Ok(effects)
}

struct Machine<'a> {
    call: &'a mut Call,
    now: DateTime<Utc>,
    effects: Vec<Effect>,
    /// Applying another bot's roster change: it is not broadcast back.
    syncing: bool,
}

impl Machine<'_> {
    fn apply(&mut self, command: Command) -> Result<(), Rejection> {
        match command {
            Command::Start => self.start(),
            Command::StartFailing { result } => {
                self.require("a failing start", "establishing", self.call.state == CallState::Establishing)?;
                self.notify(NotificationKind::StateChanged { result_info: None });
                self.end(result, None);
            }
            Command::Answer(answer) => self.answer(answer)?,
            Command::Reject { callback_uri } => self.reject(callback_uri)?,
            Command::Redirect { targets, timeout, callback_uri } => self.redirect(targets, timeout, callback_uri)?,
            Command::Transfer(request) => self.transfer(request)?,
            Command::KeepAlive => self.schedule(Timer::KeepAliveDeadline, KEEP_ALIVE_PERIOD),
            Command::HangUp => self.hang_up(),
            Command::Peer { participant_id, action } => self.peer_action(&participant_id, action)?,
            Command::Join(peer) => self.join(peer)?,
            Command::AdmitBot => self.admit_bot()?,
            Command::RemoveParticipant { participant_id } => self.remove_participant(&participant_id)?,
            Command::ReportSyntheticMedia { participant_id, malicious } => {
                self.report_synthetic_media(&participant_id, malicious)?
            }
            Command::CreateAudioRoutingGroup(group) => self.create_audio_routing_group(group)?,
            Command::UpdateAudioRoutingGroup { id, sources, receivers } => {
                self.update_audio_routing_group(&id, sources, receivers)?
            }
            Command::DeleteAudioRoutingGroup { id } => self.delete_audio_routing_group(&id)?,
            Command::Timer(timer) => self.timer(timer),
            Command::Terminate { result } => self.end(result, None),
            Command::Action(request) => self.action(request)?,
            Command::Media(report) => self.media_report(report),
        }
        Ok(())
    }

    // ---- effects ------------------------------------------------------------------------------------------------

    fn notify(&mut self, kind: NotificationKind) {
        // Every notification shows a new version of the call (its `@odata.etag`).
        self.call.version += 1;
        self.call.updated_at = self.now;
        self.effects.push(Effect::Notify(Notification { kind, call: Box::new(self.call.clone()) }));
    }

    /// Disarms the ringing timeout once nobody rings (every call that is answered would otherwise have it fire, to
    /// no effect, a minute later).
    fn cancel_moot_timers(&mut self) {
        let ringing = self.call.peers.iter().any(|p| p.role == PeerRole::Party && p.status == PeerStatus::Ringing);
        if self.call.ringing_timer_armed && !ringing && !self.call.is_terminated() {
            self.call.ringing_timer_armed = false;
            self.effects.push(Effect::Cancel { timer: Timer::RingingTimeout });
        }
    }

    fn schedule(&mut self, timer: Timer, after: Duration) {
        let at = self.now + after;
        self.effects.push(Effect::Schedule { call_id: self.call.id.clone(), timer, at });
    }

    fn set_state(&mut self, state: CallState, result_info: Option<ResultInfo>) {
        self.call.state = state;
        if result_info.is_some() {
            self.call.result_info.clone_from(&result_info);
        }
        self.notify(NotificationKind::StateChanged { result_info });
    }

    fn set_audio(&mut self, active: bool) {
        if self.call.audio_active != active {
            self.call.audio_active = active;
            self.notify(NotificationKind::MediaStateChanged);
            if active {
                self.announce_conversation();
            }
        }
    }

    /// Once media first flows in a peer-to-peer call with a Teams user, Graph sends its chat, then its token.
    fn announce_conversation(&mut self) {
        let with_user = self.call.connected_parties().any(|p| p.kind == EndpointKind::User);
        if self.call.kind == CallKind::PeerToPeer && with_user && self.call.conversation == Conversation::Unannounced {
            for stage in [Conversation::Chat, Conversation::ChatAndToken { issued_at: self.now }] {
                self.call.conversation = stage;
                self.notify(NotificationKind::ConversationAnnounced);
            }
        }
    }

    /// The roster changed for these participants (the bot's own id included): each gets the next roster sequence
    /// number, and group calls and meetings notify the roster.
    fn roster_changed(&mut self, changed: &[&str]) {
        self.call.roster_sequence += 1;
        let sequence = self.call.roster_sequence;
        for participant_id in changed {
            if self.call.is_bot(participant_id) {
                self.call.bot.sequence = sequence;
            } else if let Some(peer) = self.call.peer_mut(participant_id) {
                peer.roster.sequence = sequence;
            }
        }
        if self.call.has_roster() {
            let changed: Vec<String> = changed.iter().map(|p| (*p).to_owned()).collect();
            if !self.syncing {
                self.broadcast(&changed);
            }
            self.notify(NotificationKind::RosterChanged { changed });
        }
    }

    fn require(&self, action: &'static str, expected: &'static str, ok: bool) -> Result<(), Rejection> {
        if ok { Ok(()) } else { Err(Rejection::WrongState { action, state: self.call.state, expected }) }
    }

    // ---- lifecycle ----------------------------------------------------------------------------------------------

    fn start(&mut self) {
        self.schedule(Timer::KeepAliveDeadline, KEEP_ALIVE_PERIOD);
        if self.call.direction == Direction::Incoming {
            self.notify(NotificationKind::Incoming);
            self.schedule(Timer::AnswerDeadline, ANSWER_DEADLINE);
            return;
        }
        // The 201 already says `establishing`; Graph notifies it as well (docs:application-post-calls).
        self.notify(NotificationKind::StateChanged { result_info: None });
        match self.call.kind {
            CallKind::PeerToPeer => {
                self.offer_parties();
                if self.call.state == CallState::Establishing && self.call.api_version == ApiVersion::Beta {
                    // `ringing` is a beta-only member of callState (graph-calls.md §b).
                    self.set_state(CallState::Ringing, None);
                }
            }
            CallKind::Group => {
                // The bot's leg of a new group call connects at once; the targets are invited into it.
                self.establish();
                self.offer_parties();
            }
            CallKind::Meeting { .. } => {
                self.establish();
                let attendees: Vec<_> = self.call.connected_parties().map(|p| p.participant_id.clone()).collect();
                for participant_id in attendees {
                    self.arm_hang_up(&participant_id);
                }
                // A bot the meeting's lobby holds waits to be admitted, or is removed at the lobby timeout.
                if let (true, Some(timeout)) = (self.call.bot.in_lobby, self.call.lobby_timeout) {
                    self.schedule(Timer::BotLobbyTimeout, timeout);
                }
            }
        }
    }

    fn establish(&mut self) {
        self.set_state(CallState::Established, None);
        if !self.call.bot.in_lobby {
            self.set_audio(true);
        }
        let mut everyone = vec![self.call.my_participant_id.clone()];
        everyone.extend(self.call.peers.iter().filter(|p| p.is_on_roster()).map(|p| p.participant_id.clone()));
        let changed: Vec<&str> = everyone.iter().map(String::as_str).collect();
        self.roster_changed(&changed);
    }

    /// Rings every ringing party, as its behaviour says, and arms the ringing timeout.
    fn offer_parties(&mut self) {
        let ringing: Vec<_> = self
            .call
            .peers
            .iter()
            .filter(|p| p.role == PeerRole::Party && p.status == PeerStatus::Ringing)
            .map(|p| p.participant_id.clone())
            .collect();
        if ringing.is_empty() {
            return;
        }
        self.schedule(Timer::RingingTimeout, self.call.ringing_timeout);
        self.call.ringing_timer_armed = true;
        for participant_id in ringing {
            self.offer(&participant_id);
        }
    }

    fn offer(&mut self, participant_id: &str) {
        // A real endpoint answers or refuses when its person does: its transport says so.
        let Some((peer, behaviour)) = self.call.peer(participant_id).and_then(|p| Some((p, p.behaviour()?))) else {
            return;
        };
        match behaviour.response {
            Response::Answer { after } | Response::Reject { after, .. } => {
                self.schedule(Timer::PeerResponds { participant_id: participant_id.to_owned() }, after);
            }
            Response::Ring => {}
            // An invitee is refused by a timer, so the invite operation answers `running` first.
            Response::Unreachable if peer.roster.invitation.is_some() => {
                self.schedule(Timer::PeerResponds { participant_id: participant_id.to_owned() }, Duration::ZERO);
            }
            Response::Unreachable => self.peer_refused(participant_id, codes::unreachable()),
        }
    }

    fn arm_hang_up(&mut self, participant_id: &str) {
        if let Some(after) = self.call.peer(participant_id).and_then(|p| p.behaviour()?.hang_up_after) {
            self.schedule(Timer::PeerHangsUp { participant_id: participant_id.to_owned() }, after);
        }
    }

    /// The call ends: `deleted` with state and result (docs:call-delete).
    fn end(&mut self, result: ResultInfo, termination_reason: Option<&str>) {
        if self.call.meeting_id().is_some() && self.call.state != CallState::Establishing {
            // The other bots in the meeting see this bot leave.
            let endpoint_id = self.call.my_participant_id.clone();
            self.effects.push(Effect::Broadcast(RosterEvent::Left { endpoint_id, reason: None }));
        }
        self.finish(Some(result), termination_reason.map(str::to_owned));
        self.notify(NotificationKind::Ended);
    }

    fn finish(&mut self, result: Option<ResultInfo>, termination_reason: Option<String>) {
        for peer in &mut self.call.peers {
            peer.status = match peer.status {
                PeerStatus::Connected | PeerStatus::Left => PeerStatus::Left,
                PeerStatus::Ringing | PeerStatus::Gone => PeerStatus::Gone,
            };
        }
        self.call.state = CallState::Terminated;
        self.call.result_info = result;
        self.call.termination_reason = termination_reason;
        self.call.audio_active = false;
        self.call.transfer = None;
        // Media ends with the call; its operations are gone with it (a call that ended answers 404).
        self.call.media_jobs.clear();
        self.call.dtmf_jobs.clear();
    }

    fn hang_up(&mut self) {
        if self.call.state == CallState::Terminating {
            return;
        }
        self.set_state(CallState::Terminating, None);
        self.end(codes::bot_hung_up(), None);
    }

    // ---- incoming calls -----------------------------------------------------------------------------------------

    fn answer(&mut self, answer: Answer) -> Result<(), Rejection> {
        self.require("answer", "incoming", self.call.state == CallState::Incoming)?;
        if answer.callback_uri.is_some() {
            self.call.callback_uri = answer.callback_uri;
        }
        self.call.api_version = answer.api_version;
        std::sync::Arc::make_mut(&mut self.call.resource).extend(answer.properties);
        self.call.media_hosting = answer.media_hosting;
        self.set_state(CallState::Establishing, None);
        self.establish();
        let parties: Vec<_> = self.call.connected_parties().map(|p| p.participant_id.clone()).collect();
        for participant_id in parties {
            self.arm_hang_up(&participant_id);
        }
        Ok(())
    }

    fn reject(&mut self, callback_uri: Option<String>) -> Result<(), Rejection> {
        self.require("reject", "incoming", self.call.state == CallState::Incoming)?;
        if callback_uri.is_some() {
            self.call.callback_uri = callback_uri;
        }
        self.finish(None, None);
        self.notify(NotificationKind::Rejected);
        Ok(())
    }

    fn redirect(
        &mut self,
        targets: Vec<Peer>,
        timeout: Duration,
        callback_uri: Option<String>,
    ) -> Result<(), Rejection> {
        self.require("redirect", "incoming", self.call.state == CallState::Incoming)?;
        if callback_uri.is_some() {
            self.call.callback_uri = callback_uri;
        }
        // Graph's examples show no notification for `redirecting`; the next one is the terminated call.
        self.call.state = CallState::Redirecting;
        let ids: Vec<_> = targets.iter().map(|t| t.participant_id.clone()).collect();
        self.call.peers.extend(targets);
        self.schedule(Timer::RedirectTimeout, timeout);
        for participant_id in ids {
            if self.call.is_terminated() {
                break;
            }
            self.offer(&participant_id);
        }
        Ok(())
    }

    /// The redirected call ends: `deleted` with the whole call (docs:call-redirect).
    fn end_redirect(&mut self, result: Option<ResultInfo>) {
        self.finish(result, None);
        self.notify(NotificationKind::Redirected);
    }

    // ---- transfer -----------------------------------------------------------------------------------------------

    fn transfer(&mut self, request: TransferRequest) -> Result<(), Rejection> {
        self.require("transfer", "established", self.call.state == CallState::Established)?;
        match (&self.call.kind, &request.transferee) {
            (CallKind::Meeting { .. }, _) => {
                return Err(Rejection::NotApplicable(
                    "transfer applies to peer-to-peer and group calls, not to meetings (docs:call-transfer)".into(),
                ));
            }
            (CallKind::PeerToPeer, Some(_)) => {
                return Err(Rejection::NotApplicable(
                    "'transferee' is only for transfers from a group call (docs:call-transfer); leave it out for a \
                     peer-to-peer call"
                        .into(),
                ));
            }
            (CallKind::Group, None) => {
                return Err(Rejection::NotApplicable(
                    "a transfer from a group call needs 'transferee': the participant to transfer (docs:call-transfer)"
                        .into(),
                ));
            }
            (CallKind::Group, Some(transferee)) => {
                if !self.call.peer(transferee).is_some_and(Peer::is_in_conversation) {
                    return Err(Rejection::UnknownParticipant(transferee.clone()));
                }
            }
            (CallKind::PeerToPeer, None) => {}
        }
        let target_id = request.target.participant_id.clone();
        self.call.peers.push(request.target);
        self.call.transfer = Some(Transfer {
            target: target_id.clone(),
            replaces_call_id: request.replaces.as_ref().map(|r| r.call_id.clone()),
            transferee: request.transferee,
        });
        self.set_state(CallState::Transferring, None);
        match request.replaces {
            Some(Replaces { problem: Some(problem), .. }) => self.transfer_failed(&problem),
            // The target is already talking to the bot in the replaced call: nothing rings.
            Some(Replaces { problem: None, .. }) => self.transfer_succeeded(),
            None => {
                self.schedule(Timer::TransferTimeout, self.call.ringing_timeout);
                self.offer(&target_id);
            }
        }
        Ok(())
    }

    fn transfer_succeeded(&mut self) {
        let Some(transfer) = self.call.transfer.clone() else { return };
        if let Some(target) = self.call.peer_mut(&transfer.target) {
            target.status = PeerStatus::Connected;
        }
        self.set_state(CallState::TransferAccepted, None);
        if let Some(replaced) = &transfer.replaces_call_id {
            self.effects.push(Effect::Schedule {
                call_id: replaced.clone(),
                timer: Timer::ReplacedByTransfer { call_id: self.call.id.clone() },
                at: self.now,
            });
        }
        match &transfer.transferee {
            // Group call: the transferee leaves; the bot stays in the call. Graph documents no notifications for
            // this case; the call returns to established with the transfer's result, and the roster shrinks.
            Some(transferee) => {
                self.peer_left(transferee, Some("transferred"));
                if let Some(target) = self.call.peer_mut(&transfer.target) {
                    target.status = PeerStatus::Left;
                }
                self.call.transfer = None;
                self.set_state(CallState::Established, Some(codes::transfer_completed()));
                self.roster_changed(&[transferee]);
            }
            None => {
                // "Transfer accepted may happen after or before media state audio inactive" (docs:call-transfer).
                self.set_audio(false);
                let reason = transfer.replaces_call_id.is_some().then_some(codes::APP_TRANSFERRED);
                self.end(codes::transfer_completed(), reason);
            }
        }
    }

    fn transfer_failed(&mut self, reason: &str) {
        let Some(transfer) = self.call.transfer.take() else { return };
        if let Some(target) = self.call.peer_mut(&transfer.target) {
            target.status = PeerStatus::Gone;
        }
        let result = match transfer.replaces_call_id {
            Some(_) => codes::consultative_transfer_failed(reason),
            None => codes::transfer_failed(reason),
        };
        self.set_state(CallState::Established, Some(result));
    }

    // ---- timers -------------------------------------------------------------------------------------------------

    fn timer(&mut self, timer: Timer) {
        match timer {
            Timer::AnswerDeadline if self.call.state == CallState::Incoming => {
                self.end(codes::acceptance_timeout(), None)
            }
            Timer::KeepAliveDeadline => self.end(codes::keep_alive_timeout(), None),
            Timer::RingingTimeout => self.ringing_timed_out(),
            Timer::RedirectTimeout if self.call.state == CallState::Redirecting => {
                self.stop_ringing(PeerRole::RedirectTarget);
                self.end_redirect(Some(codes::no_answer()));
            }
            Timer::TransferTimeout if self.call.state == CallState::Transferring => {
                self.transfer_failed("the transfer target did not answer");
            }
            Timer::PeerResponds { participant_id } => {
                let Some(behaviour) = self
                    .call
                    .peer(&participant_id)
                    .filter(|p| p.status == PeerStatus::Ringing)
                    .and_then(Peer::behaviour)
                else {
                    return;
                };
                match behaviour.response {
                    Response::Answer { .. } => self.peer_answered(&participant_id),
                    Response::Reject { declined, .. } => self.peer_refused(&participant_id, codes::refused(declined)),
                    Response::Unreachable => self.peer_refused(&participant_id, codes::unreachable()),
                    Response::Ring => {}
                }
            }
            Timer::PeerHangsUp { participant_id } => {
                if self.call.peer(&participant_id).is_some_and(|p| p.status == PeerStatus::Connected) {
                    self.peer_hung_up(&participant_id);
                }
            }
            Timer::OperationDue { operation_id } => self.complete_operation(&operation_id),
            Timer::InviteTimeout { operation_id } => self.invite_timed_out(&operation_id),
            Timer::LobbyTimeout { participant_id } => self.lobby_timed_out(&participant_id),
            Timer::BotLobbyTimeout if self.call.bot.in_lobby => self.end(codes::lobby_timeout(), None),
            Timer::RosterSync { event, .. } => self.sync(event),
            Timer::ReplacedByTransfer { .. } => self.end(codes::transfer_completed(), Some(codes::APP_TRANSFERRED)),
            Timer::AnswerDeadline | Timer::RedirectTimeout | Timer::TransferTimeout | Timer::BotLobbyTimeout => {}
        }
    }

    fn stop_ringing(&mut self, role: PeerRole) -> usize {
        let mut stopped = 0;
        for peer in self.call.peers.iter_mut().filter(|p| p.role == role && p.status == PeerStatus::Ringing) {
            peer.status = PeerStatus::Gone;
            stopped += 1;
        }
        stopped
    }

    fn ringing_timed_out(&mut self) {
        self.call.ringing_timer_armed = false;
        if self.stop_ringing(PeerRole::Party) == 0 {
            return;
        }
        match self.call.kind {
            CallKind::PeerToPeer if self.call.connected_parties().next().is_none() => {
                self.end(codes::no_answer(), None)
            }
            CallKind::Group => self.end_if_group_is_empty(),
            _ => {}
        }
    }

    /// A group call with nobody ringing or connected besides the bot ends: 5013 if nobody ever joined, else 5002.
    fn end_if_group_is_empty(&mut self) {
        let parties = || self.call.peers.iter().filter(|p| p.role == PeerRole::Party);
        if parties().any(|p| matches!(p.status, PeerStatus::Ringing | PeerStatus::Connected)) {
            return;
        }
        let anyone_joined = parties().any(|p| p.status == PeerStatus::Left);
        self.end(if anyone_joined { codes::all_others_left() } else { codes::no_one_joined() }, None);
    }
}
