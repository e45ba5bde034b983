//! Every operation of the Graph calling API, defined once as data.
//!
//! [`ENDPOINTS`] lists each operation of `spec/graph-openapi/{v1.0,beta}-communications.yaml` with its method, path
//! template, versions, success status, response, documented permissions and how well Graph documents it. The HTTP
//! router resolves requests against it ([`resolve`]), the permission check reads its permissions, and
//! `docs/compatibility.md` is generated from it. A test counts it against both OpenAPI files.
//!
//! Paths are written relative to the calls root. Graph serves them under `/communications/calls` and under the
//! deprecated `/app/calls` alias; both roots are served for both versions (the beta docs list `/app`, and the
//! `Calls.Initiate.All` permission page lists `/app/calls/...` under v1.0 too).

mod endpoints;
mod path;

pub use endpoints::ENDPOINTS;
pub use path::{PathParams, Resolution, Root, resolve};

/// A Graph API version, the first segment of every Graph URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum ApiVersion {
    #[serde(rename = "v1.0")]
    V1,
    #[serde(rename = "beta")]
    Beta,
}

impl ApiVersion {
    pub const ALL: [ApiVersion; 2] = [ApiVersion::V1, ApiVersion::Beta];

    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V1 => "v1.0",
            ApiVersion::Beta => "beta",
        }
    }

    /// Graph matches the version segment without regard to case.
    pub fn parse(segment: &str) -> Option<ApiVersion> {
        ApiVersion::ALL.into_iter().find(|v| v.as_str().eq_ignore_ascii_case(segment))
    }
}

/// The versions an operation exists in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    Both,
    BetaOnly,
}

impl Availability {
    pub fn includes(self, version: ApiVersion) -> bool {
        matches!((self, version), (Availability::Both, _) | (Availability::BetaOnly, ApiVersion::Beta))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    pub fn parse(text: &str) -> Option<Method> {
        [Method::Get, Method::Post, Method::Put, Method::Patch, Method::Delete].into_iter().find(|m| m.as_str() == text)
    }
}

/// Graph's application permissions for calls (the real app-role names; the docs misspell several, see
/// `shared/reference/graph-calls.md` §a).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    CallsInitiateAll,
    CallsInitiateGroupCallAll,
    CallsJoinGroupCallAll,
    CallsJoinGroupCallAsGuestAll,
    CallsAccessMediaAll,
    /// A Teams resource-specific-consent permission, granted per chat rather than tenant-wide (docs:application-post-calls).
    CallsJoinGroupCallsChat,
    /// The resource-specific-consent counterpart of `Calls.AccessMedia.All`.
    CallsAccessMediaChat,
}

impl Permission {
    pub const ALL: [Permission; 7] = [
        Permission::CallsInitiateAll,
        Permission::CallsInitiateGroupCallAll,
        Permission::CallsJoinGroupCallAll,
        Permission::CallsJoinGroupCallAsGuestAll,
        Permission::CallsAccessMediaAll,
        Permission::CallsJoinGroupCallsChat,
        Permission::CallsAccessMediaChat,
    ];

    /// The role name as it appears in a token's `roles` claim.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::CallsInitiateAll => "Calls.Initiate.All",
            Permission::CallsInitiateGroupCallAll => "Calls.InitiateGroupCall.All",
            Permission::CallsJoinGroupCallAll => "Calls.JoinGroupCall.All",
            Permission::CallsJoinGroupCallAsGuestAll => "Calls.JoinGroupCallAsGuest.All",
            Permission::CallsAccessMediaAll => "Calls.AccessMedia.All",
            Permission::CallsJoinGroupCallsChat => "Calls.JoinGroupCalls.Chat",
            Permission::CallsAccessMediaChat => "Calls.AccessMedia.Chat",
        }
    }

    /// A role name, matched without regard to case as Entra ID matches app-role values.
    pub fn parse(name: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str().eq_ignore_ascii_case(name.trim()))
    }
}

/// When Graph checks an operation's permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PermissionCheck {
    /// On every request: the token must carry one of the listed permissions.
    OnRequest,
    /// "Permissions are checked when the call is created; no additional permission check is made when calling this
    /// API" (docs:call-playprompt, call-delete, call-keepalive, call-mute, call-cancelmediaprocessing …): the app
    /// that owns the call may act on it.
    AtCallCreation,
}

/// What the successful response carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    /// No body.
    Empty,
    /// One entity of the named type (`microsoft.graph.call`).
    Entity(&'static str),
    /// `{"value": [...]}` of the named type.
    Collection(&'static str),
    /// A `commsOperation` subtype, with a `Location` header pointing at `/operations/{id}`.
    Operation(&'static str),
    /// An OData `$count`: a plain-text integer.
    Count,
    /// Raw bytes (`application/octet-stream`).
    Binary,
}

/// How much of an operation Graph documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Documentation {
    /// A Graph API reference page states the status code and body.
    Documented { source: &'static str },
    /// The resource pages, SDKs or the old permission map show the operation; its status code is assumed.
    Inferred { source: &'static str },
    /// Generated by the OpenAPI converter for every navigation property, but not a Graph operation: Switchboard
    /// rejects it as Graph's gateway rejects a method a URL does not support (405 `methodNotAllowed`).
    Undocumented,
}

/// Identifies an operation; the HTTP layer matches on it exhaustively, so a new catalogue entry cannot go unrouted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EndpointId {
    ListCalls,
    CreateCall,
    CountCalls,
    GetCall,
    UpdateCall,
    DeleteCall,
    LogTeleconferenceDeviceQuality,
    AddLargeGalleryView,
    Answer,
    CancelMediaProcessing,
    ChangeScreenSharingRole,
    KeepAlive,
    Mute,
    PlayPrompt,
    Record,
    RecordResponse,
    Redirect,
    Reject,
    SendDtmfTones,
    StartRecording,
    StopRecording,
    StartTranscription,
    StopTranscription,
    SubscribeToTone,
    Transfer,
    Unmute,
    UpdateRecordingStatus,
    ListAudioRoutingGroups,
    CreateAudioRoutingGroup,
    CountAudioRoutingGroups,
    GetAudioRoutingGroup,
    UpdateAudioRoutingGroup,
    DeleteAudioRoutingGroup,
    ListContentSharingSessions,
    CreateContentSharingSession,
    CountContentSharingSessions,
    GetContentSharingSession,
    UpdateContentSharingSession,
    DeleteContentSharingSession,
    GetPngOfCurrentSlide,
    UpdatePngOfCurrentSlide,
    ListOperations,
    CreateOperation,
    CountOperations,
    GetOperation,
    UpdateOperation,
    DeleteOperation,
    ListParticipants,
    CreateParticipant,
    CountParticipants,
    GetParticipant,
    UpdateParticipant,
    DeleteParticipant,
    InviteParticipants,
    MuteAllParticipants,
    AdmitAllFromLobby,
    MuteParticipant,
    StartHoldMusic,
    StopHoldMusic,
    AdmitFromLobby,
    RemoveFromLobby,
    ReportSyntheticMedia,
}

impl EndpointId {
    /// The operation's name in lower camel case (`createCall`, `answer`, `keepAlive`), as `docs/compatibility.md`
    /// and the test-control API's faults name it.
    pub fn key(self) -> String {
        let name = format!("{self:?}");
        let mut chars = name.chars();
        chars.next().map(|first| first.to_ascii_lowercase().to_string() + chars.as_str()).unwrap_or_default()
    }

    /// The operation a [`EndpointId::key`] names.
    pub fn from_key(key: &str) -> Option<EndpointId> {
        ENDPOINTS.iter().map(|e| e.id).find(|id| id.key() == key)
    }
}

/// What an operation addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A collection (`/calls`, `/{call-id}/participants`): list or create.
    Collection,
    /// One entity: get, update, delete.
    Entity,
    /// A bound action (`POST …/answer`); Graph also accepts its last segment namespace-qualified
    /// (`…/microsoft.graph.answer`), as the pre-Kiota .NET SDK sends it.
    Action,
    /// `$count` of a collection.
    Count,
    /// A stream property (`pngOfCurrentSlide`).
    Stream,
}

/// One operation of the Graph calling API.
#[derive(Debug)]
pub struct Endpoint {
    pub id: EndpointId,
    /// A short name for messages and the compatibility table: `call: answer`.
    pub name: &'static str,
    pub method: Method,
    pub kind: Kind,
    /// The template below the calls root, e.g. `/{call-id}/answer`; `""` is the root itself.
    pub path: &'static str,
    pub availability: Availability,
    /// The documented (or, for inferred operations, assumed) success status.
    pub success: u16,
    pub response: Response,
    /// The documented application permissions, least privileged first.
    pub permissions: &'static [Permission],
    pub permission_check: PermissionCheck,
    pub documentation: Documentation,
}

impl Endpoint {
    /// The path under the canonical root, as the docs write it: `/communications/calls/{call-id}/answer`.
    pub fn display_path(&self) -> String {
        format!("/communications/calls{}", self.path)
    }

    pub fn find(id: EndpointId) -> &'static Endpoint {
        ENDPOINTS
            .iter()
            .find(|e| e.id == id)
            .expect("every EndpointId has exactly one ENDPOINTS entry (catalogue test)")
    }
}
