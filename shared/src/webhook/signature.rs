//! Lever's webhook signature (`lever-api.md` §8.4), as pure functions.
//!
//! The signature is `lowercase_hex(HMAC-SHA256(key = signature token, token ++ triggeredAt))`
//! where `token` and `triggeredAt` are fields of the JSON body and `triggeredAt` is written as
//! the decimal integer it is. Only those two fields are signed: not the raw body, not any
//! header. The comparison is constant time (the MAC's own `verify_slice`).

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Length of a signature in hex characters (SHA-256 is 32 bytes).
const SIGNATURE_HEX_LEN: usize = 64;

/// Why a signature was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// No signature token is configured for the delivery's event.
    NoKey,
    /// The signature is not 64 hex characters.
    NotHex,
    /// No configured signature token produces this signature.
    Mismatch,
}

/// Checks `signature` against every candidate key (two while a token is rotated).
///
/// `triggered_at` is the decimal text of the body's `triggeredAt`. Returns the index of the
/// key that matched.
pub fn verify(
    keys: &[SecretString],
    token: &str,
    triggered_at: &str,
    signature: &str,
) -> Result<usize, SignatureError> {
    if keys.is_empty() {
        return Err(SignatureError::NoKey);
    }
    let given = decode(signature)?;

    keys.iter()
        .position(|key| {
            mac(key.expose_secret().as_bytes(), token, triggered_at)
                .verify_slice(&given)
                .is_ok()
        })
        .ok_or(SignatureError::Mismatch)
}

/// The signature Lever computes for a delivery (lowercase hex).
pub fn sign(key: &[u8], token: &str, triggered_at: &str) -> String {
    hex::encode(mac(key, token, triggered_at).finalize().into_bytes())
}

fn mac(key: &[u8], token: &str, triggered_at: &str) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(token.as_bytes());
    mac.update(triggered_at.as_bytes());
    mac
}

fn decode(signature: &str) -> Result<Vec<u8>, SignatureError> {
    if signature.len() != SIGNATURE_HEX_LEN {
        return Err(SignatureError::NotHex);
    }
    hex::decode(signature).map_err(|_| SignatureError::NotHex)
}

#[cfg(test)]
mod tests {
    //! Vectors from `lever-api.md` §8.4 (worked example and its two negative controls).

    use super::*;

    const KEY: &str = "7d2f0c9e5a1b3c4d6e8f0a2b4c6d8e0f1a3b5c7d9e1f2a4b";
    const TOKEN: &str = "0f3c9a1b7e2d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d";
    const TRIGGERED_AT: &str = "1700000000123";
    const EXPECTED: &str = "c5fe6db80783cdcda95c16fdd7ebc9f2899f96952cb7c7b2d28082ebf705e93d";
    /// HMAC of `token ++ "1700000000123.0"` (the float formatting mistake).
    const FLOAT_FORMATTED: &str =
        "8822cb5358df1c7bf6cf788fc1809484c7e62f23034319fdbc371a9eec6fabba";
    /// HMAC of `triggeredAt ++ token` (the reversed order mistake).
    const REVERSED: &str = "9a712ba3ae35e371e91e5d9a7e7adbd046ffe955aa39fbbf5f76415985892b87";

    fn keys(values: &[&str]) -> Vec<SecretString> {
        values.iter().map(|v| SecretString::from(*v)).collect()
    }

    #[test]
    fn worked_example_is_signed_and_verified() {
        // GIVEN the worked example's key, token and triggeredAt
        // WHEN we sign and verify
        // THEN the signature is the documented one and it verifies
        assert_eq!(sign(KEY.as_bytes(), TOKEN, TRIGGERED_AT), EXPECTED);
        assert_eq!(verify(&keys(&[KEY]), TOKEN, TRIGGERED_AT, EXPECTED), Ok(0));
    }

    #[test]
    fn negative_controls_are_what_the_note_says_and_are_rejected() {
        // The controls are the HMACs of the two wrong messages...
        assert_eq!(
            sign(KEY.as_bytes(), TOKEN, "1700000000123.0"),
            FLOAT_FORMATTED
        );
        assert_eq!(sign(KEY.as_bytes(), TRIGGERED_AT, TOKEN), REVERSED);

        // ...so presented as the signature of the real delivery, both fail.
        for wrong in [FLOAT_FORMATTED, REVERSED] {
            assert_eq!(
                verify(&keys(&[KEY]), TOKEN, TRIGGERED_AT, wrong),
                Err(SignatureError::Mismatch)
            );
        }
    }

    #[test]
    fn wrong_key_tampered_token_and_shifted_time_are_rejected() {
        let other_key = "7d2f0c9e5a1b3c4d6e8f0a2b4c6d8e0f1a3b5c7d9e1f2a4c";
        assert_eq!(
            verify(&keys(&[other_key]), TOKEN, TRIGGERED_AT, EXPECTED),
            Err(SignatureError::Mismatch)
        );

        let tampered = "1f3c9a1b7e2d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d";
        assert_eq!(
            verify(&keys(&[KEY]), tampered, TRIGGERED_AT, EXPECTED),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&keys(&[KEY]), TOKEN, "1700000000124", EXPECTED),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_signature_over_the_raw_body_is_rejected() {
        // What the contradicting sources (§9: WM3, AE) describe: HMAC over the whole body.
        let body = format!(
            r#"{{"event":"candidateStageChange","triggeredAt":{TRIGGERED_AT},"token":"{TOKEN}"}}"#
        );
        let mut mac = HmacSha256::new_from_slice(KEY.as_bytes()).expect("key");
        mac.update(body.as_bytes());
        let over_body = hex::encode(mac.finalize().into_bytes());

        assert_eq!(
            verify(&keys(&[KEY]), TOKEN, TRIGGERED_AT, &over_body),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn non_hex_short_and_uppercase_signatures() {
        let not_hex = format!("{}zz", &EXPECTED[..62]);
        assert_eq!(
            verify(&keys(&[KEY]), TOKEN, TRIGGERED_AT, &not_hex),
            Err(SignatureError::NotHex)
        );
        assert_eq!(
            verify(&keys(&[KEY]), TOKEN, TRIGGERED_AT, &EXPECTED[..32]),
            Err(SignatureError::NotHex)
        );
        assert_eq!(
            verify(&keys(&[KEY]), TOKEN, TRIGGERED_AT, ""),
            Err(SignatureError::NotHex)
        );
        // Hex is case-insensitive once decoded: the same 32 bytes.
        let upper = EXPECTED.to_ascii_uppercase();
        assert_eq!(verify(&keys(&[KEY]), TOKEN, TRIGGERED_AT, &upper), Ok(0));
    }

    #[test]
    fn during_rotation_either_token_verifies() {
        let new_key = "new-signature-token-0000000000000000000000000000";
        let with_new = sign(new_key.as_bytes(), TOKEN, TRIGGERED_AT);

        assert_eq!(
            verify(&keys(&[KEY, new_key]), TOKEN, TRIGGERED_AT, EXPECTED),
            Ok(0)
        );
        assert_eq!(
            verify(&keys(&[KEY, new_key]), TOKEN, TRIGGERED_AT, &with_new),
            Ok(1)
        );
        assert_eq!(
            verify(&keys(&[KEY]), TOKEN, TRIGGERED_AT, &with_new),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn without_keys_nothing_verifies() {
        assert_eq!(
            verify(&[], TOKEN, TRIGGERED_AT, EXPECTED),
            Err(SignatureError::NoKey)
        );
    }
}
