//! Signatures of inbound webhooks: `t=UNIX_SECONDS,v1=HEX` where HEX is the HMAC-SHA256 of
//! `"{t}.{raw body}"` under the instance's webhook secret. Checked on the raw body before
//! anything parses it, in constant time, with a tolerance on the timestamp against replays.
//! Stripe signs its events the same way (`Stripe-Signature`, keyed with the endpoint's whole
//! `whsec_…` secret), with one `v1` per active secret while a secret is being rolled.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-lexgate-signature";

/// The header carrying Stripe's signature of its events.
pub const STRIPE_SIGNATURE_HEADER: &str = "stripe-signature";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("the signature header is missing or malformed")]
    Malformed,
    #[error("the signature's timestamp is outside the tolerance")]
    Stale,
    #[error("the signature does not match")]
    Mismatch,
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value a sender puts on `body` at `timestamp`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

/// Checks `header` against `body`; `now` and `tolerance_seconds` bound the timestamp.
pub fn verify(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now: i64,
    tolerance_seconds: i64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.extend(decode_hex(value)),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp.filter(|_| !signatures.is_empty()) else {
        return Err(SignatureError::Malformed);
    };
    if (now - timestamp).abs() > tolerance_seconds {
        return Err(SignatureError::Stale);
    }
    let expected = mac(secret, timestamp, body);
    // `verify_slice` compares in constant time; any one matching signature will do.
    if signatures
        .iter()
        .any(|signature| expected.clone().verify_slice(signature).is_ok())
    {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_body_verifies_and_a_changed_one_does_not() {
        let header = sign(b"secret", 1_000, b"{\"a\":1}");
        assert_eq!(verify(b"secret", &header, b"{\"a\":1}", 1_010, 300), Ok(()));
        assert_eq!(
            verify(b"secret", &header, b"{\"a\":2}", 1_010, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"other", &header, b"{\"a\":1}", 1_010, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"secret", &header, b"{\"a\":1}", 2_000, 300),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(b"secret", "t=abc,v1=zz", b"", 0, 300),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn one_matching_signature_among_several_verifies() {
        let good = sign(b"whsec_new", 1_000, b"{}");
        let good = good.trim_start_matches("t=1000,");
        let other = sign(b"whsec_old", 1_000, b"{}");
        let header = format!("{other},{good},v0=ignored");
        assert_eq!(verify(b"whsec_new", &header, b"{}", 1_000, 300), Ok(()));
        assert_eq!(
            verify(b"whsec_third", &header, b"{}", 1_000, 300),
            Err(SignatureError::Mismatch)
        );
    }
}
