//! Production wiring: builds the engine's adapters from [`Config`] once per container.

use crate::config::Config;
use crate::error::SyncError;
use crate::lever::{HttpLever, RateLimiters, RetryPolicy};
use crate::ports::{LeverApi, SystemClock};
use crate::secrets::{SecretsManagerSource, TenantSecret};
use crate::store::DynamoStore;
use crate::sync::{LeverFactory, SyncOptions, Syncer};
use std::sync::Arc;

/// Builds Lever clients over HTTP, sharing one rate limiter per tenant inside the process.
pub struct HttpLeverFactory {
    config: Config,
}

impl HttpLeverFactory {
    pub fn new(config: Config) -> Self {
        HttpLeverFactory { config }
    }
}

impl LeverFactory for HttpLeverFactory {
    fn client(&self, tenant: &str, secret: &TenantSecret) -> Result<Arc<dyn LeverApi>, SyncError> {
        let cfg = &self.config;
        let limiter = RateLimiters::global().for_tenant(tenant, cfg.rate_per_sec, cfg.burst);
        let policy = RetryPolicy {
            max_attempts: cfg.max_attempts,
            base: cfg.retry_base,
            cap: cfg.retry_cap,
        };

        let client = HttpLever::new(
            &cfg.lever_api_url,
            secret.lever.clone(),
            limiter,
            policy,
            cfg.timeout,
        )?;
        Ok(Arc::new(client))
    }
}

/// AWS SDK configuration from the environment (`AWS_ENDPOINT_URL` points it at moto locally).
pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// The engine with DynamoDB, Secrets Manager, Lever over HTTP and the system clock.
pub fn syncer(config: &Config, aws: &aws_config::SdkConfig) -> Syncer {
    let dynamo = aws_sdk_dynamodb::Client::new(aws);
    let secrets = aws_sdk_secretsmanager::Client::new(aws);

    Syncer {
        store: Arc::new(DynamoStore::new(dynamo, &config.table)),
        secrets: Arc::new(SecretsManagerSource::new(secrets, &config.secret_prefix)),
        lever: Arc::new(HttpLeverFactory::new(config.clone())),
        clock: Arc::new(SystemClock),
        options: SyncOptions {
            pii_mode: config.pii_mode,
            concurrency: config.concurrency,
            incremental_overlap_ms: config.incremental_overlap_ms,
            deadline_margin: config.deadline_margin,
        },
    }
}
