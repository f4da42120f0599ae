//! Keyed pseudonyms for candidates: the only way a record refers to a person.

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// Turns a Lever contact id into a stable, non-reversible reference for one tenant.
#[derive(Clone)]
pub struct Pseudonymizer {
    key: SecretString,
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonymizer(..)")
    }
}

impl Pseudonymizer {
    pub fn new(key: SecretString) -> Self {
        Pseudonymizer { key }
    }

    /// Lowercase hex HMAC-SHA256 of the contact id under the tenant's key.
    pub fn reference(&self, contact_id: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.key.expose_secret().as_bytes())
            .expect("HMAC accepts keys of any length");
        mac.update(contact_id.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_is_keyed_stable_and_hides_the_id() {
        let a = Pseudonymizer::new(SecretString::from("key-a"));
        let b = Pseudonymizer::new(SecretString::from("key-b"));

        let ref_a = a.reference("2c000000-0000-4000-8000-000000000001");
        assert_eq!(ref_a, a.reference("2c000000-0000-4000-8000-000000000001"));
        assert_ne!(ref_a, b.reference("2c000000-0000-4000-8000-000000000001"));
        assert_eq!(ref_a.len(), 64);
        assert!(!ref_a.contains("2c000000"));
        assert_eq!(format!("{a:?}"), "Pseudonymizer(..)");
    }
}
