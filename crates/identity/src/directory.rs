//! Tenants and app registrations: the one code path behind the config file, `switchboard app …` and `/_admin`.

use std::{
    collections::BTreeSet,
    sync::atomic::{AtomicU64, Ordering},
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use switchboard_catalogue::Permission;
use switchboard_store::{ApplicationRecord, CertificateRecord, SecretRecord, Store, StoreError, TenantRecord};
use url::Url;
use uuid::Uuid;

use crate::credentials::{self, NewSecret};

/// Dev mode's well-known tenant, app and secret, printed in the banner so the quickstart needs no setup (as Azurite
/// ships a well-known account). Never created outside dev mode.
pub const DEV_TENANT_ID: Uuid = uuid::uuid!("5b1ed0c5-0000-4000-8000-000000000001");
pub const DEV_APP_ID: Uuid = uuid::uuid!("5b1ed0c5-0000-4000-8000-0000000000a1");
pub const DEV_SECRET: &str = "switchboard-dev-secret-do-not-use-in-production";

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("there is no tenant {0}")]
    UnknownTenant(Uuid),
    #[error("there is no app {0}")]
    UnknownApp(Uuid),
    #[error("an app {0} already exists")]
    AppExists(Uuid),
    #[error("'{0}' is not a calls permission; use one of: {list}", list = Permission::ALL.map(|p| p.as_str()).join(", "))]
    UnknownPermission(String),
    #[error("the calling webhook '{0}' is not an absolute http(s) URL")]
    InvalidWebhook(String),
    #[error("the certificate is unusable: {0}")]
    InvalidCertificate(String),
    #[error("app {app} has no secret {secret}")]
    UnknownSecret { app: Uuid, secret: Uuid },
    #[error("app {app} has no certificate with thumbprint {thumbprint}")]
    UnknownCertificate { app: Uuid, thumbprint: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    pub tenant_id: Uuid,
    pub display_name: String,
    pub created_at: DateTime<Utc>,
}

/// An app registration as an administrator sees it: secrets by hint only, never their values or hashes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct App {
    pub app_id: Uuid,
    pub tenant_id: Uuid,
    pub display_name: String,
    pub permissions: Vec<String>,
    pub calling_webhook: Option<String>,
    pub secrets: Vec<SecretInfo>,
    pub certificates: Vec<CertificateInfo>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretInfo {
    pub secret_id: Uuid,
    /// The first three characters, as the Azure portal shows them.
    pub hint: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateInfo {
    /// SHA-1 thumbprint, upper-case hex as the Azure portal shows it.
    pub thumbprint: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// What a new app registration needs.
#[derive(Debug, Clone)]
pub struct NewApp {
    pub tenant_id: Uuid,
    /// Chosen by the caller, or a new GUID.
    pub app_id: Option<Uuid>,
    pub display_name: String,
    pub permissions: Vec<String>,
    pub calling_webhook: Option<String>,
}

/// Tenants and apps declared in the config file; applied at every start (created or brought in line).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryConfig {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<TenantConfig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apps: Vec<AppConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    pub id: Uuid,
    pub display_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    pub tenant: Uuid,
    pub app_id: Uuid,
    pub display_name: String,
    /// Exactly the permissions the app has after the config is applied.
    #[serde(default)]
    pub permissions: Vec<String>,
    #[serde(default)]
    pub calling_webhook: Option<String>,
    /// Secret values the app accepts (stored hashed; other secrets it has are kept).
    #[serde(default)]
    pub secrets: Vec<String>,
    /// PEM certificates or public keys for client assertions.
    #[serde(default)]
    pub certificates: Vec<String>,
}

pub struct Directory<'a> {
    store: &'a dyn Store,
    /// Bumped by every change to an app, so cached app lookups know to look again.
    apps_changed: &'a AtomicU64,
}

fn permission_names(names: &[String]) -> Result<Vec<String>, AdminError> {
    let parsed: Result<BTreeSet<&'static str>, AdminError> = names
        .iter()
        .map(|name| {
            Permission::parse(name).map(Permission::as_str).ok_or_else(|| AdminError::UnknownPermission(name.clone()))
        })
        .collect();
    Ok(parsed?.into_iter().map(str::to_owned).collect())
}

fn webhook(url: Option<&str>) -> Result<Option<String>, AdminError> {
    match url.map(str::trim).filter(|u| !u.is_empty()) {
        None => Ok(None),
        Some(text) => match Url::parse(text) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(Some(url.to_string())),
            _ => Err(AdminError::InvalidWebhook(text.to_owned())),
        },
    }
}

fn secret_info(record: SecretRecord) -> SecretInfo {
    SecretInfo {
        secret_id: record.secret_id,
        hint: record.hint,
        created_at: record.created_at,
        expires_at: record.expires_at,
    }
}

fn certificate_info(record: CertificateRecord) -> CertificateInfo {
    CertificateInfo {
        thumbprint: record.sha1.to_uppercase(),
        description: record.description,
        created_at: record.created_at,
        expires_at: record.expires_at,
    }
}

impl<'a> Directory<'a> {
    pub(crate) fn new(store: &'a dyn Store, apps_changed: &'a AtomicU64) -> Directory<'a> {
        Directory { store, apps_changed }
    }

    /// The directory of a process that caches no apps (the CLI working on a data directory).
    pub fn standalone(store: &'a dyn Store) -> Directory<'a> {
        static NOBODY_CACHES: AtomicU64 = AtomicU64::new(0);
        Directory { store, apps_changed: &NOBODY_CACHES }
    }

    /// Called after each change to an app (its record, its tenant).
    fn apps_changed(&self) {
        self.apps_changed.fetch_add(1, Ordering::SeqCst);
    }

    /// Creates a tenant, or renames it if it exists.
    pub async fn put_tenant(
        &self,
        tenant_id: Option<Uuid>,
        display_name: &str,
        now: DateTime<Utc>,
    ) -> Result<Tenant, AdminError> {
        let tenant_id = tenant_id.unwrap_or_else(Uuid::new_v4);
        let existing = self.store.tenants().await?.into_iter().find(|t| t.tenant_id == tenant_id);
        let record = TenantRecord {
            tenant_id,
            display_name: display_name.to_owned(),
            created_at: existing.map_or(now, |t| t.created_at),
        };
        self.store.put_tenant(record.clone()).await?;
        Ok(Tenant { tenant_id, display_name: record.display_name, created_at: record.created_at })
    }

    pub async fn tenants(&self) -> Result<Vec<Tenant>, AdminError> {
        let tenants = self.store.tenants().await?;
        Ok(tenants
            .into_iter()
            .map(|t| Tenant { tenant_id: t.tenant_id, display_name: t.display_name, created_at: t.created_at })
            .collect())
    }

    /// Removes a tenant with all its apps.
    pub async fn remove_tenant(&self, tenant_id: Uuid) -> Result<(), AdminError> {
        let deleted = self.store.delete_tenant(tenant_id).await?;
        self.apps_changed();
        deleted.then_some(()).ok_or(AdminError::UnknownTenant(tenant_id))
    }

    /// Registers an app; with `with_secret`, also creates its first client secret, whose value is returned once.
    pub async fn add_app(
        &self,
        new: NewApp,
        with_secret: bool,
        now: DateTime<Utc>,
    ) -> Result<(App, Option<NewSecret>), AdminError> {
        if !self.store.tenants().await?.iter().any(|t| t.tenant_id == new.tenant_id) {
            return Err(AdminError::UnknownTenant(new.tenant_id));
        }
        let app_id = new.app_id.unwrap_or_else(Uuid::new_v4);
        if self.store.application(app_id).await?.is_some() {
            return Err(AdminError::AppExists(app_id));
        }
        let record = ApplicationRecord {
            app_id,
            tenant_id: new.tenant_id,
            display_name: new.display_name,
            permissions: permission_names(&new.permissions)?,
            calling_webhook: webhook(new.calling_webhook.as_deref())?,
            created_at: now,
        };
        self.store.put_application(record).await?;
        self.apps_changed();
        let secret = if with_secret { Some(self.add_secret(app_id, None, now).await?) } else { None };
        Ok((self.app(app_id).await?, secret))
    }

    /// Apps of one tenant, or of all.
    pub async fn apps(&self, tenant_id: Option<Uuid>) -> Result<Vec<App>, AdminError> {
        let mut apps = Vec::new();
        for record in self.store.applications().await? {
            if tenant_id.is_none_or(|t| t == record.tenant_id) {
                apps.push(self.view(record).await?);
            }
        }
        Ok(apps)
    }

    pub async fn app(&self, app_id: Uuid) -> Result<App, AdminError> {
        let record = self.record(app_id).await?;
        self.view(record).await
    }

    async fn record(&self, app_id: Uuid) -> Result<ApplicationRecord, AdminError> {
        self.store.application(app_id).await?.ok_or(AdminError::UnknownApp(app_id))
    }

    async fn view(&self, record: ApplicationRecord) -> Result<App, AdminError> {
        let secrets = self.store.secrets(record.app_id).await?.into_iter().map(secret_info).collect();
        let certificates = self.store.certificates(record.app_id).await?.into_iter().map(certificate_info).collect();
        Ok(App {
            app_id: record.app_id,
            tenant_id: record.tenant_id,
            display_name: record.display_name,
            permissions: record.permissions,
            calling_webhook: record.calling_webhook,
            secrets,
            certificates,
            created_at: record.created_at,
        })
    }

    pub async fn remove_app(&self, app_id: Uuid) -> Result<(), AdminError> {
        let deleted = self.store.delete_application(app_id).await?;
        self.apps_changed();
        deleted.then_some(()).ok_or(AdminError::UnknownApp(app_id))
    }

    /// Changes an app's name, webhook or permissions; `None` leaves a field as it is.
    pub async fn update_app(
        &self,
        app_id: Uuid,
        display_name: Option<String>,
        calling_webhook: Option<Option<String>>,
        permissions: Option<Vec<String>>,
    ) -> Result<App, AdminError> {
        let mut record = self.record(app_id).await?;
        if let Some(name) = display_name {
            record.display_name = name;
        }
        if let Some(url) = calling_webhook {
            record.calling_webhook = webhook(url.as_deref())?;
        }
        if let Some(permissions) = permissions {
            record.permissions = permission_names(&permissions)?;
        }
        self.store.put_application(record).await?;
        self.apps_changed();
        self.app(app_id).await
    }

    /// Adds permissions to an app (`all` grants every calls permission).
    pub async fn grant(&self, app_id: Uuid, permissions: &[String]) -> Result<App, AdminError> {
        let record = self.record(app_id).await?;
        let mut names = record.permissions.clone();
        if permissions.iter().any(|p| p.eq_ignore_ascii_case("all")) {
            names.extend(Permission::ALL.map(|p| p.as_str().to_owned()));
        } else {
            names.extend(permission_names(permissions)?);
        }
        self.update_app(app_id, None, None, Some(names)).await
    }

    pub async fn revoke(&self, app_id: Uuid, permissions: &[String]) -> Result<App, AdminError> {
        let record = self.record(app_id).await?;
        let revoked = permission_names(permissions)?;
        let kept = record.permissions.into_iter().filter(|p| !revoked.contains(p)).collect();
        self.update_app(app_id, None, None, Some(kept)).await
    }

    /// A new random client secret; its value is in the result and nowhere else.
    pub async fn add_secret(
        &self,
        app_id: Uuid,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<NewSecret, AdminError> {
        self.record(app_id).await?;
        let (record, secret) = credentials::generate_secret(app_id, now, expires_at);
        self.store.add_secret(record).await?;
        Ok(secret)
    }

    /// Accepts a secret value chosen elsewhere (the config file, the dev app's), unless the app already has it. A
    /// secret chosen by hand that earlier builds kept as a bare SHA-256 is hashed again, salted and slow.
    async fn import_secret(
        &self,
        app_id: Uuid,
        value: &str,
        origin: credentials::Origin,
        now: DateTime<Utc>,
    ) -> Result<(), AdminError> {
        let found = credentials::find_secret(self.store.secrets(app_id).await?, value).await;
        match found {
            Some(record) if credentials::is_slow(&record) || origin != credentials::Origin::ChosenByHand => {}
            Some(record) => {
                let rehashed =
                    SecretRecord { hash: credentials::hashed(app_id, value, origin, now).await.hash, ..record };
                self.store.delete_secret(app_id, rehashed.secret_id).await?;
                self.store.add_secret(rehashed).await?;
            }
            None => self.store.add_secret(credentials::hashed(app_id, value, origin, now).await).await?,
        }
        Ok(())
    }

    pub async fn remove_secret(&self, app_id: Uuid, secret_id: Uuid) -> Result<(), AdminError> {
        let removed = self.store.delete_secret(app_id, secret_id).await?;
        removed.then_some(()).ok_or(AdminError::UnknownSecret { app: app_id, secret: secret_id })
    }

    /// Registers a certificate (or RSA public key) for client assertions, from PEM.
    pub async fn add_certificate(
        &self,
        app_id: Uuid,
        pem: &str,
        now: DateTime<Utc>,
    ) -> Result<CertificateInfo, AdminError> {
        self.record(app_id).await?;
        let record = credentials::parse_certificate(app_id, pem, now)?;
        self.store.put_certificate(record.clone()).await?;
        Ok(certificate_info(record))
    }

    pub async fn remove_certificate(&self, app_id: Uuid, thumbprint: &str) -> Result<(), AdminError> {
        let removed = self.store.delete_certificate(app_id, &thumbprint.to_lowercase()).await?;
        removed
            .then_some(())
            .ok_or_else(|| AdminError::UnknownCertificate { app: app_id, thumbprint: thumbprint.to_owned() })
    }

    /// Brings the store in line with the config file: declared tenants and apps exist with the declared names,
    /// webhooks and permissions; declared secrets and certificates are accepted.
    pub async fn apply(&self, config: &DirectoryConfig, now: DateTime<Utc>) -> Result<(), AdminError> {
        for tenant in &config.tenants {
            self.put_tenant(Some(tenant.id), &tenant.display_name, now).await?;
        }
        for app in &config.apps {
            match self.store.application(app.app_id).await? {
                Some(_) => {
                    let webhook = Some(app.calling_webhook.clone());
                    self.update_app(app.app_id, Some(app.display_name.clone()), webhook, Some(app.permissions.clone()))
                        .await?;
                }
                None => {
                    let new = NewApp {
                        tenant_id: app.tenant,
                        app_id: Some(app.app_id),
                        display_name: app.display_name.clone(),
                        permissions: app.permissions.clone(),
                        calling_webhook: app.calling_webhook.clone(),
                    };
                    self.add_app(new, false, now).await?;
                }
            }
            for secret in &app.secrets {
                self.import_secret(app.app_id, secret, credentials::Origin::ChosenByHand, now).await?;
            }
            for certificate in &app.certificates {
                self.add_certificate(app.app_id, certificate, now).await?;
            }
        }
        Ok(())
    }

    /// On a store's first start in dev mode: the well-known tenant and app with every calls permission.
    /// Returns whether they were created now.
    pub async fn provision_dev_defaults(&self, now: DateTime<Utc>) -> Result<bool, AdminError> {
        if !self.store.claim_dev_defaults(now).await? {
            return Ok(false);
        }
        self.put_tenant(Some(DEV_TENANT_ID), "Switchboard Dev", now).await?;
        if self.store.application(DEV_APP_ID).await?.is_none() {
            let new = NewApp {
                tenant_id: DEV_TENANT_ID,
                app_id: Some(DEV_APP_ID),
                display_name: "Switchboard Dev Bot".to_owned(),
                permissions: Permission::ALL.map(|p| p.as_str().to_owned()).to_vec(),
                calling_webhook: None,
            };
            self.add_app(new, false, now).await?;
        }
        self.import_secret(DEV_APP_ID, DEV_SECRET, credentials::Origin::Published, now).await?;
        Ok(true)
    }
}
