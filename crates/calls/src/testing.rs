//! What the crate's unit tests share.

use std::time::Duration;

use serde_json::Map;
use switchboard_catalogue::ApiVersion;
use switchboard_engine::{
    CallSetup,
    model::{CallKind, Direction, MediaHosting, Peer},
};
use uuid::Uuid;

/// An outgoing group call `id` to `peers`, before its start.
pub(crate) fn group_call(id: &str, peers: Vec<Peer>) -> CallSetup {
    CallSetup {
        id: id.into(),
        tenant_id: Uuid::nil(),
        app_id: Uuid::nil(),
        api_version: ApiVersion::V1,
        direction: Direction::Outgoing,
        kind: CallKind::Group,
        callback_uri: None,
        my_participant_id: "bot".into(),
        call_chain_id: "chain".into(),
        scenario_id: "scenario".into(),
        resource: Map::new(),
        media_hosting: MediaHosting::Service,
        application_instance: None,
        peers,
        ringing_timeout: Duration::from_secs(60),
        lobby_timeout: None,
        bot_in_lobby: false,
    }
}
