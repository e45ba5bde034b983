//! The RS256 keys that sign every token Switchboard issues (access tokens and notification tokens).
//!
//! One key is active at a time. Rotating makes a new key active and retires the old one, which stays published in
//! the JWKS until the last token it could have signed has expired, so rotation never breaks a valid token.

use aws_lc_rs::{
    encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der},
    rsa::{KeyPair, KeySize},
    signature::KeyPair as _,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey,
    jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse},
};
use switchboard_store::SigningKeyRecord;

use crate::IdentityError;

pub(crate) struct SigningKey {
    pub(crate) kid: String,
    pub(crate) encoding: EncodingKey,
    pub(crate) decoding: DecodingKey,
    jwk: Jwk,
    created_at: DateTime<Utc>,
    retired_at: Option<DateTime<Utc>>,
}

impl SigningKey {
    pub(crate) fn from_record(record: &SigningKeyRecord) -> Result<SigningKey, IdentityError> {
        let invalid =
            |e: jsonwebtoken::errors::Error| IdentityError::InvalidStoredKey(record.kid.clone(), e.to_string());
        let encoding = EncodingKey::from_rsa_pem(record.private_key_pem.as_bytes()).map_err(invalid)?;
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256).map_err(invalid)?;
        jwk.common.key_id = Some(record.kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        jwk.common.key_algorithm = Some(KeyAlgorithm::RS256);
        let decoding = DecodingKey::from_jwk(&jwk).map_err(invalid)?;
        Ok(SigningKey {
            kid: record.kid.clone(),
            encoding,
            decoding,
            jwk,
            created_at: record.created_at,
            retired_at: record.retired_at,
        })
    }

    /// A new 2048-bit RSA key; its id is the base64url SHA-256 of its public key.
    pub(crate) fn generate(now: DateTime<Utc>) -> Result<SigningKeyRecord, IdentityError> {
        let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|_| IdentityError::KeyGeneration)?;
        let private: Pkcs8V1Der<'static> = pair.as_der().map_err(|_| IdentityError::KeyGeneration)?;
        let public: PublicKeyX509Der<'static> = pair.public_key().as_der().map_err(|_| IdentityError::KeyGeneration)?;
        let kid = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, public.as_ref()));
        Ok(SigningKeyRecord {
            kid,
            private_key_pem: pem::encode(&pem::Pem::new("PRIVATE KEY", private.as_ref().to_vec())),
            created_at: now,
            retired_at: None,
        })
    }
}

/// The keys loaded from the store.
pub(crate) struct KeySet {
    keys: Vec<SigningKey>,
}

impl KeySet {
    pub(crate) fn from_records(records: &[SigningKeyRecord]) -> Result<KeySet, IdentityError> {
        let keys = records.iter().map(SigningKey::from_record).collect::<Result<Vec<_>, _>>()?;
        if !keys.iter().any(|k| k.retired_at.is_none()) {
            return Err(IdentityError::NoActiveKey);
        }
        Ok(KeySet { keys })
    }

    /// The key new tokens are signed with: the newest one not retired.
    pub(crate) fn active(&self) -> &SigningKey {
        self.keys
            .iter()
            .filter(|k| k.retired_at.is_none())
            .max_by_key(|k| k.created_at)
            .expect("a KeySet always holds an active key (checked in from_records)")
    }

    pub(crate) fn find(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// The public keys a verifier needs at `now`: the active key and every retired key whose tokens may still be
    /// valid (retired less than `lifetime` ago).
    pub(crate) fn published(&self, now: DateTime<Utc>, lifetime: Duration) -> JwkSet {
        let keys = self
            .keys
            .iter()
            .filter(|k| k.retired_at.is_none_or(|retired| retired + lifetime > now))
            .map(|k| k.jwk.clone())
            .collect();
        JwkSet { keys }
    }
}
