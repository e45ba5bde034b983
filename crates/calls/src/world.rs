//! The simulated world of each tenant: directory users, phone numbers, other bots and online meetings, each with a
//! behaviour, kept in the store. Calls find their other ends here.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use switchboard_engine::model::{
    Behaviour, EndpointKind, Identity, IdentityKind, IdentitySet, Leg, Peer, PeerRole, PeerStatus, RosterState,
};
use switchboard_store::{Store, StoreError, WorldEntityRecord};
use uuid::Uuid;

/// The world's settings from the configuration file; each tenant starts from them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorldConfig {
    /// Strict: a call to an identity that is not in the world fails the way Graph fails an unknown callee
    /// (480/10037). Otherwise (dev mode) the identity is created on first use with the default behaviour.
    pub strict: bool,
    /// How simulated endpoints behave unless told otherwise.
    pub default_behaviour: Behaviour,
    /// How long an outgoing call rings before it gives up, unless the bot sets beta `ringingTimeoutInSeconds`.
    #[serde(rename = "ringingTimeoutMs", with = "switchboard_engine::model::millis")]
    pub ringing_timeout: Duration,
}

impl Default for WorldConfig {
    fn default() -> WorldConfig {
        WorldConfig { strict: false, default_behaviour: Behaviour::default(), ringing_timeout: Duration::from_secs(60) }
    }
}

/// A kind of thing the world holds.
pub trait Entity: Serialize + DeserializeOwned + Send + Sync {
    /// The kind's name in the store and in `/_sim` URLs.
    const KIND: &'static str;
    fn key(&self) -> &str;
    /// Checks a new or replaced entity and fills in what may be left out.
    fn prepare(&mut self) -> Result<(), WorldError>;
}

/// A directory user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SimUser {
    /// The Entra object id; made up when left out.
    #[serde(default)]
    pub id: String,
    pub display_name: String,
    #[serde(default)]
    pub user_principal_name: Option<String>,
    /// From outside the organization (a guest or federated user): meeting lobbies that admit only the organization
    /// hold them.
    #[serde(default)]
    pub guest: bool,
    /// `None`: the tenant's default behaviour.
    #[serde(default)]
    pub behaviour: Option<Behaviour>,
}

impl Entity for SimUser {
    const KIND: &'static str = "users";
    fn key(&self) -> &str {
        &self.id
    }
    fn prepare(&mut self) -> Result<(), WorldError> {
        prepare_named(&mut self.id, &self.display_name)
    }
}

/// A user or bot: a GUID (made up when left out) and a display name.
fn prepare_named(id: &mut String, display_name: &str) -> Result<(), WorldError> {
    if id.is_empty() {
        *id = Uuid::new_v4().to_string();
    }
    *id = canonical_id(id, "id")?;
    non_empty(display_name, "displayName")
}

/// A PSTN number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SimPhone {
    /// E.164, as Graph writes phone identities (`+12345678901`, docs:call-transfer example 3).
    pub number: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub behaviour: Option<Behaviour>,
}

impl Entity for SimPhone {
    const KIND: &'static str = "phones";
    fn key(&self) -> &str {
        &self.number
    }
    fn prepare(&mut self) -> Result<(), WorldError> {
        self.number = e164(&self.number)?;
        Ok(())
    }
}

/// Another bot: an application, or an application instance (the resource account a bot uses for phone numbers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SimBot {
    #[serde(default)]
    pub id: String,
    pub display_name: String,
    /// An application instance rather than an application.
    #[serde(default)]
    pub instance: bool,
    #[serde(default)]
    pub behaviour: Option<Behaviour>,
}

impl Entity for SimBot {
    const KIND: &'static str = "bots";
    fn key(&self) -> &str {
        &self.id
    }
    fn prepare(&mut self) -> Result<(), WorldError> {
        prepare_named(&mut self.id, &self.display_name)
    }
}

/// Someone in a meeting before the bot joins, and how long they stay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SimAttendee {
    pub user_id: String,
    /// Leaves this long after the bot joined; `None` stays.
    #[serde(default, rename = "leaveAfterMs")]
    pub leave_after_ms: Option<u64>,
}

/// An online meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SimMeeting {
    #[serde(default)]
    pub id: String,
    /// What `joinMeetingIdMeetingInfo.joinMeetingId` names (docs:application-post-calls example 7).
    #[serde(default)]
    pub join_meeting_id: String,
    #[serde(default)]
    pub passcode: Option<String>,
    #[serde(default)]
    pub join_web_url: String,
    /// The meeting chat (`chatInfo.threadId`), what an `organizerMeetingInfo` join names.
    #[serde(default)]
    pub thread_id: String,
    /// The organizer's user id.
    pub organizer_id: String,
    #[serde(default)]
    pub subject: Option<String>,
    /// Who is in the meeting when a bot joins.
    #[serde(default)]
    pub attendees: Vec<SimAttendee>,
    /// Who may bypass the lobby (onlineMeeting `lobbyBypassSettings.scope`).
    #[serde(default)]
    pub lobby_bypass: LobbyBypass,
    /// How long someone waits in the lobby before being removed (200/5855).
    #[serde(default = "default_lobby_timeout_ms", rename = "lobbyTimeoutMs")]
    pub lobby_timeout_ms: u64,
}

/// onlineMeeting `lobbyBypassSettings.scope`: who joins without waiting in the lobby.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LobbyBypass {
    /// Only the organizer.
    Organizer,
    /// People of the organization, which includes a bot joining with `Calls.JoinGroupCall.All` (Teams' default).
    #[default]
    Organization,
    OrganizationAndFederated,
    OrganizationExcludingGuests,
    /// The people invited: those listed in the meeting's attendees.
    Invited,
    Everyone,
}

impl SimMeeting {
    /// Whether someone joining waits in the lobby. `guest`: from outside the organization (a guest user, or a bot
    /// joining as a guest with only `Calls.JoinGroupCallAsGuest.All`); `user_id`: who, when a user.
    pub fn holds_in_lobby(&self, user_id: Option<&str>, guest: bool) -> bool {
        match self.lobby_bypass {
            LobbyBypass::Everyone => false,
            LobbyBypass::Organization
            | LobbyBypass::OrganizationAndFederated
            | LobbyBypass::OrganizationExcludingGuests => guest,
            LobbyBypass::Organizer => user_id != Some(self.organizer_id.as_str()),
            LobbyBypass::Invited => !user_id.is_some_and(|id| self.attendees.iter().any(|a| a.user_id == id)),
        }
    }

    pub fn lobby_timeout(&self) -> Duration {
        Duration::from_millis(self.lobby_timeout_ms)
    }

    pub fn default_lobby_timeout_ms() -> u64 {
        15 * 60 * 1000
    }
}

/// Teams' lobby gives up on someone after a while; Graph does not say how long. 15 minutes.
fn default_lobby_timeout_ms() -> u64 {
    SimMeeting::default_lobby_timeout_ms()
}

impl Entity for SimMeeting {
    const KIND: &'static str = "meetings";
    fn key(&self) -> &str {
        &self.id
    }
    fn prepare(&mut self) -> Result<(), WorldError> {
        let seed = Uuid::new_v4();
        if self.id.is_empty() {
            self.id = seed.to_string();
        }
        if self.join_meeting_id.is_empty() {
            // Teams join ids are long digit strings.
            self.join_meeting_id = (seed.as_u128() % 10u128.pow(12)).to_string();
        }
        if self.thread_id.is_empty() {
            self.thread_id = format!("19:meeting_{}@thread.v2", seed.simple());
        }
        if self.join_web_url.is_empty() {
            self.join_web_url = format!(
                "https://teams.microsoft.com/l/meetup-join/{}/0",
                self.thread_id.replace(':', "%3a").replace('@', "%40")
            );
        }
        self.organizer_id = canonical_id(&self.organizer_id, "organizerId")?;
        for attendee in &mut self.attendees {
            attendee.user_id = canonical_id(&attendee.user_id, "attendees[].userId")?;
        }
        Ok(())
    }
}

/// A tenant's settings that override the configuration file at run time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Defaults {
    pub strict: bool,
    pub behaviour: Behaviour,
}

#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    #[error("{0}")]
    Invalid(String),
    #[error("no simulated {kind} '{key}' in tenant {tenant_id}")]
    NotFound { kind: &'static str, key: String, tenant_id: Uuid },
    #[error("the stored simulated {kind} '{key}' cannot be read: {error}")]
    Corrupt { kind: String, key: String, error: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn non_empty(value: &str, name: &str) -> Result<(), WorldError> {
    if value.trim().is_empty() { Err(WorldError::Invalid(format!("'{name}' must not be empty"))) } else { Ok(()) }
}

/// Entra object ids are GUIDs; Graph compares them without regard to case, Switchboard keeps them lower-case.
fn canonical_id(value: &str, name: &str) -> Result<String, WorldError> {
    value
        .parse::<Uuid>()
        .map(|id| id.to_string())
        .map_err(|_| WorldError::Invalid(format!("'{name}' must be a GUID, not '{value}'")))
}

/// A phone number in E.164: `+` and 8 to 15 digits.
pub fn e164(value: &str) -> Result<String, WorldError> {
    let digits = value.strip_prefix('+').unwrap_or("");
    if (8..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) {
        Ok(value.to_owned())
    } else {
        Err(WorldError::Invalid(format!("'{value}' is not an E.164 phone number (+ and 8 to 15 digits)")))
    }
}

/// An endpoint of the world, ready to be a peer in a call.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub kind: EndpointKind,
    pub endpoint_id: String,
    /// Who it is.
    pub identity: IdentitySet,
    pub behaviour: Behaviour,
}

impl Endpoint {
    /// The endpoint as a peer of a call, with a fresh roster; the world's endpoints are all simulated.
    pub fn into_peer(self, participant_id: String, role: PeerRole, status: PeerStatus) -> Peer {
        Peer {
            participant_id,
            kind: self.kind,
            role,
            endpoint_id: self.endpoint_id,
            identity: self.identity,
            leg: Leg::Simulated(self.behaviour),
            status,
            roster: RosterState::default(),
        }
    }
}

/// Why an identity names nobody Switchboard can ring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    /// Strict mode and no such entity: the call fails like a call to an unknown callee.
    Unknown(String),
    /// An identity kind the world does not simulate (guest, ACS user, encrypted …): refused outright.
    Unsupported(String),
}

impl SimUser {
    pub fn identity(&self) -> IdentitySet {
        IdentitySet::one(IdentityKind::User, &self.id, Some(&self.display_name))
    }
}

impl SimBot {
    pub fn identity(&self) -> IdentitySet {
        let kind = if self.instance { IdentityKind::ApplicationInstance } else { IdentityKind::Application };
        IdentitySet::one(kind, &self.id, Some(&self.display_name))
    }
}

impl SimPhone {
    pub fn identity(&self) -> IdentitySet {
        IdentitySet::one(IdentityKind::Phone, &self.number, self.display_name.as_deref())
    }
}

/// The world, over the store.
#[derive(Clone)]
pub struct World<'a> {
    store: &'a dyn Store,
    config: &'a WorldConfig,
}

impl<'a> World<'a> {
    pub fn new(store: &'a dyn Store, config: &'a WorldConfig) -> World<'a> {
        World { store, config }
    }

    pub async fn put<E: Entity>(&self, tenant_id: Uuid, mut entity: E, now: DateTime<Utc>) -> Result<E, WorldError> {
        entity.prepare()?;
        let document = serde_json::to_string(&entity).expect("world entities are plain data and always serialise");
        let record = WorldEntityRecord {
            tenant_id,
            kind: E::KIND.into(),
            key: entity.key().to_owned(),
            document,
            updated_at: now,
        };
        self.store.put_world_entity(record).await?;
        Ok(entity)
    }

    pub async fn get<E: Entity>(&self, tenant_id: Uuid, key: &str) -> Result<Option<E>, WorldError> {
        let record = self.store.world_entity(tenant_id, E::KIND, key).await?;
        record.map(|r| decode(&r)).transpose()
    }

    pub async fn require<E: Entity>(&self, tenant_id: Uuid, key: &str) -> Result<E, WorldError> {
        self.get(tenant_id, key).await?.ok_or_else(|| WorldError::NotFound {
            kind: E::KIND,
            key: key.into(),
            tenant_id,
        })
    }

    pub async fn list<E: Entity>(&self, tenant_id: Uuid) -> Result<Vec<E>, WorldError> {
        self.store.world_entities(Some(tenant_id), Some(E::KIND)).await?.iter().map(decode).collect()
    }

    pub async fn delete<E: Entity>(&self, tenant_id: Uuid, key: &str) -> Result<(), WorldError> {
        if self.store.delete_world_entity(tenant_id, E::KIND, key).await? {
            Ok(())
        } else {
            Err(WorldError::NotFound { kind: E::KIND, key: key.into(), tenant_id })
        }
    }

    pub async fn defaults(&self, tenant_id: Uuid) -> Result<Defaults, WorldError> {
        match self.store.world_entity(tenant_id, DEFAULTS_KIND, DEFAULTS_KEY).await? {
            Some(record) => decode(&record),
            None => Ok(Defaults { strict: self.config.strict, behaviour: self.config.default_behaviour.clone() }),
        }
    }

    pub async fn set_defaults(
        &self,
        tenant_id: Uuid,
        defaults: &Defaults,
        now: DateTime<Utc>,
    ) -> Result<(), WorldError> {
        let document = serde_json::to_string(defaults).expect("defaults are plain data and always serialise");
        let record = WorldEntityRecord {
            tenant_id,
            kind: DEFAULTS_KIND.into(),
            key: DEFAULTS_KEY.into(),
            document,
            updated_at: now,
        };
        Ok(self.store.put_world_entity(record).await?)
    }

    pub fn ringing_timeout(&self) -> Duration {
        self.config.ringing_timeout
    }

    /// The endpoint an `identitySet` names, provisioning it on first use unless the tenant is strict.
    pub async fn resolve(
        &self,
        tenant_id: Uuid,
        identity_set: &IdentitySet,
        now: DateTime<Utc>,
    ) -> Result<Result<Endpoint, Unresolved>, WorldError> {
        let defaults = self.defaults(tenant_id).await?;
        let behaviour = |own: &Option<Behaviour>| own.clone().unwrap_or_else(|| defaults.behaviour.clone());
        let named = |kind: IdentityKind| identity_set.get(&kind);
        let id_of = |identity: &Identity| identity.id_or_empty().to_owned();
        let name_of = |identity: &Identity| identity.display_name.clone();

        if let Some(user) = named(IdentityKind::User) {
            let id = canonical_id(&id_of(user), "identity.user.id").map_err(|e| WorldError::Invalid(e.to_string()))?;
            let found = match self.get::<SimUser>(tenant_id, &id).await? {
                Some(found) => found,
                None if defaults.strict => return Ok(Err(Unresolved::Unknown(format!("user {id}")))),
                None => {
                    let display_name = name_of(user).unwrap_or_else(|| format!("Simulated user {}", &id[..8]));
                    let new = SimUser { id, display_name, user_principal_name: None, guest: false, behaviour: None };
                    self.put(tenant_id, new, now).await?
                }
            };
            return Ok(Ok(Endpoint {
                kind: EndpointKind::User,
                endpoint_id: found.id.clone(),
                identity: found.identity(),
                behaviour: behaviour(&found.behaviour),
            }));
        }
        if let Some(phone) = named(IdentityKind::Phone) {
            let number = e164(&id_of(phone))?;
            let found = match self.get::<SimPhone>(tenant_id, &number).await? {
                Some(found) => found,
                None if defaults.strict => return Ok(Err(Unresolved::Unknown(format!("phone {number}")))),
                None => {
                    let new = SimPhone { number, display_name: name_of(phone), behaviour: None };
                    self.put(tenant_id, new, now).await?
                }
            };
            return Ok(Ok(Endpoint {
                kind: EndpointKind::Phone,
                endpoint_id: found.number.clone(),
                identity: found.identity(),
                behaviour: behaviour(&found.behaviour),
            }));
        }
        for (kind, instance) in [(IdentityKind::Application, false), (IdentityKind::ApplicationInstance, true)] {
            let key = kind.key().to_owned();
            let Some(bot) = named(kind) else { continue };
            let id = canonical_id(&id_of(bot), &format!("identity.{key}.id"))?;
            let found = match self.get::<SimBot>(tenant_id, &id).await? {
                Some(found) => found,
                None if defaults.strict => return Ok(Err(Unresolved::Unknown(format!("{key} {id}")))),
                None => {
                    let display_name = name_of(bot).unwrap_or_else(|| format!("Simulated bot {}", &id[..8]));
                    self.put(tenant_id, SimBot { id, display_name, instance, behaviour: None }, now).await?
                }
            };
            return Ok(Ok(Endpoint {
                kind: EndpointKind::Application,
                endpoint_id: found.id.clone(),
                identity: found.identity(),
                behaviour: behaviour(&found.behaviour),
            }));
        }
        let kinds: Vec<&str> = identity_set.identities().map(|(kind, _)| kind.key()).collect();
        Ok(Err(Unresolved::Unsupported(if kinds.is_empty() {
            "the identity names no one: give 'user', 'phone', 'application' or 'applicationInstance'".into()
        } else {
            format!(
                "Switchboard's simulated world has users, phones, applications and application instances; it cannot \
                 ring '{}'",
                kinds.join("', '")
            )
        })))
    }

    /// The meeting a join names, by join id and passcode, by chat thread, or by id (a `tokenMeetingInfo` token).
    pub async fn find_meeting(&self, tenant_id: Uuid, key: &MeetingKey) -> Result<Option<SimMeeting>, WorldError> {
        let meetings = self.list::<SimMeeting>(tenant_id).await?;
        Ok(meetings.into_iter().find(|m| match key {
            MeetingKey::JoinMeetingId { join_meeting_id, .. } => m.join_meeting_id == *join_meeting_id,
            MeetingKey::Thread { thread_id, .. } => m.thread_id.eq_ignore_ascii_case(thread_id),
            MeetingKey::Token(token) => m.id == *token,
        }))
    }
}

/// How a bot names the meeting it joins (docs:application-post-calls examples 5–9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MeetingKey {
    JoinMeetingId { join_meeting_id: String, passcode: Option<String> },
    Thread { thread_id: String, organizer_id: Option<String> },
    Token(String),
}

const DEFAULTS_KIND: &str = "defaults";
const DEFAULTS_KEY: &str = "tenant";

fn decode<T: DeserializeOwned>(record: &WorldEntityRecord) -> Result<T, WorldError> {
    serde_json::from_str(&record.document).map_err(|e| WorldError::Corrupt {
        kind: record.kind.clone(),
        key: record.key.clone(),
        error: e.to_string(),
    })
}
