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
//! `lever` holds one credential, chosen by its key:
//!
//! - `{ "api_key": "…" }`: HTTP Basic with a Lever API key;
//! - `{ "oauth": { "client_id": "…", "client_secret": "…", "refresh_token": "…" } }`: OAuth
//!   (`lever-api.md` §2.2). Lever hands out a new refresh token on every refresh, so the sync
//!   rewrites this document with the newest one ([`SecretWriter::store_refresh_token`]) before
//!   it uses the access token that came with it; every other field is kept as it was.
//!
//! Secret values are wrapped in [`SecretString`] so `Debug` never prints them.

use crate::error::SecretError;
use crate::ports::{SecretSource, SecretWriter};
use crate::settings::TenantSettings;
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
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
    /// OAuth 2.0 with a rotating refresh token.
    Oauth(OAuthCredential),
}

/// A tenant's OAuth grant: the partner app's client credentials and the newest refresh token.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthCredential {
    /// Not secret, but kept out of logs all the same.
    pub client_id: String,
    pub client_secret: SecretString,
    /// Valid for one refresh only: Lever answers each refresh with a new one.
    pub refresh_token: SecretString,
}

impl TenantSecret {
    /// Parses a secret document, naming the tenant (never the content) in errors.
    pub fn parse(tenant: &str, text: &str) -> Result<Self, SecretError> {
        let secret: TenantSecret =
            serde_json::from_str(text).map_err(|err| SecretError::Invalid {
                tenant: tenant.to_owned(),
                reason: format!(
                    "line {} column {}: {}",
                    err.line(),
                    err.column(),
                    redact(&err)
                ),
            })?;

        // A short key makes every candidate reference recomputable from the contact id.
        if secret.pseudonym_key.expose_secret().len() < MIN_PSEUDONYM_KEY_LEN {
            return Err(SecretError::Invalid {
                tenant: tenant.to_owned(),
                reason: format!(
                    "pseudonym_key must be at least {MIN_PSEUDONYM_KEY_LEN} characters"
                ),
            });
        }
        Ok(secret)
    }
}

/// The shortest pseudonym key accepted (the SAM template generates 64 characters).
pub const MIN_PSEUDONYM_KEY_LEN: usize = 32;

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
        let text = self.fetch_text(tenant).await?;
        TenantSecret::parse(tenant, text.expose_secret())
    }

    /// The stored document as text, uncached.
    async fn fetch_text(&self, tenant: &str) -> Result<SecretString, SecretError> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(self.secret_id(tenant))
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
        Ok(SecretString::from(text))
    }

    fn secret_id(&self, tenant: &str) -> String {
        format!("{}{}", self.prefix, tenant)
    }

    fn remember(&self, tenant: &str, secret: &TenantSecret) {
        self.cache
            .lock()
            .expect("secret cache lock")
            .insert(tenant.to_owned(), secret.clone());
    }
}

#[async_trait]
impl SecretSource for SecretsManagerSource {
    async fn tenant_secret(&self, tenant: &str) -> Result<TenantSecret, SecretError> {
        if let Some(hit) = self.cache.lock().expect("secret cache lock").get(tenant) {
            return Ok(hit.clone());
        }

        let secret = self.fetch(tenant).await?;
        self.remember(tenant, &secret);
        Ok(secret)
    }

    async fn reload_tenant_secret(&self, tenant: &str) -> Result<TenantSecret, SecretError> {
        self.forget(tenant);
        self.tenant_secret(tenant).await
    }
}

#[async_trait]
impl SecretWriter for SecretsManagerSource {
    async fn reload_secret(&self, tenant: &str) -> Result<TenantSecret, SecretError> {
        let secret = self.fetch(tenant).await?;
        self.remember(tenant, &secret);
        Ok(secret)
    }

    /// Reads the stored document, swaps the refresh token and writes the whole document back
    /// as a new version (PutSecretValue), then caches what was written.
    async fn store_refresh_token(
        &self,
        tenant: &str,
        refresh_token: &SecretString,
    ) -> Result<(), SecretError> {
        let current = self.fetch_text(tenant).await?;
        let updated = with_refresh_token(tenant, &current, refresh_token)?;

        self.client
            .put_secret_value()
            .secret_id(self.secret_id(tenant))
            .secret_string(updated.expose_secret())
            .send()
            .await
            .map_err(|err| {
                let service = err.into_service_error();
                SecretError::Backend(service.meta().code().unwrap_or("unknown").to_owned())
            })?;

        let secret = TenantSecret::parse(tenant, updated.expose_secret())?;
        self.remember(tenant, &secret);
        Ok(())
    }
}

/// The document `text` with `lever.oauth.refresh_token` replaced; every other value is kept.
pub fn with_refresh_token(
    tenant: &str,
    text: &SecretString,
    refresh_token: &SecretString,
) -> Result<SecretString, SecretError> {
    let invalid = |reason: &str| SecretError::Invalid {
        tenant: tenant.to_owned(),
        reason: reason.to_owned(),
    };
    let mut document: serde_json::Value =
        serde_json::from_str(text.expose_secret()).map_err(|_| invalid("not valid JSON"))?;

    let oauth = document
        .get_mut("lever")
        .and_then(|lever| lever.get_mut("oauth"))
        .and_then(|oauth| oauth.as_object_mut())
        .ok_or_else(|| invalid("lever.oauth is missing"))?;
    oauth.insert(
        "refresh_token".to_owned(),
        serde_json::Value::String(refresh_token.expose_secret().to_owned()),
    );

    Ok(SecretString::from(document.to_string()))
}

/// A set of secrets held in memory, for unit tests; refresh-token writes change them.
#[derive(Default)]
pub struct StaticSecrets {
    secrets: Mutex<HashMap<String, TenantSecret>>,
}

impl StaticSecrets {
    pub fn with(self, tenant: &str, secret: TenantSecret) -> Self {
        self.secrets
            .lock()
            .expect("static secrets lock")
            .insert(tenant.to_owned(), secret);
        self
    }

    fn get(&self, tenant: &str) -> Result<TenantSecret, SecretError> {
        self.secrets
            .lock()
            .expect("static secrets lock")
            .get(tenant)
            .cloned()
            .ok_or_else(|| SecretError::NotFound {
                tenant: tenant.to_owned(),
            })
    }
}

#[async_trait]
impl SecretSource for StaticSecrets {
    async fn tenant_secret(&self, tenant: &str) -> Result<TenantSecret, SecretError> {
        self.get(tenant)
    }
}

#[async_trait]
impl SecretWriter for StaticSecrets {
    async fn reload_secret(&self, tenant: &str) -> Result<TenantSecret, SecretError> {
        self.get(tenant)
    }

    async fn store_refresh_token(
        &self,
        tenant: &str,
        refresh_token: &SecretString,
    ) -> Result<(), SecretError> {
        let mut secrets = self.secrets.lock().expect("static secrets lock");
        let secret = secrets
            .get_mut(tenant)
            .ok_or_else(|| SecretError::NotFound {
                tenant: tenant.to_owned(),
            })?;

        match &mut secret.lever {
            LeverCredential::Oauth(oauth) => {
                oauth.refresh_token = refresh_token.clone();
                Ok(())
            }
            LeverCredential::ApiKey(_) => Err(SecretError::Invalid {
                tenant: tenant.to_owned(),
                reason: "lever.oauth is missing".to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_api_key_secret_and_hides_it_from_debug() {
        let text = r#"{ "lever": { "api_key": "k-123" }, "pseudonym_key": "p-456-0123456789abcdef0123456789abcdef",
                        "webhook_tokens": { "candidateHired": ["t1", "t2"] } }"#;
        let secret = TenantSecret::parse("acme", text).expect("valid secret");

        let LeverCredential::ApiKey(key) = &secret.lever else {
            panic!("expected an api key")
        };
        assert_eq!(key.expose_secret(), "k-123");
        assert_eq!(secret.webhook_tokens["candidateHired"].len(), 2);
        let debug = format!("{secret:?}");
        assert!(!debug.contains("k-123") && !debug.contains("p-456") && !debug.contains("t1"));
    }

    #[test]
    fn a_short_pseudonym_key_is_refused() {
        let text = r#"{ "lever": { "api_key": "k-123" }, "pseudonym_key": "short" }"#;
        let err = TenantSecret::parse("acme", text).expect_err("too short");
        assert!(
            err.to_string()
                .contains("pseudonym_key must be at least 32 characters"),
            "{err}"
        );
        assert!(!err.to_string().contains("short\""));
    }

    #[test]
    fn invalid_secret_error_names_tenant_but_not_content() {
        let text = r#"{ "lever": { "api_key": "k-123" }, "pseudonym_key": "p-0123456789abcdef0123456789abcdef", "oops": "k-123" }"#;
        let err = TenantSecret::parse("acme", text).expect_err("unknown field");

        let message = err.to_string();
        assert!(message.contains("acme"), "{message}");
        assert!(
            !message.contains("k-123") && !message.contains("oops"),
            "{message}"
        );
    }

    const OAUTH: &str = r#"{ "lever": { "oauth": { "client_id": "cid-1", "client_secret": "cs-789",
                               "refresh_token": "rt-000" } },
                             "pseudonym_key": "p-456-0123456789abcdef0123456789abcdef",
                             "settings": { "min_stage_id": "stage-9" } }"#;

    #[test]
    fn parses_oauth_secret_and_hides_it_from_debug() {
        let secret = TenantSecret::parse("acme", OAUTH).expect("valid secret");

        let LeverCredential::Oauth(oauth) = &secret.lever else {
            panic!("expected oauth")
        };
        assert_eq!(oauth.client_id, "cid-1");
        assert_eq!(oauth.client_secret.expose_secret(), "cs-789");
        assert_eq!(oauth.refresh_token.expose_secret(), "rt-000");
        let debug = format!("{secret:?}");
        assert!(
            !debug.contains("cs-789") && !debug.contains("rt-000"),
            "{debug}"
        );
    }

    #[test]
    fn a_credential_needs_exactly_one_known_shape() {
        let both = r#"{ "lever": { "api_key": "k", "oauth": { "client_id": "c",
                        "client_secret": "s", "refresh_token": "r" } }, "pseudonym_key": "p-0123456789abcdef0123456789abcdef" }"#;
        let partial = r#"{ "lever": { "oauth": { "client_id": "c", "client_secret": "s" } },
                           "pseudonym_key": "p-0123456789abcdef0123456789abcdef" }"#;

        for text in [both, partial] {
            let err = TenantSecret::parse("acme", text).expect_err("rejected");
            assert!(!err.to_string().contains("\"s\""), "{err}");
        }
    }

    #[test]
    fn refresh_token_swap_keeps_every_other_field() {
        let text = SecretString::from(OAUTH);
        let new = SecretString::from("rt-001");

        let updated = with_refresh_token("acme", &text, &new).expect("swapped");

        let mut expected: serde_json::Value = serde_json::from_str(OAUTH).expect("json");
        expected["lever"]["oauth"]["refresh_token"] = "rt-001".into();
        let actual: serde_json::Value =
            serde_json::from_str(updated.expose_secret()).expect("json");
        assert_eq!(actual, expected);
    }

    #[test]
    fn refresh_token_swap_refuses_an_api_key_document() {
        let text = SecretString::from(
            r#"{ "lever": { "api_key": "k-123" }, "pseudonym_key": "p-0123456789abcdef0123456789abcdef" }"#,
        );

        let err =
            with_refresh_token("acme", &text, &SecretString::from("rt-1")).expect_err("no oauth");
        assert_eq!(
            err.to_string(),
            "secret of tenant acme is not valid: lever.oauth is missing"
        );
    }

    #[tokio::test]
    async fn static_secrets_store_the_new_refresh_token() {
        let secret = TenantSecret::parse("acme", OAUTH).expect("valid");
        let secrets = StaticSecrets::default().with("acme", secret);

        secrets
            .store_refresh_token("acme", &SecretString::from("rt-002"))
            .await
            .expect("stored");

        let LeverCredential::Oauth(oauth) =
            secrets.reload_secret("acme").await.expect("read").lever
        else {
            panic!("expected oauth")
        };
        assert_eq!(oauth.refresh_token.expose_secret(), "rt-002");
        assert_eq!(oauth.client_secret.expose_secret(), "cs-789");
    }
}
