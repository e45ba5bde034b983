//! `switchboard tenant …`, `switchboard app …`, `switchboard keys …` and `switchboard check`: the directory, the
//! signing keys and the soundness of a data directory, through the same `Directory` operations as `/_admin` and the config file. They work before the
//! first start and while a server runs on the same data directory (SQLite allows it); output is JSON, and a new
//! secret's value is printed once, here.

use std::{path::PathBuf, process::ExitCode, sync::Arc, time::Duration};

use chrono::Utc;
use clap::{Args, Subcommand};
use serde::Serialize;
use serde_json::json;
use switchboard_identity::{AdminError, Directory, Identity, IdentityConfig, NewApp};
use switchboard_store::{SqliteStore, Store};
use uuid::Uuid;

use crate::{
    config::{ServeArgs, Settings},
    data_dir::DataDir,
};

/// Which data directory to manage.
#[derive(Debug, Args)]
pub(crate) struct StoreArgs {
    /// The server's data directory [default: ./switchboard-data]
    #[arg(long, global = true, env = "SWITCHBOARD_DATA_DIR")]
    data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TenantCommand {
    /// Create a tenant (or rename an existing one)
    Add {
        /// The display name
        name: String,
        /// The tenant id [default: a new GUID]
        #[arg(long)]
        id: Option<Uuid>,
    },
    /// List tenants
    List,
    /// Remove a tenant with all its apps
    Remove { tenant: Uuid },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AppCommand {
    /// Register an app; prints its client id and its first client secret (shown only now)
    Add {
        /// The tenant the app belongs to
        #[arg(long)]
        tenant: Uuid,
        /// The display name
        #[arg(long)]
        name: String,
        /// The client (app) id [default: a new GUID]
        #[arg(long)]
        app_id: Option<Uuid>,
        /// Permissions to grant, comma-separated (e.g. Calls.Initiate.All,Calls.AccessMedia.All), or "all"
        #[arg(long, value_delimiter = ',')]
        grant: Vec<String>,
        /// Where incoming-call notifications for the app go
        #[arg(long)]
        webhook: Option<String>,
        /// Do not create a client secret
        #[arg(long)]
        no_secret: bool,
    },
    /// List apps (secrets by hint only)
    List {
        #[arg(long)]
        tenant: Option<Uuid>,
    },
    /// Show one app
    Show { app: Uuid },
    /// Remove an app with its secrets and certificates
    Remove { app: Uuid },
    /// Grant permissions ("all" grants every calls permission)
    Grant {
        app: Uuid,
        #[arg(required = true)]
        permissions: Vec<String>,
    },
    /// Revoke permissions
    Revoke {
        app: Uuid,
        #[arg(required = true)]
        permissions: Vec<String>,
    },
    /// Set the calling webhook; without a URL, remove it
    SetWebhook { app: Uuid, url: Option<String> },
    /// Create a client secret (printed once)
    AddSecret {
        app: Uuid,
        /// Lifetime, e.g. 90d [default: no expiry]
        #[arg(long, value_parser = humantime::parse_duration)]
        expires_in: Option<Duration>,
    },
    /// Delete a client secret
    RemoveSecret { app: Uuid, secret: Uuid },
    /// Register a certificate (or RSA public key), PEM, for client assertions
    AddCertificate { app: Uuid, file: PathBuf },
    /// Delete a certificate by its SHA-1 thumbprint
    RemoveCertificate { app: Uuid, thumbprint: String },
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Show the published token signing keys (JWKS)
    List,
    /// Make a new signing key active; the old one stays published until its tokens expire
    Rotate,
}

/// What a command does with the directory.
pub(crate) enum Job {
    Tenant(TenantCommand),
    App(AppCommand),
    Keys(KeysCommand),
    /// SQLite's integrity check of the database.
    Check,
}

pub(crate) fn run(config_file: Option<&std::path::Path>, store: StoreArgs, job: Job) -> ExitCode {
    let args = ServeArgs { data_dir: store.data_dir, ..ServeArgs::default() };
    let settings = match Settings::load(config_file, &args) {
        Ok(settings) => settings,
        Err(error) => return fail(error),
    };
    if settings.ephemeral {
        return fail("the settings say --ephemeral: an ephemeral server keeps no directory to manage");
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("the tokio runtime starts");
    runtime.block_on(async move {
        // A new data directory is fine: apps are often registered before the first start.
        let data_dir = match DataDir::prepare(&settings.data_dir) {
            Ok(data_dir) => data_dir,
            Err(error) => return fail(error),
        };
        let store = match SqliteStore::open(&data_dir.database(), Utc::now()).await {
            Ok(store) => Arc::new(store),
            Err(error) => return fail(error),
        };
        if let Err(error) = data_dir.restrict_files() {
            return fail(error);
        }
        let outcome = execute(&settings, store.clone(), job).await;
        store.close().await;
        match outcome {
            Ok(value) => {
                println!("{}", serde_json::to_string_pretty(&value).expect("JSON values print"));
                ExitCode::SUCCESS
            }
            Err(message) => fail(message),
        }
    })
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("switchboard: {message}");
    ExitCode::FAILURE
}

fn value(item: impl Serialize) -> serde_json::Value {
    serde_json::to_value(item).expect("views serialize")
}

async fn execute(settings: &Settings, store: Arc<SqliteStore>, job: Job) -> Result<serde_json::Value, String> {
    let now = Utc::now();
    let directory = Directory::standalone(&*store);
    let text = |error: AdminError| error.to_string();
    Ok(match job {
        Job::Tenant(TenantCommand::Add { name, id }) => {
            value(directory.put_tenant(id, &name, now).await.map_err(text)?)
        }
        Job::Tenant(TenantCommand::List) => value(directory.tenants().await.map_err(text)?),
        Job::Tenant(TenantCommand::Remove { tenant }) => {
            directory.remove_tenant(tenant).await.map_err(text)?;
            json!({ "removed": tenant })
        }
        Job::App(command) => app(&directory, command, now).await.map_err(text)?,
        Job::Check => {
            let problems = store.integrity_problems().await.map_err(|e| e.to_string())?;
            if !problems.is_empty() {
                return Err(format!("the database is damaged; restore it from a backup:\n{}", problems.join("\n")));
            }
            json!({ "database": settings.data_dir.join(crate::data_dir::DATABASE_FILE), "problems": problems })
        }
        Job::Keys(command) => {
            let config = IdentityConfig {
                public_url: settings
                    .public_url
                    .clone()
                    .unwrap_or_else(|| "http://localhost".parse().expect("a valid URL")),
                token_lifetime: chrono::Duration::from_std(settings.token_lifetime).map_err(|e| e.to_string())?,
                notification_issuer: String::new(),
                dev_app_enabled: false,
            };
            let identity =
                Identity::start(store.clone() as Arc<dyn Store>, config, now).await.map_err(|e| e.to_string())?;
            match command {
                KeysCommand::List => value(identity.jwks(now)),
                KeysCommand::Rotate => json!({ "kid": identity.rotate_keys(now).await.map_err(|e| e.to_string())? }),
            }
        }
    })
}

async fn app(
    directory: &Directory<'_>,
    command: AppCommand,
    now: chrono::DateTime<Utc>,
) -> Result<serde_json::Value, AdminError> {
    Ok(match command {
        AppCommand::Add { tenant, name, app_id, grant, webhook, no_secret } => {
            let new = NewApp {
                tenant_id: tenant,
                app_id,
                display_name: name,
                permissions: Vec::new(),
                calling_webhook: webhook,
            };
            let (app, secret) = directory.add_app(new, !no_secret, now).await?;
            let app = if grant.is_empty() { app } else { directory.grant(app.app_id, &grant).await? };
            json!({
                "app": app,
                "secret": secret.map(|s| json!({"secretId": s.secret_id, "value": s.value, "expiresAt": s.expires_at})),
            })
        }
        AppCommand::List { tenant } => value(directory.apps(tenant).await?),
        AppCommand::Show { app } => value(directory.app(app).await?),
        AppCommand::Remove { app } => {
            directory.remove_app(app).await?;
            json!({ "removed": app })
        }
        AppCommand::Grant { app, permissions } => value(directory.grant(app, &permissions).await?),
        AppCommand::Revoke { app, permissions } => value(directory.revoke(app, &permissions).await?),
        AppCommand::SetWebhook { app, url } => value(directory.update_app(app, None, Some(url), None).await?),
        AppCommand::AddSecret { app, expires_in } => {
            let expires_at = expires_in.and_then(|d| chrono::Duration::from_std(d).ok()).map(|d| now + d);
            let secret = directory.add_secret(app, expires_at, now).await?;
            json!({"secretId": secret.secret_id, "value": secret.value, "expiresAt": secret.expires_at})
        }
        AppCommand::RemoveSecret { app, secret } => {
            directory.remove_secret(app, secret).await?;
            json!({ "removed": secret })
        }
        AppCommand::AddCertificate { app, file } => {
            let pem = std::fs::read_to_string(&file)
                .map_err(|e| AdminError::InvalidCertificate(format!("cannot read {}: {e}", file.display())))?;
            value(directory.add_certificate(app, &pem, now).await?)
        }
        AppCommand::RemoveCertificate { app, thumbprint } => {
            directory.remove_certificate(app, &thumbprint).await?;
            json!({ "removed": thumbprint })
        }
    })
}
