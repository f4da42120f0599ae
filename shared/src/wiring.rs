//! Production wiring: builds the engine's adapters from [`Config`] once per container.

use crate::config::Config;
use crate::error::SyncError;
use crate::lever::oauth::{HttpTokenExchange, OAuthOptions, OAuthPorts, TokenProvider};
use crate::lever::{HttpLever, RateLimiters, RetryPolicy};
use crate::ports::{Clock, LeverApi, SecretWriter, SystemClock, TokenLease};
use crate::secrets::{LeverCredential, OAuthCredential, SecretsManagerSource, TenantSecret};
use crate::store::DynamoStore;
use crate::store::lease::DynamoLease;
use crate::sync::{ContextCache, DEFAULT_RELOAD_GAP, LeverFactory, SyncOptions, Syncer};
use crate::webhook::WebhookService;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Builds Lever clients over HTTP, sharing one rate limiter per tenant inside the process.
///
/// OAuth tenants also share one [`TokenProvider`] per tenant for the life of the factory (the
/// container), so access tokens are reused across runs and refreshes are serialized in-process.
pub struct HttpLeverFactory {
    config: Config,
    oauth: Option<OAuthAdapters>,
    providers: Mutex<HashMap<String, Arc<TokenProvider>>>,
}

/// What OAuth tenants need besides HTTP: the secret writer, the refresh lease and a clock.
#[derive(Clone)]
pub struct OAuthAdapters {
    pub secrets: Arc<dyn SecretWriter>,
    pub lease: Arc<dyn TokenLease>,
    pub clock: Arc<dyn Clock>,
}

impl HttpLeverFactory {
    /// A factory for API-key tenants only (an OAuth secret is a configuration error).
    pub fn new(config: Config) -> Self {
        HttpLeverFactory {
            config,
            oauth: None,
            providers: Mutex::new(HashMap::new()),
        }
    }

    /// A factory for API-key and OAuth tenants.
    pub fn with_oauth(config: Config, adapters: OAuthAdapters) -> Self {
        HttpLeverFactory {
            oauth: Some(adapters),
            ..HttpLeverFactory::new(config)
        }
    }

    fn policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.config.max_attempts,
            base: self.config.retry_base,
            cap: self.config.retry_cap,
        }
    }

    /// The tenant's token provider: the cached one while the partner app is unchanged.
    fn tokens(
        &self,
        tenant: &str,
        credential: &OAuthCredential,
    ) -> Result<Arc<TokenProvider>, SyncError> {
        let adapters = self.oauth.as_ref().ok_or_else(|| {
            SyncError::Config("oauth credentials need the oauth wiring".to_owned())
        })?;

        let mut providers = self.providers.lock().expect("token providers lock");
        if let Some(provider) = providers.get(tenant).filter(|p| p.serves(credential)) {
            return Ok(provider.clone());
        }

        let cfg = &self.config;
        let (timeout, policy) = token_request_budget(cfg);
        let exchange = HttpTokenExchange::new(&cfg.lever_auth_url, timeout, policy)?;
        let ports = OAuthPorts {
            exchange: Arc::new(exchange),
            secrets: adapters.secrets.clone(),
            lease: adapters.lease.clone(),
            clock: adapters.clock.clone(),
        };
        let options = OAuthOptions {
            refresh_margin: cfg.oauth_refresh_margin,
            lease_ttl: cfg.oauth_lease_ttl,
            ..OAuthOptions::default()
        };

        let provider = Arc::new(TokenProvider::new(tenant, credential, ports, options));
        providers.insert(tenant.to_owned(), provider.clone());
        Ok(provider)
    }
}

/// Timeout and retries of one refresh: small enough that a refresh (three tries of at most
/// 10 s, 2 s apart at most, plus the secret write) ends well inside the default 60 s lease,
/// so no other process can take the lease while a refresh token is in flight.
fn token_request_budget(cfg: &Config) -> (Duration, RetryPolicy) {
    let policy = RetryPolicy {
        max_attempts: cfg.max_attempts.clamp(1, 3),
        base: cfg.retry_base.min(Duration::from_secs(1)),
        cap: cfg.retry_cap.min(Duration::from_secs(2)),
    };
    (cfg.timeout.min(Duration::from_secs(10)), policy)
}

impl LeverFactory for HttpLeverFactory {
    fn client(&self, tenant: &str, secret: &TenantSecret) -> Result<Arc<dyn LeverApi>, SyncError> {
        let cfg = &self.config;
        let limiter = RateLimiters::global().for_tenant(tenant, cfg.rate_per_sec, cfg.burst);

        let client = match &secret.lever {
            LeverCredential::ApiKey(_) => HttpLever::new(
                &cfg.lever_api_url,
                secret.lever.clone(),
                limiter,
                self.policy(),
                cfg.timeout,
            )?,
            LeverCredential::Oauth(credential) => HttpLever::with_oauth(
                &cfg.lever_api_url,
                self.tokens(tenant, credential)?,
                limiter,
                self.policy(),
                cfg.timeout,
            )?,
        };
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
    let secrets = Arc::new(SecretsManagerSource::new(secrets, &config.secret_prefix));
    let oauth = OAuthAdapters {
        secrets: secrets.clone(),
        lease: Arc::new(DynamoLease::new(dynamo.clone(), &config.table)),
        clock: Arc::new(SystemClock),
    };

    Syncer {
        store: Arc::new(DynamoStore::new(dynamo, &config.table)),
        secrets,
        lever: Arc::new(HttpLeverFactory::with_oauth(config.clone(), oauth)),
        clock: Arc::new(SystemClock),
        options: SyncOptions {
            pii_mode: config.pii_mode,
            concurrency: config.concurrency,
            incremental_overlap_ms: config.incremental_overlap_ms,
            deadline_margin: config.deadline_margin,
        },
        contexts: ContextCache::default(),
    }
}

/// The webhook receiver: the engine with the webhook's small Lever retry budget and a tenant
/// context cache that lives as long as the container.
pub fn webhook(config: &Config, aws: &aws_config::SdkConfig) -> WebhookService {
    let lever_config = config.for_webhook();
    let mut syncer = syncer(&lever_config, aws);
    syncer.contexts = ContextCache::new(config.webhook.context_ttl, DEFAULT_RELOAD_GAP);

    WebhookService::new(Arc::new(syncer), config.webhook.clone())
}
