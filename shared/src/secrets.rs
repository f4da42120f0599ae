//! Tenant secrets: Lever credentials, webhook signature tokens and the pseudonym key.
//!
//! One Secrets Manager secret per tenant, named `<SECRET_PREFIX><tenant>`, holding:
//!
//! ```json
//! {
//!   "lever": { "api_key": "…" },
//!   "pseudonym_key": "…",
//!   "webhook_tokens": { "candidateStageChange": ["…"], "candidateHired": ["…", "…"] },
//!   "settings": { "min_stage_id": "…", "offer_archive_reason_ids": ["…"],
//!                 "pii_mode": "pseudonymize", "field_mapping": { … } }
//! }
//! ```
//!
//! Secret values are wrapped in [`SecretString`] so `Debug` never prints them.

use crate::error::SecretError;
use crate::ports::SecretSource;
use crate::settings::TenantSettings;
use async_trait::async_trait;
use secrecy::SecretString;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// Everything a tenant keeps in its secret.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSecret {
    pub lever: LeverCredential,
    /// Key of the HMAC that pseudonymizes candidate contact ids.
    pub pseudonym_key: SecretString,
    /// Signature tokens by webhook event; two may be valid while one is rotated.
    #[serde(default)]
    pub webhook_tokens: BTreeMap<String, Vec<SecretString>>,
    #[serde(default)]
    pub settings: TenantSettings,
}

/// How the sync authenticates to Lever.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum LeverCredential {
    /// HTTP Basic with the key as user name and an empty password.
    ApiKey(SecretString),
}

impl TenantSecret {
    /// Parses a secret document, naming the tenant (never the content) in errors.
    pub fn parse(tenant: &str, text: &str) -> Result<Self, SecretError> {
        serde_json::from_str(text).map_err(|err| SecretError::Invalid {
            tenant: tenant.to_owned(),
            reason: format!(
                "line {} column {}: {}",
                err.line(),
                err.column(),
                redact(&err)
            ),
        })
    }
}

/// serde's messages quote unexpected values; keep only the category of the problem.
fn redact(err: &serde_json::Error) -> &'static str {
    match err.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => "not valid JSON",
        serde_json::error::Category::Data => "a field is missing, unknown or of the wrong type",
        serde_json::error::Category::Io => "could not be read",
    }
}

/// Reads secrets from AWS Secrets Manager, caching each for the life of the container.
pub struct SecretsManagerSource {
    client: aws_sdk_secretsmanager::Client,
    prefix: String,
    cache: Mutex<HashMap<String, TenantSecret>>,
}

impl SecretsManagerSource {
    pub fn new(client: aws_sdk_secretsmanager::Client, prefix: impl Into<String>) -> Self {
        SecretsManagerSource {
            client,
            prefix: prefix.into(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Drops a cached secret so the next read fetches it again (after a rotation).
    pub fn forget(&self, tenant: &str) {
        self.cache.lock().expect("secret cache lock").remove(tenant);
    }

    async fn fetch(&self, tenant: &str) -> Result<TenantSecret, SecretError> {
        let secret_id = format!("{}{}", self.prefix, tenant);
        let output = self
            .client
            .get_secret_value()
            .secret_id(&secret_id)
            .send()
            .await
            .map_err(|err| {
                let service = err.into_service_error();
                if service.is_resource_not_found_exception() {
                    SecretError::NotFound {
                        tenant: tenant.to_owned(),
                    }
                } else {
                    SecretError::Backend(service.meta().code().unwrap_or("unknown").to_owned())
                }
            })?;

        let text = output.secret_string().ok_or_else(|| SecretError::Invalid {
            tenant: tenant.to_owned(),
            reason: "secret has no string value".to_owned(),
        })?;
        TenantSecret::parse(tenant, text)
    }
}

#[async_trait]
impl SecretSource for SecretsManagerSource {
    async fn tenant_secret(&self, tenant: &str) -> Result<TenantSecret, SecretError> {
        if let Some(hit) = self.cache.lock().expect("secret cache lock").get(tenant) {
            return Ok(hit.clone());
        }

        let secret = self.fetch(tenant).await?;
        self.cache
            .lock()
            .expect("secret cache lock")
            .insert(tenant.to_owned(), secret.clone());
        Ok(secret)
    }
}

/// A fixed set of secrets, for unit tests.
#[derive(Default)]
pub struct StaticSecrets {
    secrets: HashMap<String, TenantSecret>,
}

impl StaticSecrets {
    pub fn with(mut self, tenant: &str, secret: TenantSecret) -> Self {
        self.secrets.insert(tenant.to_owned(), secret);
        self
    }
}

#[async_trait]
impl SecretSource for StaticSecrets {
    async fn tenant_secret(&self, tenant: &str) -> Result<TenantSecret, SecretError> {
        self.secrets
            .get(tenant)
            .cloned()
            .ok_or_else(|| SecretError::NotFound {
                tenant: tenant.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn parses_api_key_secret_and_hides_it_from_debug() {
        let text = r#"{ "lever": { "api_key": "k-123" }, "pseudonym_key": "p-456",
                        "webhook_tokens": { "candidateHired": ["t1", "t2"] } }"#;
        let secret = TenantSecret::parse("acme", text).expect("valid secret");

        let LeverCredential::ApiKey(key) = &secret.lever;
        assert_eq!(key.expose_secret(), "k-123");
        assert_eq!(secret.webhook_tokens["candidateHired"].len(), 2);
        let debug = format!("{secret:?}");
        assert!(!debug.contains("k-123") && !debug.contains("p-456") && !debug.contains("t1"));
    }

    #[test]
    fn invalid_secret_error_names_tenant_but_not_content() {
        let text = r#"{ "lever": { "api_key": "k-123" }, "pseudonym_key": "p", "oops": "k-123" }"#;
        let err = TenantSecret::parse("acme", text).expect_err("unknown field");

        let message = err.to_string();
        assert!(message.contains("acme"), "{message}");
        assert!(
            !message.contains("k-123") && !message.contains("oops"),
            "{message}"
        );
    }
}
