//! Deployment configuration, read once from the environment at cold start.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `OFFERS_TABLE` | required | DynamoDB table for offers and sync state |
//! | `SECRET_PREFIX` | `lever-offers/` | a tenant's secret is `<prefix><tenant>` |
//! | `TENANTS` | empty | comma-separated tenants the nightly schedule syncs |
//! | `LEVER_API_URL` | `https://api.lever.co/v1` | EU: `https://api.eu.lever.co/v1`, sandbox: `https://api.sandbox.lever.co/v1` |
//! | `LEVER_AUTH_URL` | `https://auth.lever.co` | OAuth host (sandbox: `https://sandbox-lever.auth0.com`) |
//! | `PII_MODE` | `pseudonymize` | `pseudonymize` or `omit` |
//! | `LEVER_RATE_PER_SEC` | `8` | client-side sustained request rate per tenant |
//! | `LEVER_BURST` | `15` | client-side burst per tenant |
//! | `LEVER_TIMEOUT_MS` | `15000` | timeout of one Lever request |
//! | `LEVER_MAX_ATTEMPTS` | `8` | tries of one request before giving up |
//! | `LEVER_RETRY_BASE_MS` | `250` | first retry waits up to this long (full jitter, doubling) |
//! | `LEVER_RETRY_CAP_MS` | `30000` | longest wait between two tries |
//! | `LEVER_CONCURRENCY` | `4` | offer reads in flight per tenant |
//! | `INCREMENTAL_OVERLAP_MS` | `600000` | how far an incremental window reaches back before the watermark |
//! | `DEADLINE_MARGIN_MS` | `60000` | a backfill stops cleanly when less Lambda time than this is left |
//! | `WEBHOOK_MAX_BODY_BYTES` | `65536` | larger webhook bodies get 413 (Lever's are well under 4 KiB) |
//! | `WEBHOOK_MAX_AGE_MS` | `86400000` | deliveries whose `triggeredAt` is older get 401 (must outlast Lever's five retries) |
//! | `WEBHOOK_MAX_FUTURE_MS` | `300000` | deliveries whose `triggeredAt` is further ahead (clock skew) get 401 |
//! | `WEBHOOK_LEVER_MAX_ATTEMPTS` | `3` | tries of one Lever request inside a delivery |
//! | `WEBHOOK_LEVER_TIMEOUT_MS` | `3000` | timeout of one Lever request inside a delivery |
//! | `WEBHOOK_LEVER_RETRY_CAP_MS` | `400` | longest wait between two tries inside a delivery (base: `LEVER_RETRY_BASE_MS`, at most this) |
//! | `WEBHOOK_CONTEXT_TTL_MS` | `900000` | how long a container reuses a tenant's dimension lists |
//! | `WEBHOOK_SECRET_REREAD_MS` | `60000` | shortest gap between two forced re-reads of a tenant's secret (token rotation) |
//! | `OAUTH_REFRESH_MARGIN_MS` | `300000` | OAuth tenants: refresh the access token this long before it expires (at most half its lifetime) |
//! | `OAUTH_LEASE_TTL_MS` | `60000` | OAuth tenants: how long one refresh may hold the tenant's DynamoDB lease; also the longest wait for it |

use crate::error::SyncError;
use crate::settings::PiiMode;
use std::str::FromStr;
use std::time::Duration;

/// Settings shared by both functions.
#[derive(Debug, Clone)]
pub struct Config {
    pub table: String,
    pub secret_prefix: String,
    pub tenants: Vec<String>,
    pub lever_api_url: String,
    pub lever_auth_url: String,
    pub pii_mode: PiiMode,
    pub rate_per_sec: f64,
    pub burst: u32,
    pub timeout: Duration,
    pub max_attempts: u32,
    pub retry_base: Duration,
    pub retry_cap: Duration,
    pub concurrency: usize,
    pub incremental_overlap_ms: i64,
    pub deadline_margin: Duration,
    pub webhook: WebhookConfig,
    pub oauth_refresh_margin: Duration,
    pub oauth_lease_ttl: Duration,
}

/// Settings of the webhook function only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    pub max_body_bytes: usize,
    pub max_age_ms: i64,
    pub max_future_ms: i64,
    pub lever_max_attempts: u32,
    pub lever_timeout: Duration,
    pub lever_retry_cap: Duration,
    pub context_ttl: Duration,
    pub secret_reread: Duration,
}

impl WebhookConfig {
    fn from_lookup(get: impl Fn(&str, &str) -> String) -> Result<Self, SyncError> {
        let ms = |name: &str, default: &str| -> Result<Duration, SyncError> {
            Ok(Duration::from_millis(parse(name, &get(name, default))?))
        };
        Ok(WebhookConfig {
            max_body_bytes: parse(
                "WEBHOOK_MAX_BODY_BYTES",
                &get("WEBHOOK_MAX_BODY_BYTES", "65536"),
            )?,
            max_age_ms: parse("WEBHOOK_MAX_AGE_MS", &get("WEBHOOK_MAX_AGE_MS", "86400000"))?,
            max_future_ms: parse(
                "WEBHOOK_MAX_FUTURE_MS",
                &get("WEBHOOK_MAX_FUTURE_MS", "300000"),
            )?,
            lever_max_attempts: parse(
                "WEBHOOK_LEVER_MAX_ATTEMPTS",
                &get("WEBHOOK_LEVER_MAX_ATTEMPTS", "3"),
            )?,
            lever_timeout: ms("WEBHOOK_LEVER_TIMEOUT_MS", "3000")?,
            lever_retry_cap: ms("WEBHOOK_LEVER_RETRY_CAP_MS", "400")?,
            context_ttl: ms("WEBHOOK_CONTEXT_TTL_MS", "900000")?,
            secret_reread: ms("WEBHOOK_SECRET_REREAD_MS", "60000")?,
        })
    }
}

impl Config {
    /// This configuration with the webhook's small Lever retry budget, so a delivery is
    /// answered within a few seconds (a failure leaves a pending marker instead).
    pub fn for_webhook(&self) -> Config {
        Config {
            max_attempts: self.webhook.lever_max_attempts,
            timeout: self.webhook.lever_timeout,
            retry_base: self.retry_base.min(self.webhook.lever_retry_cap),
            retry_cap: self.webhook.lever_retry_cap,
            ..self.clone()
        }
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, SyncError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SyncError> {
        let get = |name: &str, default: &str| lookup(name).unwrap_or_else(|| default.to_owned());
        let table = lookup("OFFERS_TABLE")
            .filter(|t| !t.is_empty())
            .ok_or_else(|| SyncError::Config("OFFERS_TABLE is not set".into()))?;

        Ok(Config {
            table,
            secret_prefix: get("SECRET_PREFIX", "lever-offers/"),
            tenants: split_list(&get("TENANTS", "")),
            lever_api_url: get("LEVER_API_URL", "https://api.lever.co/v1"),
            lever_auth_url: get("LEVER_AUTH_URL", "https://auth.lever.co"),
            pii_mode: parse("PII_MODE", &get("PII_MODE", "pseudonymize"))?,
            rate_per_sec: parse("LEVER_RATE_PER_SEC", &get("LEVER_RATE_PER_SEC", "8"))?,
            burst: parse("LEVER_BURST", &get("LEVER_BURST", "15"))?,
            timeout: Duration::from_millis(parse(
                "LEVER_TIMEOUT_MS",
                &get("LEVER_TIMEOUT_MS", "15000"),
            )?),
            max_attempts: parse("LEVER_MAX_ATTEMPTS", &get("LEVER_MAX_ATTEMPTS", "8"))?,
            retry_base: Duration::from_millis(parse(
                "LEVER_RETRY_BASE_MS",
                &get("LEVER_RETRY_BASE_MS", "250"),
            )?),
            retry_cap: Duration::from_millis(parse(
                "LEVER_RETRY_CAP_MS",
                &get("LEVER_RETRY_CAP_MS", "30000"),
            )?),
            concurrency: parse("LEVER_CONCURRENCY", &get("LEVER_CONCURRENCY", "4"))?,
            incremental_overlap_ms: parse(
                "INCREMENTAL_OVERLAP_MS",
                &get("INCREMENTAL_OVERLAP_MS", "600000"),
            )?,
            deadline_margin: Duration::from_millis(parse(
                "DEADLINE_MARGIN_MS",
                &get("DEADLINE_MARGIN_MS", "60000"),
            )?),
            oauth_refresh_margin: Duration::from_millis(parse(
                "OAUTH_REFRESH_MARGIN_MS",
                &get("OAUTH_REFRESH_MARGIN_MS", "300000"),
            )?),
            oauth_lease_ttl: Duration::from_millis(parse(
                "OAUTH_LEASE_TTL_MS",
                &get("OAUTH_LEASE_TTL_MS", "60000"),
            )?),
            webhook: WebhookConfig::from_lookup(get)?,
        })
    }
}

fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse<T: FromStr>(name: &str, text: &str) -> Result<T, SyncError> {
    text.trim()
        .parse()
        .map_err(|_| SyncError::Config(format!("{name} has an invalid value")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, SyncError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_follow_lever_us_and_the_documented_rate() {
        let cfg = config(&[("OFFERS_TABLE", "offers")]).expect("valid");
        assert_eq!(cfg.lever_api_url, "https://api.lever.co/v1");
        assert_eq!(cfg.rate_per_sec, 8.0);
        assert_eq!(cfg.burst, 15);
        assert_eq!(cfg.pii_mode, PiiMode::Pseudonymize);
        assert!(cfg.tenants.is_empty());
    }

    #[test]
    fn eu_region_tenants_and_pii_mode_are_read() {
        let cfg = config(&[
            ("OFFERS_TABLE", "offers"),
            ("LEVER_API_URL", "https://api.eu.lever.co/v1"),
            ("TENANTS", "acme, globex ,"),
            ("PII_MODE", "omit"),
        ])
        .expect("valid");
        assert_eq!(cfg.lever_api_url, "https://api.eu.lever.co/v1");
        assert_eq!(cfg.tenants, vec!["acme", "globex"]);
        assert_eq!(cfg.pii_mode, PiiMode::Omit);
    }

    #[test]
    fn webhook_defaults_and_its_small_lever_budget() {
        let cfg = config(&[
            ("OFFERS_TABLE", "offers"),
            ("WEBHOOK_MAX_AGE_MS", "3600000"),
        ])
        .expect("valid");
        assert_eq!(cfg.webhook.max_age_ms, 3_600_000);
        assert_eq!(cfg.webhook.max_body_bytes, 65_536);
        assert_eq!(cfg.webhook.max_future_ms, 300_000);

        let webhook = cfg.for_webhook();
        assert_eq!(webhook.max_attempts, 3);
        assert_eq!(webhook.timeout, Duration::from_secs(3));
        assert_eq!(webhook.retry_base, Duration::from_millis(250));
        assert_eq!(webhook.retry_cap, Duration::from_millis(400));
        assert_eq!(webhook.table, "offers");
    }

    #[test]
    fn missing_table_and_bad_numbers_are_named() {
        let err = config(&[]).expect_err("no table");
        assert!(err.to_string().contains("OFFERS_TABLE"));

        let err = config(&[("OFFERS_TABLE", "t"), ("LEVER_BURST", "lots")]).expect_err("bad");
        assert!(err.to_string().contains("LEVER_BURST"));
    }
}
