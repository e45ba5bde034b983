//! What apps prove themselves with: client secrets and certificates for client assertions.
//!
//! A secret Switchboard generates is 240 random bits, kept as its SHA-256: there is nothing to guess, so a fast hash
//! is enough. A secret chosen by hand (the configuration file's) may be guessable, so it is kept as a salted argon2id
//! hash (OWASP's parameters, argon2's defaults), which makes each guess at a stolen database cost about 19 MiB and
//! tens of milliseconds. The dev app's secret is published (and the app refused outside dev mode): a slow hash would
//! hide nothing and slow every dev-mode token request, so it is kept as SHA-256 like a generated one.

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier, password_hash::SaltString};
use aws_lc_rs::{constant_time, digest};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, TimeZone, Utc};
use switchboard_store::{CertificateRecord, SecretRecord};
use uuid::Uuid;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::AdminError;

pub(crate) use switchboard_store::{hex, sha256_hex};

/// `len` characters from the base64url alphabet, from the system's secure random source.
pub(crate) fn random_text(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system random source works");
    URL_SAFE_NO_PAD.encode(&bytes)[..len].to_owned()
}

/// A client secret as created: its value exists only here and in the one response that shows it.
#[derive(Debug, Clone)]
pub struct NewSecret {
    pub secret_id: Uuid,
    pub value: String,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Where a secret came from, which decides how it is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    Generated,
    /// Known to everyone: the dev app's.
    Published,
    ChosenByHand,
}

/// The record of a secret `value`. Hashing a secret chosen by hand takes tens of milliseconds: call it off the async
/// threads.
pub(crate) fn secret_record(
    app_id: Uuid,
    value: &str,
    origin: Origin,
    now: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
) -> SecretRecord {
    let hash = match origin {
        Origin::Generated | Origin::Published => sha256_hex(value.as_bytes()),
        Origin::ChosenByHand => {
            let mut salt = [0u8; 16];
            aws_lc_rs::rand::fill(&mut salt).expect("the system random source works");
            let salt = SaltString::encode_b64(&salt).expect("16 bytes make a valid salt");
            Argon2::default()
                .hash_password(value.as_bytes(), &salt)
                .expect("argon2 with its default parameters hashes any secret")
                .to_string()
        }
    };
    SecretRecord {
        secret_id: Uuid::new_v4(),
        app_id,
        hint: value.chars().take(3).collect(),
        hash,
        created_at: now,
        expires_at,
    }
}

/// A new random secret, 40 characters like the Azure portal's.
pub(crate) fn generate_secret(
    app_id: Uuid,
    now: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
) -> (SecretRecord, NewSecret) {
    let value = random_text(40);
    let record = secret_record(app_id, &value, Origin::Generated, now, expires_at);
    let secret = NewSecret { secret_id: record.secret_id, value, expires_at };
    (record, secret)
}

/// Whether `value` is the secret `record` was made from (in constant time; slowly for an argon2 hash: call it off
/// the async threads).
pub(crate) fn secret_matches(record: &SecretRecord, value: &str) -> bool {
    match PasswordHash::new(&record.hash) {
        Ok(hash) => Argon2::default().verify_password(value.as_bytes(), &hash).is_ok(),
        Err(_) => {
            constant_time::verify_slices_are_equal(record.hash.as_bytes(), sha256_hex(value.as_bytes()).as_bytes())
                .is_ok()
        }
    }
}

/// Whether `record` is kept with a slow hash.
pub(crate) fn is_slow(record: &SecretRecord) -> bool {
    record.hash.starts_with("$argon2")
}

/// The one of `secrets` that `value` is, checked on a blocking thread (argon2 takes tens of milliseconds).
pub(crate) async fn find_secret(secrets: Vec<SecretRecord>, value: &str) -> Option<SecretRecord> {
    let value = value.to_owned();
    tokio::task::spawn_blocking(move || secrets.into_iter().find(|record| secret_matches(record, &value)))
        .await
        .expect("invariant: checking a secret does not panic")
}

/// A new record of a secret given from outside, hashed (on a blocking thread) as its origin says.
pub(crate) async fn hashed(app_id: Uuid, value: &str, origin: Origin, now: DateTime<Utc>) -> SecretRecord {
    let value = value.to_owned();
    tokio::task::spawn_blocking(move || secret_record(app_id, &value, origin, now, None))
        .await
        .expect("invariant: hashing a secret does not panic")
}

/// A certificate (or bare public key) as registered for client assertions.
pub(crate) fn parse_certificate(app_id: Uuid, text: &str, now: DateTime<Utc>) -> Result<CertificateRecord, AdminError> {
    let parsed = pem::parse(text.trim()).map_err(|e| AdminError::InvalidCertificate(format!("not PEM: {e}")))?;
    let der = parsed.contents();
    let (public_key, description, expires_at) = match parsed.tag() {
        "CERTIFICATE" => {
            let (_, certificate) = X509Certificate::from_der(der)
                .map_err(|e| AdminError::InvalidCertificate(format!("not an X.509 certificate: {e}")))?;
            let not_after = certificate.validity().not_after.timestamp();
            let expires_at = Utc.timestamp_opt(not_after, 0).single();
            (certificate.public_key().raw.to_vec(), certificate.subject().to_string(), expires_at)
        }
        "PUBLIC KEY" => (der.to_vec(), "public key".to_owned(), None),
        other => {
            return Err(AdminError::InvalidCertificate(format!(
                "a PEM '{other}' block; send a CERTIFICATE or a PUBLIC KEY (never a private key)"
            )));
        }
    };
    rsa_public_key(&public_key)?;
    let public_key_pem = pem::encode(&pem::Pem::new("PUBLIC KEY", public_key));
    Ok(CertificateRecord {
        app_id,
        sha1: hex(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, der).as_ref()),
        sha256: sha256_hex(der),
        public_key_pem,
        description,
        created_at: now,
        expires_at,
    })
}

/// The PKCS#1 RSA key inside a SubjectPublicKeyInfo; client assertions are RSA-signed.
pub(crate) fn rsa_public_key(subject_public_key_info: &[u8]) -> Result<Vec<u8>, AdminError> {
    let (_, info) = x509_parser::x509::SubjectPublicKeyInfo::from_der(subject_public_key_info)
        .map_err(|e| AdminError::InvalidCertificate(format!("unreadable public key: {e}")))?;
    match info.parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(_)) => Ok(info.subject_public_key.data.to_vec()),
        _ => Err(AdminError::InvalidCertificate("only RSA keys are supported for client assertions".to_owned())),
    }
}

/// `x5t` as a JWT header carries it: the base64url SHA-1 thumbprint.
pub(crate) fn x5t_matches(record: &CertificateRecord, x5t: &str) -> bool {
    URL_SAFE_NO_PAD.decode(x5t.trim_end_matches('=')).is_ok_and(|bytes| hex(&bytes) == record.sha1)
}

/// `x5t#S256`: the base64url SHA-256 thumbprint.
pub(crate) fn x5t_s256_matches(record: &CertificateRecord, x5t: &str) -> bool {
    URL_SAFE_NO_PAD.decode(x5t.trim_end_matches('=')).is_ok_and(|bytes| hex(&bytes) == record.sha256)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_match_only_their_value() {
        let now = Utc::now();
        let (record, secret) = generate_secret(Uuid::new_v4(), now, None);
        assert_eq!(secret.value.len(), 40);
        assert!(secret_matches(&record, &secret.value));
        assert!(!secret_matches(&record, &secret.value[1..]));
        assert!(!record.hash.contains(&secret.value), "only the hash is kept");
        assert_eq!(record.hint, secret.value[..3]);
    }

    #[test]
    fn secrets_chosen_by_hand_are_salted_and_slow() {
        let now = Utc::now();
        let app = Uuid::new_v4();
        let first = secret_record(app, "hunter2-but-longer", Origin::ChosenByHand, now, None);
        let second = secret_record(app, "hunter2-but-longer", Origin::ChosenByHand, now, None);
        assert!(first.hash.starts_with("$argon2id$") && is_slow(&first), "{}", first.hash);
        assert_ne!(first.hash, second.hash, "salted: the same secret hashes differently");
        assert!(secret_matches(&first, "hunter2-but-longer") && secret_matches(&second, "hunter2-but-longer"));
        assert!(!secret_matches(&first, "hunter2-but-longe"));
        assert!(!first.hash.contains(&sha256_hex(b"hunter2-but-longer")), "no fast hash beside it");
    }
}
