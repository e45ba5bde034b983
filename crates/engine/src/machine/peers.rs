//! What simulated endpoints do: answer, refuse, hang up, join, mute themselves, share content.

use super::{Machine, Rejection};
use crate::{
    codes,
    command::{Change, NotificationKind, PeerAction, Timer},
    model::{CallKind, CallState, ContentSharingSession, EndpointKind, Peer, PeerRole, PeerStatus, ResultInfo},
};

impl Machine<'_> {
    pub(super) fn peer_action(&mut self, participant_id: &str, action: PeerAction) -> Result<(), Rejection> {
        let peer =
            self.call.peer(participant_id).ok_or_else(|| Rejection::UnknownParticipant(participant_id.into()))?;
        let ringing = peer.status == PeerStatus::Ringing;
        let on_roster = peer.is_on_roster();
        let in_conversation = peer.is_in_conversation();
        let wrong = |expected| Rejection::NotApplicable(format!("participant '{participant_id}' is not {expected}"));
        match action {
            PeerAction::Answer if ringing => self.peer_answered(participant_id),
            PeerAction::Reject { declined } if ringing => self.peer_refused(participant_id, codes::refused(declined)),
            PeerAction::Answer | PeerAction::Reject { .. } => return Err(wrong("ringing")),
            PeerAction::HangUp if on_roster => self.peer_hung_up(participant_id),
            PeerAction::HangUp => return Err(wrong("connected")),
            _ if !in_conversation => return Err(wrong("in the conversation")),
            PeerAction::Mute | PeerAction::Unmute => {
                let unmuting = action == PeerAction::Unmute;
                let peer = self.call.peer_mut(participant_id).expect("looked up above");
                peer.roster.client_muted = !unmuting;
                if unmuting {
                    peer.roster.server_muted = false;
                }
                self.roster_changed(&[participant_id]);
            }
            PeerAction::StartSharing { session_id, png } => {
                if self.call.content_sharing_sessions.iter().any(|s| s.presenter_participant_id == participant_id) {
                    return Err(Rejection::NotApplicable(format!("participant '{participant_id}' already shares")));
                }
                let session = ContentSharingSession {
                    id: session_id.clone(),
                    presenter_participant_id: participant_id.to_owned(),
                    png_of_current_slide: png,
                };
                self.call.content_sharing_sessions.push(session);
                self.content_sharing_changed(Change::Created, &session_id);
            }
            PeerAction::ShowSlide { png } => {
                let session = self
                    .call
                    .content_sharing_sessions
                    .iter_mut()
                    .find(|s| s.presenter_participant_id == participant_id)
                    .ok_or_else(|| wrong("sharing"))?;
                session.png_of_current_slide = Some(png);
                let session_id = session.id.clone();
                self.content_sharing_changed(Change::Updated, &session_id);
            }
            PeerAction::StopSharing => {
                if !self.stop_sharing(participant_id) {
                    return Err(wrong("sharing"));
                }
            }
        }
        Ok(())
    }

    /// Ends the participant's content sharing session, if it has one.
    pub(super) fn stop_sharing(&mut self, participant_id: &str) -> bool {
        let sessions = &mut self.call.content_sharing_sessions;
        let Some(index) = sessions.iter().position(|s| s.presenter_participant_id == participant_id) else {
            return false;
        };
        let session = sessions.remove(index);
        self.content_sharing_changed(Change::Deleted, &session.id);
        true
    }

    /// Content sharing notifications go out only when the bot asked for them: "when
    /// callOptions.isContentSharingNotificationEnabled = true" (docs:application-post-calls).
    fn content_sharing_changed(&mut self, change: Change, session_id: &str) {
        let enabled = self
            .call
            .resource
            .get("callOptions")
            .and_then(|o| o.get("isContentSharingNotificationEnabled"))
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        if enabled {
            self.notify(NotificationKind::ContentSharing { change, session_id: session_id.to_owned() });
        }
    }

    pub(super) fn join(&mut self, mut peer: Peer) -> Result<(), Rejection> {
        if !self.call.has_roster() {
            return Err(Rejection::NotApplicable("only group calls and meetings can be joined".into()));
        }
        self.require("a join", "established", self.call.state == CallState::Established)?;
        peer.role = PeerRole::Party;
        peer.status = PeerStatus::Connected;
        let participant_id = peer.participant_id.clone();
        let waits = peer.roster.in_lobby;
        self.call.peers.push(peer);
        if waits {
            if let Some(timeout) = self.call.lobby_timeout {
                self.schedule(Timer::LobbyTimeout { participant_id: participant_id.clone() }, timeout);
            }
        } else {
            self.arm_hang_up(&participant_id);
        }
        self.roster_changed(&[&participant_id]);
        Ok(())
    }

    pub(super) fn peer_answered(&mut self, participant_id: &str) {
        let Some(peer) = self.call.peer_mut(participant_id) else { return };
        peer.status = PeerStatus::Connected;
        let role = peer.role;
        let identity = peer.identity.clone();
        let invitation = peer.roster.invitation.take();
        match role {
            PeerRole::Party => {
                self.arm_hang_up(participant_id);
                // The invite operation's completion comes before the roster update (docs:participant-invite).
                if let Some(operation_id) = invitation {
                    self.invitee_resolved(&operation_id, participant_id, None);
                }
                if self.call.kind == CallKind::PeerToPeer {
                    self.establish();
                } else {
                    self.roster_changed(&[participant_id]);
                }
            }
            PeerRole::RedirectTarget => {
                self.call.answered_by = Some(identity);
                self.end_redirect(None);
            }
            PeerRole::TransferTarget => self.transfer_succeeded(),
        }
    }

    pub(super) fn peer_refused(&mut self, participant_id: &str, result: ResultInfo) {
        let Some(peer) = self.call.peer_mut(participant_id) else { return };
        peer.status = PeerStatus::Gone;
        let role = peer.role;
        if let Some(operation_id) = peer.roster.invitation.take() {
            // A failed invitation fails its operation; the call itself goes on.
            self.invitee_resolved(&operation_id, participant_id, Some(result));
            return;
        }
        match role {
            PeerRole::Party if self.call.kind == CallKind::PeerToPeer => self.end(result, None),
            PeerRole::Party => self.end_if_group_is_empty(),
            PeerRole::RedirectTarget => {
                let ringing = self
                    .call
                    .peers
                    .iter()
                    .any(|p| p.role == PeerRole::RedirectTarget && p.status == PeerStatus::Ringing);
                if !ringing {
                    self.end_redirect(Some(result));
                }
            }
            PeerRole::TransferTarget => {
                self.transfer_failed(&format!("the transfer target refused: {}", result.message))
            }
        }
    }

    /// Someone on the roster leaves: hangs up, leaves the meeting, is removed or is transferred away.
    pub(super) fn peer_left(&mut self, participant_id: &str, reason: Option<&str>) {
        let Some(peer) = self.call.peer_mut(participant_id) else { return };
        peer.status = PeerStatus::Left;
        peer.roster.on_hold = false;
        peer.roster.removed_reason = reason.map(str::to_owned);
        self.stop_sharing(participant_id);
    }

    pub(super) fn peer_hung_up(&mut self, participant_id: &str) {
        let Some(kind) = self.call.peer(participant_id).map(|p| p.kind) else { return };
        self.peer_left(participant_id, None);
        match self.call.kind {
            CallKind::PeerToPeer => {
                let result = if kind == EndpointKind::Phone { codes::pstn_hung_up() } else { codes::peer_hung_up() };
                self.end(result, None);
            }
            CallKind::Group => {
                self.roster_changed(&[participant_id]);
                self.end_if_group_is_empty();
            }
            CallKind::Meeting { .. } => self.roster_changed(&[participant_id]),
        }
    }
}
