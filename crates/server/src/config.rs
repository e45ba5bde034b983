//! The server's settings: built-in defaults, overridden by a TOML file (`--config`), then by environment variables
//! and flags (clap reads both; a flag wins over its variable).

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use clap::{Args, ValueEnum};
use figment::{
    Figment,
    providers::{Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};
use switchboard_calls::{
    media::{
        MediaConfig,
        fetch::FetchPolicy,
        library::{FetchLimits, LibraryConfig},
    },
    world::WorldConfig,
};
use switchboard_egress::{AddressPolicy, IpNet};
use switchboard_engine::model::{Behaviour, Response};
use switchboard_identity::{AppConfig, DirectoryConfig, TenantConfig};
use switchboard_notify::{Destinations, Disorder, DispatcherConfig};
use switchboard_wire::Shapes;
use url::Url;

/// How strictly the server behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Mode {
    /// For developing and testing bots: plain-http callbacks to loopback hosts are accepted.
    Dev,
    /// For running calls for real: Graph's rules without the dev-mode conveniences.
    Production,
}

/// Who notification tokens say they come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum NotificationIssuer {
    /// Switchboard's own public URL.
    Switchboard,
    /// `https://api.botframework.com`, what Graph's notifications carry and the Graph samples accept.
    Botframework,
}

/// Which clock calls run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Clock {
    /// The wall clock.
    Realtime,
    /// A clock that moves only through `POST /_sim/clock/advance`: tests skip waits and run the same every time.
    Virtual,
}

/// How a simulated endpoint treats a call offered to it, in the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Reaction {
    Answer,
    Ring,
    Busy,
    Decline,
    Unreachable,
}

/// The `[world]` section: the simulated people, phones and bots every tenant starts with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WorldSettings {
    /// A call to an identity the world does not know fails as Graph fails an unknown callee; otherwise the identity
    /// is created on first use [default: false in dev mode, true in production]
    pub(crate) strict: Option<bool>,
    /// How simulated endpoints react to a call [default: answer]
    pub(crate) default_reaction: Reaction,
    /// After how long they react [default: 2s]
    #[serde(with = "humantime_serde")]
    pub(crate) default_reaction_after: Duration,
    /// After how long they hang up once connected [default: never]
    #[serde(default, with = "humantime_serde")]
    pub(crate) default_hang_up_after: Option<Duration>,
    /// How long an outgoing call rings before it gives up [default: 60s]
    #[serde(with = "humantime_serde")]
    pub(crate) ringing_timeout: Duration,
}

impl Default for WorldSettings {
    fn default() -> WorldSettings {
        WorldSettings {
            strict: None,
            default_reaction: Reaction::Answer,
            default_reaction_after: Duration::from_secs(2),
            default_hang_up_after: None,
            ringing_timeout: Duration::from_secs(60),
        }
    }
}

/// The `[notifications]` section: how notifications are delivered to bots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct NotificationSettings {
    /// How long one POST to a bot may take [default: 5s]
    #[serde(with = "humantime_serde")]
    pub(crate) timeout: Duration,
    /// The wait after the first failed attempt, doubling after each further one, with jitter [default: 1s]
    #[serde(with = "humantime_serde")]
    pub(crate) initial_backoff: Duration,
    /// The longest wait between attempts [default: 5m]
    #[serde(with = "humantime_serde")]
    pub(crate) max_backoff: Duration,
    /// Attempts before a notification is dead-lettered [default: 20]
    pub(crate) max_attempts: u32,
    /// No retry later than this after a notification was queued (or replayed) [default: 1h]
    #[serde(with = "humantime_serde")]
    pub(crate) retry_horizon: Duration,
    /// How long a notification that cannot be delivered holds its call's later ones back before it is set aside
    /// and they go on [default: 5s]
    #[serde(with = "humantime_serde")]
    pub(crate) max_hold_back: Duration,
    /// Calls delivered to at once [default: 128]
    pub(crate) concurrency: usize,
    /// Connections open at once to one receiving host [default: 32]
    pub(crate) connections_per_host: usize,
    /// Queued notifications of a call sent together in one commsNotifications body; 1 sends each alone [default: 1]
    pub(crate) batch_size: u32,
    /// How long delivered and dead-lettered notifications stay in the journal [default: 7d]
    #[serde(with = "humantime_serde")]
    pub(crate) journal_retention: Duration,
    /// The most delivered and dead-lettered notifications the journal keeps [default: 100000]
    pub(crate) journal_max_entries: u64,
    /// PEM files of certificates to trust for https receivers, besides the system's
    pub(crate) trust: Vec<PathBuf>,
    /// Whether receivers may have any address, loopback and private ones included [default: true in dev mode,
    /// false in production]
    pub(crate) allow_private_addresses: Option<bool>,
    /// Special-purpose networks receivers may be in all the same (`10.20.0.0/16`, `fd00::/8`), for bots on a
    /// private network
    pub(crate) allowed_networks: Vec<IpNet>,
    /// Deliberate out-of-order, duplicate and late deliveries, for testing bots [default: off]
    pub(crate) disorder: DisorderSettings,
}

impl Default for NotificationSettings {
    fn default() -> NotificationSettings {
        let dispatcher = DispatcherConfig::default();
        NotificationSettings {
            timeout: dispatcher.timeout,
            initial_backoff: dispatcher.initial_backoff,
            max_backoff: dispatcher.max_backoff,
            max_attempts: dispatcher.max_attempts,
            retry_horizon: dispatcher.retry_horizon,
            max_hold_back: dispatcher.max_hold_back,
            concurrency: dispatcher.concurrency,
            connections_per_host: dispatcher.connections_per_host,
            batch_size: dispatcher.batch_size,
            journal_retention: dispatcher.journal_retention,
            journal_max_entries: dispatcher.journal_max_entries,
            trust: Vec::new(),
            allow_private_addresses: None,
            allowed_networks: Vec::new(),
            disorder: DisorderSettings::default(),
        }
    }
}

/// `[notifications.disorder]`; also adjustable at run time through `/_sim/delivery`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct DisorderSettings {
    /// Up to this many of a call's queued notifications go out in random order
    pub(crate) reorder_window: u32,
    /// The chance (0 to 1) that a delivered notification is delivered once more
    pub(crate) duplicate_rate: f64,
    /// Every POST waits this long first …
    #[serde(with = "humantime_serde")]
    pub(crate) delay: Duration,
    /// … plus a random part of up to this much
    #[serde(with = "humantime_serde")]
    pub(crate) delay_jitter: Duration,
    /// Seeds the randomness, for disorder that repeats
    pub(crate) seed: Option<u64>,
}

impl DisorderSettings {
    pub(crate) fn disorder(&self) -> Disorder {
        Disorder {
            reorder_window: self.reorder_window,
            duplicate_rate: self.duplicate_rate,
            delay: self.delay,
            delay_jitter: self.delay_jitter,
            seed: self.seed,
        }
    }
}

/// The `[media]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct MediaSettings {
    /// Hosts prompts may be fetched from (`cdn.contoso.com`, `*.contoso.com`); empty: any host in dev mode, none in
    /// production
    pub(crate) allowed_hosts: Vec<String>,
    /// Whether prompt URLs may point at loopback or private addresses [default: true in dev mode, false in production]
    pub(crate) allow_private_addresses: Option<bool>,
    /// Special-purpose networks prompt hosts may be in all the same (`10.20.0.0/16`)
    pub(crate) allowed_networks: Vec<IpNet>,
    /// Largest prompt file fetched, in bytes [default: 20971520]
    pub(crate) max_prompt_bytes: u64,
    /// Prompts fetched and decoded at once, for all apps [default: 4] …
    pub(crate) fetches_at_once: usize,
    /// … and for any one app [default: 2]
    pub(crate) fetches_at_once_per_app: usize,
    /// Bytes of prompts held at once while they are fetched and decoded [default: 67108864]
    pub(crate) fetch_bytes_in_flight: u64,
    /// How long fetching one prompt may take [default: 10s]
    #[serde(with = "humantime_serde")]
    pub(crate) fetch_timeout: Duration,
    /// The longest audio accepted as a prompt or a simulated person's file [default: 10m]
    #[serde(with = "humantime_serde")]
    pub(crate) max_clip: Duration,
    /// How much of what each participant heard is kept for /_sim [default: 30m]
    #[serde(with = "humantime_serde")]
    pub(crate) capture_limit: Duration,
    /// How many ended calls keep what their participants heard [default: 100]
    pub(crate) kept_calls: usize,
    /// How long recordings are kept after their call ends [default: 1h]
    #[serde(with = "humantime_serde")]
    pub(crate) recording_retention: Duration,
    /// PEM files of CAs to trust for https prompt hosts, besides the system's (--tls adds its own CA)
    pub(crate) trust: Vec<PathBuf>,
}

impl Default for MediaSettings {
    fn default() -> MediaSettings {
        let media = MediaConfig::default();
        MediaSettings {
            allowed_hosts: Vec::new(),
            allow_private_addresses: None,
            allowed_networks: Vec::new(),
            max_prompt_bytes: media.library.fetch.max_bytes,
            fetches_at_once: media.library.fetches.at_once,
            fetches_at_once_per_app: media.library.fetches.at_once_per_app,
            fetch_bytes_in_flight: media.library.fetches.bytes_in_flight,
            fetch_timeout: media.library.fetch.timeout,
            max_clip: Duration::from_secs(media.library.max_seconds),
            capture_limit: media.capture_limit,
            kept_calls: media.kept_calls,
            recording_retention: media.recording_retention,
            trust: Vec::new(),
        }
    }
}

/// The `[fidelity]` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct FidelitySettings {
    /// Where Graph's documentation and its live traffic differ: `observed` sends what live Graph sends, `documented`
    /// what the docs' examples show (docs/fidelity.md) [default: observed]
    pub(crate) shapes: Shapes,
}

/// The `[cluster]` section: this node among the nodes sharing a store (ARCHITECTURE.md, "Ownership").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ClusterSettings {
    /// This node's id, unique among the nodes sharing a store [default: one made once and kept in the store]
    pub(crate) node_id: Option<String>,
    /// How long a node owns its calls without a heartbeat (it heartbeats three times as often); another node may
    /// take them over after it [default: 10s]
    #[serde(with = "humantime_serde")]
    pub(crate) lease: Duration,
}

impl Default for ClusterSettings {
    fn default() -> ClusterSettings {
        ClusterSettings { node_id: None, lease: Duration::from_secs(10) }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    Text,
    Json,
}

/// Every setting of `switchboard serve`, with its default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Settings {
    pub(crate) listen: SocketAddr,
    pub(crate) data_dir: PathBuf,
    pub(crate) ephemeral: bool,
    pub(crate) mode: Mode,
    pub(crate) log_format: LogFormat,
    pub(crate) log: String,
    #[serde(with = "humantime_serde")]
    pub(crate) shutdown_grace: Duration,
    pub(crate) max_body_bytes: usize,
    pub(crate) max_requests_in_flight: usize,
    /// Connections open at once; unset, as many as the file-descriptor limit leaves room for (at most 4096).
    pub(crate) max_connections: Option<usize>,
    #[serde(with = "humantime_serde")]
    pub(crate) header_read_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub(crate) idle_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub(crate) body_read_timeout: Duration,
    /// The URL clients use to reach the server; derived from the listening address when unset.
    pub(crate) public_url: Option<Url>,
    pub(crate) admin_key: Option<String>,
    #[serde(with = "humantime_serde")]
    pub(crate) token_lifetime: Duration,
    pub(crate) notification_issuer: NotificationIssuer,
    pub(crate) tls: bool,
    pub(crate) tls_dir: Option<PathBuf>,
    pub(crate) clock: Clock,
    /// The simulated world; config file only.
    pub(crate) world: WorldSettings,
    /// Notification delivery; config file only.
    pub(crate) notifications: NotificationSettings,
    /// The media engine; config file only.
    pub(crate) media: MediaSettings,
    /// Graph as it behaves or as it is documented; config file only.
    pub(crate) fidelity: FidelitySettings,
    /// This node among the nodes sharing the store; config file only.
    pub(crate) cluster: ClusterSettings,
    /// Tenants and apps to create (or bring in line) at every start; config file only.
    pub(crate) tenants: Vec<TenantConfig>,
    pub(crate) apps: Vec<AppConfig>,
}

impl Settings {
    pub(crate) fn directory(&self) -> DirectoryConfig {
        DirectoryConfig { tenants: self.tenants.clone(), apps: self.apps.clone() }
    }

    /// The world's settings as the calls runtime takes them.
    pub(crate) fn world(&self) -> WorldConfig {
        let world = &self.world;
        let after = world.default_reaction_after;
        let response = match world.default_reaction {
            Reaction::Answer => Response::Answer { after },
            Reaction::Ring => Response::Ring,
            Reaction::Busy => Response::Reject { after, declined: false },
            Reaction::Decline => Response::Reject { after, declined: true },
            Reaction::Unreachable => Response::Unreachable,
        };
        WorldConfig {
            strict: world.strict.unwrap_or(self.mode == Mode::Production),
            default_behaviour: Behaviour { response, hang_up_after: world.default_hang_up_after },
            ringing_timeout: world.ringing_timeout,
        }
    }

    /// The dispatcher's settings, with the certificates it is to trust read from their files.
    pub(crate) fn dispatcher(&self) -> Result<DispatcherConfig, ConfigError> {
        let n = &self.notifications;
        let extra_roots = read_all(n.trust.iter().map(PathBuf::as_path))?;
        Ok(DispatcherConfig {
            timeout: n.timeout,
            initial_backoff: n.initial_backoff,
            max_backoff: n.max_backoff,
            max_attempts: n.max_attempts.max(1),
            retry_horizon: n.retry_horizon,
            max_hold_back: n.max_hold_back,
            concurrency: n.concurrency.max(1),
            connections_per_host: n.connections_per_host.max(1),
            batch_size: n.batch_size.max(1),
            journal_retention: n.journal_retention,
            journal_max_entries: n.journal_max_entries,
            extra_roots,
            destinations: Destinations {
                addresses: self.address_policy(n.allow_private_addresses, &n.allowed_networks),
                loopback_http: self.mode == Mode::Dev,
            },
            shapes: self.fidelity.shapes,
        })
    }

    /// The media engine's settings; the simulated people's files live in `<data dir>/media` (in memory when ephemeral).
    /// `local_ca`: the CA of `--tls`, trusted too, so prompts can be served by this server or next to it.
    pub(crate) fn media(&self, local_ca: Option<&Path>) -> Result<MediaConfig, ConfigError> {
        let m = &self.media;
        let dev = self.mode == Mode::Dev;
        let defaults = MediaConfig::default();
        Ok(MediaConfig {
            library: LibraryConfig {
                fetch: FetchPolicy {
                    max_bytes: m.max_prompt_bytes,
                    timeout: m.fetch_timeout,
                    allowed_hosts: if dev && m.allowed_hosts.is_empty() { None } else { Some(m.allowed_hosts.clone()) },
                    addresses: self.address_policy(m.allow_private_addresses, &m.allowed_networks),
                    extra_roots: read_all(m.trust.iter().map(PathBuf::as_path).chain(local_ca))?,
                },
                files: (!self.ephemeral).then(|| self.data_dir.join("media")),
                max_seconds: m.max_clip.as_secs().max(1),
                cache_samples: defaults.library.cache_samples,
                fetches: FetchLimits {
                    at_once: m.fetches_at_once.max(1),
                    at_once_per_app: m.fetches_at_once_per_app.max(1),
                    bytes_in_flight: m.fetch_bytes_in_flight.max(m.max_prompt_bytes),
                },
            },
            capture_limit: m.capture_limit,
            kept_calls: m.kept_calls,
            recording_retention: m.recording_retention,
        })
    }

    /// Where requests made for callers may connect: anywhere in dev mode (the developer's own machine) unless told
    /// otherwise; public addresses and the allowed networks otherwise.
    fn address_policy(&self, allow_private: Option<bool>, allowed_networks: &[IpNet]) -> AddressPolicy {
        match allow_private.unwrap_or(self.mode == Mode::Dev) {
            true => AddressPolicy::any(),
            false => AddressPolicy::public_and(allowed_networks.to_vec()),
        }
    }

    /// Where `--tls` keeps its local CA and certificates.
    pub(crate) fn tls_dir(&self) -> PathBuf {
        self.tls_dir.clone().unwrap_or_else(|| self.data_dir.join("tls"))
    }
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8640)),
            data_dir: PathBuf::from("switchboard-data"),
            ephemeral: false,
            mode: Mode::Dev,
            log_format: LogFormat::Text,
            log: "info".to_owned(),
            shutdown_grace: Duration::from_secs(10),
            // Graph refuses JSON bodies above 4 MB.
            max_body_bytes: 4 * 1024 * 1024,
            max_requests_in_flight: 1024,
            max_connections: None,
            header_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(120),
            body_read_timeout: Duration::from_secs(30),
            public_url: None,
            admin_key: None,
            // Entra ID answers expires_in 3599 for a client-credentials token.
            token_lifetime: Duration::from_secs(3599),
            notification_issuer: NotificationIssuer::Switchboard,
            tls: false,
            tls_dir: None,
            clock: Clock::Realtime,
            world: WorldSettings::default(),
            notifications: NotificationSettings::default(),
            media: MediaSettings::default(),
            fidelity: FidelitySettings::default(),
            cluster: ClusterSettings::default(),
            tenants: Vec::new(),
            apps: Vec::new(),
        }
    }
}

/// The flags of `switchboard serve`; each overrides the config file and the built-in default.
#[derive(Debug, Clone, Default, Args, Serialize)]
pub(crate) struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8640; port 0 picks a free one]
    #[arg(long, env = "SWITCHBOARD_LISTEN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) listen: Option<SocketAddr>,
    /// Directory for the database and everything else the server keeps [default: ./switchboard-data]
    #[arg(long, env = "SWITCHBOARD_DATA_DIR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Keep everything in memory; nothing is written to disk and all is gone when the server stops
    #[arg(long, env = "SWITCHBOARD_EPHEMERAL")]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) ephemeral: bool,
    /// dev: conveniences for bot development (plain-http loopback callbacks); production: Graph's rules only [default: dev]
    #[arg(long, value_enum, env = "SWITCHBOARD_MODE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) mode: Option<Mode>,
    /// Log format on stderr [default: text]
    #[arg(long, value_enum, env = "SWITCHBOARD_LOG_FORMAT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) log_format: Option<LogFormat>,
    /// Log filter, in tracing's EnvFilter syntax [default: info]
    #[arg(long, env = "SWITCHBOARD_LOG")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) log: Option<String>,
    /// How long requests in flight may run after a shutdown signal, e.g. 10s [default: 10s]
    #[arg(long, env = "SWITCHBOARD_SHUTDOWN_GRACE", value_parser = humantime::parse_duration)]
    #[serde(skip_serializing_if = "Option::is_none", with = "optional_duration")]
    pub(crate) shutdown_grace: Option<Duration>,
    /// Largest request body accepted, in bytes [default: 4194304]
    #[arg(long, env = "SWITCHBOARD_MAX_BODY_BYTES")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_body_bytes: Option<usize>,
    /// Graph requests served at once; more are answered 503 with Retry-After [default: 1024]
    #[arg(long, env = "SWITCHBOARD_MAX_REQUESTS_IN_FLIGHT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_requests_in_flight: Option<usize>,
    /// Connections open at once; past it the oldest connection serving no request gives way [default: what the
    /// file-descriptor limit leaves room for, at most 4096]
    #[arg(long, env = "SWITCHBOARD_MAX_CONNECTIONS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_connections: Option<usize>,
    /// How long a client may take to send a request's headers, and a kept-alive connection may wait for its next
    /// request [default: 30s]
    #[arg(long, env = "SWITCHBOARD_HEADER_READ_TIMEOUT", value_parser = humantime::parse_duration)]
    #[serde(skip_serializing_if = "Option::is_none", with = "optional_duration")]
    pub(crate) header_read_timeout: Option<Duration>,
    /// How long a connection may move nothing while serving no request [default: 2m]
    #[arg(long, env = "SWITCHBOARD_IDLE_TIMEOUT", value_parser = humantime::parse_duration)]
    #[serde(skip_serializing_if = "Option::is_none", with = "optional_duration")]
    pub(crate) idle_timeout: Option<Duration>,
    /// How long a request's body may take to arrive once its headers have [default: 30s]
    #[arg(long, env = "SWITCHBOARD_BODY_READ_TIMEOUT", value_parser = humantime::parse_duration)]
    #[serde(skip_serializing_if = "Option::is_none", with = "optional_duration")]
    pub(crate) body_read_timeout: Option<Duration>,
    /// The URL clients reach the server at, used in token issuers and endpoint URLs [default: from --listen]
    #[arg(long, env = "SWITCHBOARD_PUBLIC_URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) public_url: Option<Url>,
    /// The key /_admin requires outside dev mode (Authorization: Bearer <key>); without it, /_admin is closed
    #[arg(long, env = "SWITCHBOARD_ADMIN_KEY", hide_env_values = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) admin_key: Option<String>,
    /// How long issued access tokens and notification tokens live [default: 59m 59s]
    #[arg(long, env = "SWITCHBOARD_TOKEN_LIFETIME", value_parser = humantime::parse_duration)]
    #[serde(skip_serializing_if = "Option::is_none", with = "optional_duration")]
    pub(crate) token_lifetime: Option<Duration>,
    /// The issuer of notification tokens: switchboard (this server's URL) or botframework (https://api.botframework.com) [default: switchboard]
    #[arg(long, value_enum, env = "SWITCHBOARD_NOTIFICATION_ISSUER")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) notification_issuer: Option<NotificationIssuer>,
    /// Serve https, with a certificate from a local CA kept in the TLS directory (trust its ca.pem)
    #[arg(long, env = "SWITCHBOARD_TLS")]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) tls: bool,
    /// Where --tls keeps its CA and certificates [default: <data dir>/tls]
    #[arg(long, env = "SWITCHBOARD_TLS_DIR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tls_dir: Option<PathBuf>,
    /// realtime: calls run on the wall clock; virtual: time moves only through POST /_sim/clock/advance [default: realtime]
    #[arg(long, value_enum, env = "SWITCHBOARD_CLOCK")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) clock: Option<Clock>,
}

mod optional_duration {
    use std::time::Duration;

    use serde::Serializer;

    pub(super) fn serialize<S: Serializer>(value: &Option<Duration>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(duration) => humantime_serde::serialize(duration, serializer),
            None => serializer.serialize_none(),
        }
    }
}

/// The contents of each file, or which one cannot be read.
fn read_all<'a>(paths: impl Iterator<Item = &'a Path>) -> Result<Vec<Vec<u8>>, ConfigError> {
    paths
        .map(|path| std::fs::read(path).map_err(|error| ConfigError::Unreadable { path: path.to_owned(), error }))
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigError {
    #[error("the config file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("invalid configuration: {0}")]
    Invalid(#[from] Box<figment::Error>),
    #[error("cannot read {}: {error}", path.display())]
    Unreadable { path: PathBuf, error: std::io::Error },
}

impl Settings {
    /// Defaults, then the config file, then flags and environment variables.
    pub(crate) fn load(config_file: Option<&Path>, args: &ServeArgs) -> Result<Settings, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = config_file {
            if !path.exists() {
                return Err(ConfigError::MissingFile(path.to_owned()));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        figment.merge(Serialized::defaults(args)).extract().map_err(|e| ConfigError::Invalid(Box::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_which_overrides_the_defaults() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("switchboard.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:9000\"\nmode = \"production\"\nshutdown_grace = \"3s\"\n").unwrap();
        let args = ServeArgs { mode: Some(Mode::Dev), ..ServeArgs::default() };
        let settings = Settings::load(Some(&file), &args).unwrap();
        assert_eq!(settings.listen, SocketAddr::from(([127, 0, 0, 1], 9000)), "from the file");
        assert_eq!(settings.mode, Mode::Dev, "the flag wins");
        assert_eq!(settings.shutdown_grace, Duration::from_secs(3));
        assert_eq!(settings.data_dir, PathBuf::from("switchboard-data"), "the default");
    }

    #[test]
    fn the_world_section_sets_the_default_behaviour() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("switchboard.toml");
        std::fs::write(
            &file,
            "[world]\ndefault_reaction = \"busy\"\ndefault_reaction_after = \"5s\"\ndefault_hang_up_after = \"1m\"\n",
        )
        .unwrap();
        let world = Settings::load(Some(&file), &ServeArgs::default()).unwrap().world();
        let busy = Response::Reject { after: Duration::from_secs(5), declined: false };
        assert_eq!(world.default_behaviour, Behaviour { response: busy, hang_up_after: Some(Duration::from_secs(60)) });
        assert!(!world.strict, "dev mode provisions unknown identities");
        let production = ServeArgs { mode: Some(Mode::Production), ..ServeArgs::default() };
        assert!(Settings::load(None, &production).unwrap().world().strict, "production is strict");
    }

    #[test]
    fn unknown_keys_and_missing_files_are_reported() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("switchboard.toml");
        std::fs::write(&file, "lisen = \"127.0.0.1:9000\"\n").unwrap();
        let error = Settings::load(Some(&file), &ServeArgs::default()).unwrap_err().to_string();
        assert!(error.contains("lisen"), "{error}");
        let missing = Settings::load(Some(&directory.path().join("nope.toml")), &ServeArgs::default()).unwrap_err();
        assert!(matches!(missing, ConfigError::MissingFile(_)));
    }
}
