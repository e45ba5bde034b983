//! `serve --tls`: https with a certificate from a local CA.
//!
//! The CA is created once and kept in the TLS directory (`ca.pem`, and `ca-key.pem` readable only by its owner),
//! so a machine trusts it once; the server certificate is issued anew at every start for the names the server is
//! reached by. Bots and SDKs trust `ca.pem` (`REQUESTS_CA_BUNDLE`, `SSL_CERT_FILE`, `connection_verify` …).

use std::{
    fs,
    path::{Path, PathBuf},
};

use chrono::{DateTime, Datelike, Duration, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    date_time_ymd,
};
use switchboard_http::TlsCertificate;

#[derive(Debug, thiserror::Error)]
pub(crate) enum TlsError {
    #[error("cannot use the TLS directory {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("cannot make the TLS certificates: {0}")]
    Certificate(#[from] rcgen::Error),
}

pub(crate) struct LocalTls {
    pub(crate) certificate: TlsCertificate,
    /// The CA a client must trust.
    pub(crate) ca_file: PathBuf,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> TlsError + '_ {
    move |source| TlsError::Io { path: path.display().to_string(), source }
}

/// The calendar date of `time`, as rcgen takes validity bounds.
macro_rules! date {
    ($time:expr) => {{
        let time: DateTime<Utc> = $time;
        date_time_ymd(time.year(), time.month() as u8, time.day() as u8)
    }};
}

/// Loads (or first creates) the CA in `directory`, and issues a server certificate for `hosts`.
pub(crate) fn prepare(directory: &Path, hosts: &[String], now: DateTime<Utc>) -> Result<LocalTls, TlsError> {
    fs::create_dir_all(directory).map_err(io(directory))?;
    let ca_file = directory.join("ca.pem");
    let ca_key_file = directory.join("ca-key.pem");
    if !ca_file.exists() || !ca_key_file.exists() {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, "Switchboard local CA");
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        params.not_before = date!(now - Duration::days(1));
        params.not_after = date!(now + Duration::days(3650));
        let certificate = params.self_signed(&key)?;
        write_private(&ca_key_file, &key.serialize_pem())?;
        fs::write(&ca_file, certificate.pem()).map_err(io(&ca_file))?;
        tracing::info!(ca = %ca_file.display(), "created a local certificate authority for --tls");
    }
    let ca_pem = fs::read_to_string(&ca_file).map_err(io(&ca_file))?;
    let ca_key = KeyPair::from_pem(&fs::read_to_string(&ca_key_file).map_err(io(&ca_key_file))?)?;
    let issuer = Issuer::from_ca_cert_pem(&ca_pem, ca_key)?;

    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(hosts.to_vec())?;
    params.distinguished_name.push(DnType::CommonName, "Switchboard");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.not_before = date!(now - Duration::days(1));
    params.not_after = date!(now + Duration::days(397));
    let certificate = params.signed_by(&key, &issuer)?;
    let chain = format!("{}{ca_pem}", certificate.pem());
    Ok(LocalTls {
        certificate: TlsCertificate { chain_pem: chain.into_bytes(), key_pem: key.serialize_pem().into_bytes() },
        ca_file,
    })
}

/// Writes a private key readable by its owner only.
fn write_private(path: &Path, contents: &str) -> Result<(), TlsError> {
    #[cfg(unix)]
    {
        use std::{io::Write, os::unix::fs::OpenOptionsExt};
        let mut file =
            fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path).map_err(io(path))?;
        file.write_all(contents.as_bytes()).map_err(io(path))
    }
    #[cfg(not(unix))]
    {
        fs::write(path, contents).map_err(io(path))
    }
}
