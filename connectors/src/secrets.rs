//! Connector secrets at rest: XChaCha20-Poly1305 under a key from the configuration. The
//! stored text names the key it was sealed with (`key_id:base64(nonce || ciphertext)`), so
//! keys can rotate: new secrets use the current key, old ones open with the key they name.
//! The associated data binds a ciphertext to its row, so it cannot be moved to another.

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("no key is configured for connector secrets (set secrets_keys and secrets_key_id)")]
    NoKey,
    #[error("key {0} must be 32 bytes, base64-encoded")]
    BadKey(String),
    #[error("the secret was sealed with key {0}, which is not configured")]
    UnknownKey(String),
    #[error("the stored secret is damaged or belongs to another record")]
    Damaged,
}

/// The configured keys and the one new secrets are sealed with.
#[derive(Clone)]
pub struct SecretBox {
    keys: HashMap<String, XChaCha20Poly1305>,
    current: String,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretBox")
            .field("current", &self.current)
            .finish_non_exhaustive()
    }
}

impl SecretBox {
    /// `keys`: key id → base64 of 32 random bytes; `current` names the sealing key.
    pub fn new(keys: &HashMap<String, String>, current: &str) -> Result<SecretBox, SecretError> {
        let mut ciphers = HashMap::new();
        for (id, encoded) in keys {
            let bytes = BASE64
                .decode(encoded.trim())
                .map_err(|_| SecretError::BadKey(id.clone()))?;
            if bytes.len() != 32 || id.contains(':') {
                return Err(SecretError::BadKey(id.clone()));
            }
            let cipher = XChaCha20Poly1305::new_from_slice(&bytes)
                .map_err(|_| SecretError::BadKey(id.clone()))?;
            ciphers.insert(id.clone(), cipher);
        }
        if !ciphers.contains_key(current) {
            return Err(SecretError::UnknownKey(current.to_owned()));
        }
        Ok(SecretBox {
            keys: ciphers,
            current: current.to_owned(),
        })
    }

    /// The id of the key new secrets are sealed with.
    pub fn current_key_id(&self) -> &str {
        &self.current
    }

    /// Seals `plaintext` for the record `context` names (e.g. "connector:ID:credentials").
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Result<String, SecretError> {
        let cipher = self.keys.get(&self.current).ok_or(SecretError::NoKey)?;
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| SecretError::Damaged)?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!("{}:{}", self.current, BASE64.encode(bytes)))
    }

    /// Opens a secret sealed for `context` with any configured key.
    pub fn open(&self, stored: &str, context: &str) -> Result<Vec<u8>, SecretError> {
        let (key_id, encoded) = stored.split_once(':').ok_or(SecretError::Damaged)?;
        let cipher = self
            .keys
            .get(key_id)
            .ok_or_else(|| SecretError::UnknownKey(key_id.to_owned()))?;
        let bytes = BASE64.decode(encoded).map_err(|_| SecretError::Damaged)?;
        if bytes.len() < 24 {
            return Err(SecretError::Damaged);
        }
        let (nonce, sealed) = bytes.split_at(24);
        cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| SecretError::Damaged)
    }

    /// The key id a stored secret was sealed with, to find secrets still under an old key.
    pub fn key_id_of(stored: &str) -> Option<&str> {
        stored.split_once(':').map(|(id, _)| id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(pairs: &[(&str, u8)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(id, byte)| (id.to_string(), BASE64.encode([*byte; 32])))
            .collect()
    }

    #[test]
    fn a_sealed_secret_opens_only_for_its_record() {
        let secrets = SecretBox::new(&keys(&[("k1", 7)]), "k1").expect("box");
        let sealed = secrets.seal(b"refresh-token", "connector:a").expect("seal");
        assert!(sealed.starts_with("k1:"));
        assert!(!sealed.contains("refresh-token"));
        assert_eq!(
            secrets.open(&sealed, "connector:a").expect("open"),
            b"refresh-token"
        );
        assert_eq!(
            secrets.open(&sealed, "connector:b"),
            Err(SecretError::Damaged)
        );
        // Two seals of one value differ (random nonces).
        assert_ne!(
            sealed,
            secrets.seal(b"refresh-token", "connector:a").expect("seal")
        );
    }

    #[test]
    fn rotated_keys_still_open_old_secrets() {
        let old = SecretBox::new(&keys(&[("k1", 7)]), "k1").expect("box");
        let sealed = old.seal(b"token", "ctx").expect("seal");
        let rotated = SecretBox::new(&keys(&[("k1", 7), ("k2", 9)]), "k2").expect("box");
        assert_eq!(rotated.open(&sealed, "ctx").expect("open"), b"token");
        let resealed = rotated.seal(b"token", "ctx").expect("seal");
        assert_eq!(SecretBox::key_id_of(&resealed), Some("k2"));
        let without_old = SecretBox::new(&keys(&[("k2", 9)]), "k2").expect("box");
        assert_eq!(
            without_old.open(&sealed, "ctx"),
            Err(SecretError::UnknownKey("k1".into()))
        );
    }

    #[test]
    fn bad_keys_are_refused() {
        let mut short = HashMap::new();
        short.insert("k1".to_owned(), BASE64.encode([1u8; 16]));
        assert_eq!(
            SecretBox::new(&short, "k1").err(),
            Some(SecretError::BadKey("k1".into()))
        );
        assert_eq!(
            SecretBox::new(&keys(&[("k1", 1)]), "k9").err(),
            Some(SecretError::UnknownKey("k9".into()))
        );
    }
}
