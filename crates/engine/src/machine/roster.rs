//! The people in a call as the bot manages them (graph-calls.md §b "Participant lifecycle"): invitations, removal,
//! server mute, hold, the meeting lobby, audio routing groups.

use serde_json::Value;

use super::{Machine, Rejection};
use crate::{
    Effect, codes,
    command::{Invitee, RosterEvent, Timer},
    model::{
        AudioRoutingGroup, Behaviour, CallKind, CallState, EndpointKind, Leg, Peer, PeerRole, PeerStatus, RosterState,
    },
};

/// Why a participant left the roster (`removedState.reason`); Graph does not document the values, so these name
/// what happened.
const REMOVED_BY_BOT: &str = "removedByApplication";
const LOBBY_TIMEOUT: &str = "lobbyTimeout";

impl Machine<'_> {
    /// A peer on the roster, by participant id; the bot's own leg is not one.
    pub(super) fn roster_peer(&mut self, participant_id: &str) -> Result<&mut Peer, Rejection> {
        self.call
            .peers
            .iter_mut()
            .find(|p| p.participant_id.eq_ignore_ascii_case(participant_id) && p.is_on_roster())
            .ok_or_else(|| Rejection::UnknownParticipant(participant_id.to_owned()))
    }

    /// A peer in the conversation (not in the lobby).
    pub(super) fn conversation_peer(&mut self, participant_id: &str) -> Result<&mut Peer, Rejection> {
        let peer = self.roster_peer(participant_id)?;
        if peer.roster.in_lobby {
            return Err(Rejection::NotApplicable(format!("participant '{participant_id}' is waiting in the lobby")));
        }
        Ok(peer)
    }

    /// A peer waiting in the lobby.
    pub(super) fn lobby_peer(&mut self, participant_id: &str) -> Result<&mut Peer, Rejection> {
        let peer = self.roster_peer(participant_id)?;
        if !peer.roster.in_lobby {
            return Err(Rejection::NotApplicable(format!("participant '{participant_id}' is not in the lobby")));
        }
        Ok(peer)
    }

    /// Invites people into the call; returns the ones that ring (the operation waits for them). A peer-to-peer call
    /// becomes a group call: "Your bot can initiate escalation by inviting others" (calls-api-overview).
    pub(super) fn invite(&mut self, operation_id: &str, invitees: Vec<Invitee>) -> Result<Vec<String>, Rejection> {
        if matches!(self.call.kind, CallKind::Meeting { .. } | CallKind::Group)
            && self.call.state != CallState::Established
        {
            return Err(Rejection::WrongState { action: "invite", state: self.call.state, expected: "established" });
        }
        // "The invite API supports only one participant when replacesCallId is provided … only the first participant
        // will be read" (docs:participant-invite example 3).
        let invitees: Vec<Invitee> = match invitees.iter().position(|i| i.replaces.is_some()) {
            Some(_) => invitees.into_iter().take(1).collect(),
            None => invitees,
        };
        for invitee in &invitees {
            // "The same identity cannot be invited multiple times" (res:call). Graph does not document the answer;
            // Switchboard refuses the request.
            let endpoint = &invitee.peer.endpoint_id;
            let present = self.call.peers.iter().any(|p| {
                p.role == PeerRole::Party
                    && matches!(p.status, PeerStatus::Ringing | PeerStatus::Connected)
                    && !endpoint.is_empty()
                    && p.endpoint_id.eq_ignore_ascii_case(endpoint)
            });
            if present {
                return Err(Rejection::NotApplicable(format!(
                    "{endpoint} is already in the call or invited to it; the same identity cannot be invited twice"
                )));
            }
        }
        if self.call.kind == CallKind::PeerToPeer {
            self.call.kind = CallKind::Group;
            let hide = self
                .call
                .resource
                .get("callOptions")
                .and_then(|o| o.get("hideBotAfterEscalation"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            self.call.bot.hidden = hide;
        }
        let mut ringing = Vec::new();
        let mut joined = Vec::new();
        for Invitee { mut peer, replaces, .. } in invitees {
            peer.role = PeerRole::Party;
            let participant_id = peer.participant_id.clone();
            match replaces {
                Some(replaces) if replaces.problem.is_none() => {
                    // Already talking to the bot in the replaced call: it moves over without ringing.
                    peer.status = PeerStatus::Connected;
                    self.call.peers.push(peer);
                    self.effects.push(Effect::Schedule {
                        call_id: replaces.call_id,
                        timer: Timer::ReplacedByTransfer { call_id: self.call.id.clone() },
                        at: self.now,
                    });
                    self.arm_hang_up(&participant_id);
                    joined.push(participant_id);
                }
                Some(replaces) => {
                    let problem = replaces.problem.unwrap_or_default();
                    return Err(Rejection::NotApplicable(problem));
                }
                None => {
                    peer.status = PeerStatus::Ringing;
                    peer.roster.invitation = Some(operation_id.to_owned());
                    self.call.peers.push(peer);
                    ringing.push(participant_id);
                }
            }
        }
        if !joined.is_empty() {
            let changed: Vec<&str> = joined.iter().map(String::as_str).collect();
            self.roster_changed(&changed);
        }
        if !ringing.is_empty() {
            self.schedule(Timer::InviteTimeout { operation_id: operation_id.to_owned() }, self.call.ringing_timeout);
        }
        for participant_id in &ringing {
            self.offer(participant_id);
        }
        Ok(ringing)
    }

    /// Server mute (docs:participant-mute): "the server will drop all audio packets". The bot's own id mutes the
    /// bot, as `mute` on the call does.
    pub(super) fn server_mute(&mut self, participant_ids: &[String]) -> Result<(), Rejection> {
        for participant_id in participant_ids {
            if self.call.is_bot(participant_id) {
                self.call.bot.muted = true;
            } else {
                self.conversation_peer(participant_id)?.roster.server_muted = true;
            }
        }
        let changed: Vec<&str> = participant_ids.iter().map(String::as_str).collect();
        self.roster_changed(&changed);
        Ok(())
    }

    /// Puts a participant on hold with music; returns the failure the operation will report, if any.
    /// "Only one participant can be placed on hold at any given time" (docs:participant-startholdmusic). The docs do
    /// not say how a second request fails; Switchboard accepts it (202, running) and fails the operation with 409.
    pub(super) fn hold(
        &mut self,
        participant_id: &str,
        prompt: Option<crate::model::Prompt>,
    ) -> Result<Option<crate::model::ResultInfo>, Rejection> {
        let other = self
            .call
            .peers
            .iter()
            .find(|p| p.roster.on_hold && p.is_on_roster() && !p.participant_id.eq_ignore_ascii_case(participant_id))
            .map(|p| p.participant_id.clone());
        let peer = self.conversation_peer(participant_id)?;
        if let Some(other) = other {
            return Ok(Some(codes::hold_busy(&other)));
        }
        peer.roster.on_hold = true;
        peer.roster.hold_prompt = prompt;
        Ok(None)
    }

    /// Lets people waiting in the lobby into the conversation.
    pub(super) fn admit(&mut self, participant_ids: &[String]) -> Result<(), Rejection> {
        for participant_id in participant_ids {
            self.lobby_peer(participant_id)?.roster.in_lobby = false;
            self.arm_hang_up(participant_id);
        }
        let changed: Vec<&str> = participant_ids.iter().map(String::as_str).collect();
        self.roster_changed(&changed);
        Ok(())
    }

    /// `DELETE …/participants/{id}` (docs:participant-delete).
    pub(super) fn remove_participant(&mut self, participant_id: &str) -> Result<(), Rejection> {
        if !self.call.has_roster() {
            return Err(Rejection::NotApplicable(
                "participants can be removed from group calls and meetings; hang up a peer-to-peer call instead".into(),
            ));
        }
        if self.call.is_bot(participant_id) {
            return Err(Rejection::NotApplicable(
                "that is the bot's own participant: DELETE the call to leave it (docs:call-delete)".into(),
            ));
        }
        let peer = self
            .call
            .peers
            .iter()
            .find(|p| p.participant_id.eq_ignore_ascii_case(participant_id) && p.role == PeerRole::Party)
            .ok_or_else(|| Rejection::UnknownParticipant(participant_id.to_owned()))?;
        let participant_id = peer.participant_id.clone();
        match peer.status {
            // "If the participant is not yet answered, the outstanding invitation is cancelled" (docs:participant-delete).
            PeerStatus::Ringing => self.peer_refused(&participant_id, codes::invitation_cancelled()),
            // "an active participant … is dropped immediately, with no pre- or post-removal notification": to the
            // participant; the bot's roster shows it gone.
            PeerStatus::Connected => {
                self.peer_left(&participant_id, Some(REMOVED_BY_BOT));
                self.roster_changed(&[&participant_id]);
                if self.call.kind == CallKind::Group {
                    self.end_if_group_is_empty();
                }
            }
            PeerStatus::Left | PeerStatus::Gone => return Err(Rejection::UnknownParticipant(participant_id)),
        }
        Ok(())
    }

    pub(super) fn report_synthetic_media(&mut self, participant_id: &str, malicious: bool) -> Result<(), Rejection> {
        self.conversation_peer(participant_id)?.roster.synthetic_media_malicious = Some(malicious);
        Ok(())
    }

    /// Someone waited in the lobby too long: removed from the roster (docs:call-delete 200/5855).
    pub(super) fn lobby_timed_out(&mut self, participant_id: &str) {
        if self.call.peer(participant_id).is_some_and(|p| p.is_on_roster() && p.roster.in_lobby) {
            self.peer_left(participant_id, Some(LOBBY_TIMEOUT));
            self.roster_changed(&[participant_id]);
        }
    }

    /// Someone in the meeting admits the waiting bot.
    pub(super) fn admit_bot(&mut self) -> Result<(), Rejection> {
        if !self.call.bot.in_lobby {
            return Err(Rejection::NotApplicable("the bot is not waiting in the lobby".into()));
        }
        self.call.bot.in_lobby = false;
        self.set_audio(true);
        let bot = self.call.my_participant_id.clone();
        self.roster_changed(&[&bot]);
        Ok(())
    }

    // ---- audio routing groups (res:audioroutinggroup) --------------------------------------------------------------

    /// Sources and receivers "are participant ids that must exist": the bot's own or someone in the conversation.
    fn check_routing_members(&self, ids: &[String]) -> Result<(), Rejection> {
        for id in ids {
            if !self.call.is_bot(id)
                && !self.call.peers.iter().any(|p| p.participant_id.eq_ignore_ascii_case(id) && p.is_in_conversation())
            {
                return Err(Rejection::NotApplicable(format!(
                    "'{id}' is not a participant of the call; sources and receivers are participant ids"
                )));
            }
        }
        Ok(())
    }

    fn routing_groups_apply(&self) -> Result<(), Rejection> {
        if !self.call.has_roster() {
            return Err(Rejection::NotApplicable(
                "audio routing groups route audio between participants of a group call or meeting (res:audioroutinggroup)"
                    .into(),
            ));
        }
        if self.call.state != CallState::Established {
            return Err(Rejection::WrongState {
                action: "an audio routing group",
                state: self.call.state,
                expected: "established",
            });
        }
        Ok(())
    }

    pub(super) fn create_audio_routing_group(&mut self, group: AudioRoutingGroup) -> Result<(), Rejection> {
        self.routing_groups_apply()?;
        if self.call.audio_routing_groups.iter().any(|g| g.id == group.id) {
            return Err(Rejection::Conflict(format!("the call already has an audio routing group '{}'", group.id)));
        }
        self.check_routing_members(&group.sources)?;
        self.check_routing_members(&group.receivers)?;
        self.call.audio_routing_groups.push(group);
        Ok(())
    }

    pub(super) fn update_audio_routing_group(
        &mut self,
        id: &str,
        sources: Option<Vec<String>>,
        receivers: Option<Vec<String>>,
    ) -> Result<(), Rejection> {
        self.routing_groups_apply()?;
        for members in [&sources, &receivers].into_iter().flatten() {
            self.check_routing_members(members)?;
        }
        let group = self.audio_routing_group(id)?;
        if let Some(sources) = sources {
            group.sources = sources;
        }
        if let Some(receivers) = receivers {
            group.receivers = receivers;
        }
        // "oneToOne: sources and receivers have only one participant each; multicast: one source, multiple
        // receivers" (res:audioroutinggroup).
        let (sources, receivers) = (group.sources.len(), group.receivers.len());
        let valid = match group.routing_mode.as_str() {
            "oneToOne" => sources == 1 && receivers == 1,
            _ => sources == 1 && receivers >= 1,
        };
        if !valid {
            return Err(Rejection::NotApplicable(format!(
                "a {} audio routing group has one source and {} receiver{}",
                group.routing_mode,
                if group.routing_mode == "oneToOne" { "one" } else { "one or more" },
                if group.routing_mode == "oneToOne" { "" } else { "s" }
            )));
        }
        Ok(())
    }

    pub(super) fn delete_audio_routing_group(&mut self, id: &str) -> Result<(), Rejection> {
        self.audio_routing_group(id)?;
        self.call.audio_routing_groups.retain(|g| g.id != id);
        Ok(())
    }

    fn audio_routing_group(&mut self, id: &str) -> Result<&mut AudioRoutingGroup, Rejection> {
        self.call
            .audio_routing_groups
            .iter_mut()
            .find(|g| g.id == id)
            .ok_or_else(|| Rejection::NotFound(format!("the call has no audio routing group '{id}'")))
    }
}

impl Machine<'_> {
    /// Tells the other bots in a meeting about the roster changes of these participants.
    pub(super) fn broadcast(&mut self, changed: &[String]) {
        if self.call.meeting_id().is_none() {
            return;
        }
        for participant_id in changed {
            let event = if self.call.is_bot(participant_id) {
                if self.call.is_terminated() {
                    continue;
                }
                let identity = self.call.bot_identity();
                RosterEvent::Present {
                    participant_id: participant_id.clone(),
                    kind: EndpointKind::Application,
                    endpoint_id: participant_id.clone(),
                    identity,
                    in_lobby: self.call.bot.in_lobby,
                    client_muted: false,
                    server_muted: self.call.bot.muted,
                }
            } else {
                let Some(peer) = self.call.peer(participant_id) else { continue };
                if peer.is_on_roster() {
                    RosterEvent::Present {
                        participant_id: peer.participant_id.clone(),
                        kind: peer.kind,
                        endpoint_id: peer.endpoint_id.clone(),
                        identity: peer.identity.clone(),
                        in_lobby: peer.roster.in_lobby,
                        client_muted: peer.roster.client_muted,
                        server_muted: peer.roster.server_muted,
                    }
                } else {
                    RosterEvent::Left {
                        endpoint_id: peer.endpoint_id.clone(),
                        reason: peer.roster.removed_reason.clone(),
                    }
                }
            };
            self.effects.push(Effect::Broadcast(event));
        }
    }

    /// Another bot's call in the same meeting saw the roster change: this call's roster follows, without telling
    /// the others again. A change that changes nothing raises nothing.
    pub(super) fn sync(&mut self, event: RosterEvent) {
        if self.call.meeting_id().is_none() || self.call.state != CallState::Established {
            return;
        }
        self.syncing = true;
        match event {
            // Another bot muted this one.
            RosterEvent::Present { endpoint_id, server_muted, .. } if endpoint_id == self.call.my_participant_id => {
                if self.call.bot.muted != server_muted {
                    self.call.bot.muted = server_muted;
                    self.roster_changed(&[&endpoint_id]);
                }
            }
            RosterEvent::Present {
                participant_id,
                kind,
                endpoint_id,
                identity,
                in_lobby,
                client_muted,
                server_muted,
            } => {
                let existing =
                    self.call.peers.iter_mut().find(|p| p.role == PeerRole::Party && p.endpoint_id == endpoint_id);
                let changed = match existing {
                    Some(peer) => {
                        let before =
                            (peer.status, peer.roster.in_lobby, peer.roster.client_muted, peer.roster.server_muted);
                        peer.status = PeerStatus::Connected;
                        peer.roster.in_lobby = in_lobby;
                        peer.roster.client_muted = client_muted;
                        peer.roster.server_muted = server_muted;
                        let after =
                            (peer.status, peer.roster.in_lobby, peer.roster.client_muted, peer.roster.server_muted);
                        (before != after).then(|| peer.participant_id.clone())
                    }
                    None => {
                        self.call.peers.push(Peer {
                            participant_id: participant_id.clone(),
                            kind,
                            role: PeerRole::Party,
                            endpoint_id,
                            identity,
                            leg: Leg::Simulated(Behaviour::present(None)),
                            status: PeerStatus::Connected,
                            roster: RosterState { in_lobby, client_muted, server_muted, ..RosterState::default() },
                        });
                        Some(participant_id)
                    }
                };
                if let Some(participant_id) = changed {
                    self.roster_changed(&[&participant_id]);
                }
            }
            RosterEvent::Left { endpoint_id, reason } => {
                let present = self
                    .call
                    .peers
                    .iter()
                    .find(|p| p.endpoint_id == endpoint_id && p.is_on_roster())
                    .map(|p| p.participant_id.clone());
                if let Some(participant_id) = present {
                    self.peer_left(&participant_id, reason.as_deref());
                    self.roster_changed(&[&participant_id]);
                }
            }
        }
        self.syncing = false;
    }
}
