//! OAuth access tokens for one tenant ([`TokenProvider`]), refreshed with Lever's rotating
//! refresh tokens (`lever-api.md` §2.2).
//!
//! Rules, in the order a refresh applies them:
//!
//! 1. An access token is reused until `refresh_margin` before its `expires_in` runs out (the
//!    margin is capped at half the lifetime, so short-lived tokens are not refreshed on every
//!    request).
//! 2. One refresh at a time per tenant: an in-process mutex for the tasks of one process, and
//!    a [`TokenLease`] (a conditional DynamoDB write) for concurrent invocations. A process
//!    that finds the lease taken waits for it to be released or to expire.
//! 3. With the lease held, the secret is read again: another invocation may have rotated the
//!    refresh token meanwhile. A refresh token this process has already sent is never sent
//!    again; the digest the last holder left on the lease tells a stale read from a current one.
//! 4. The new refresh token is written to the secret *before* the new access token is handed
//!    out. If the write fails, the access token is dropped and the refresh token kept in memory
//!    for the next attempt.
//! 5. `invalid_grant` (or a 401 right after a refresh, see [`TokenProvider::refused_after_refresh`])
//!    is final: [`LeverError::InvalidGrant`], logged once as `event = "auth_failed"` at error
//!    level, and later calls fail the same way without asking Lever again until the secret
//!    holds another refresh token (a person re-authorized) or the process starts afresh.
//!
//! Access tokens live in memory only. Logs and errors carry the tenant and the step, never a
//! token, a client secret or a digest.

use crate::error::LeverError;
use crate::lever::client::{RetryPolicy, percent_encode, setup_error, validated_base_url};
use crate::ports::{Clock, LeaseGrant, SecretWriter, TokenLease};
use crate::secrets::{LeverCredential, OAuthCredential};
use async_trait::async_trait;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{Client, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Mutex;
use tracing::{error, info, warn};

/// Re-reads of the secret while it still shows an older refresh token than the lease recorded
/// (Secrets Manager may serve the previous version for a moment after a write).
const STALE_READS: u32 = 4;

/// Tunables of the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OAuthOptions {
    /// Refresh this long before the access token expires (default 5 min).
    pub refresh_margin: Duration,
    /// How long a refresh may hold the tenant's lease (default 60 s); also the longest wait
    /// for another holder.
    pub lease_ttl: Duration,
    /// Pause between two tries to take a busy lease, or two reads of a stale secret.
    pub poll: Duration,
    /// Writes of the new refresh token before the refresh counts as failed.
    pub store_attempts: u32,
}

impl Default for OAuthOptions {
    fn default() -> Self {
        OAuthOptions {
            refresh_margin: Duration::from_secs(300),
            lease_ttl: Duration::from_secs(60),
            poll: Duration::from_millis(250),
            store_attempts: 3,
        }
    }
}

/// The partner app's credentials, sent with every refresh.
#[derive(Clone)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: SecretString,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientCredentials(redacted)")
    }
}

/// A successful answer of the token endpoint.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    pub access_token: SecretString,
    /// `None` when the endpoint did not rotate (the refresh token sent stays valid).
    pub refresh_token: Option<SecretString>,
    pub expires_in: Duration,
}

/// Why the token endpoint did not hand out tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExchangeError {
    /// `invalid_grant`: the refresh token is used, expired or revoked.
    InvalidGrant,
    /// `invalid_client` or another refusal of the request itself (not retried).
    Rejected { status: u16 },
    /// 5xx, 429 after retries, timeouts, resets: the refresh token may or may not be spent.
    Unavailable { status: Option<u16> },
    /// A 2xx whose body is not a bearer token response.
    Malformed,
}

/// `POST /oauth/token` with `grant_type=refresh_token`.
#[async_trait]
pub trait TokenExchange: Send + Sync {
    async fn refresh(
        &self,
        client: &ClientCredentials,
        refresh_token: &SecretString,
    ) -> Result<TokenGrant, ExchangeError>;
}

/// The adapters a provider works through.
#[derive(Clone)]
pub struct OAuthPorts {
    pub exchange: Arc<dyn TokenExchange>,
    pub secrets: Arc<dyn SecretWriter>,
    pub lease: Arc<dyn TokenLease>,
    pub clock: Arc<dyn Clock>,
}

/// An access token as the client sends it; `generation` names the refresh that produced it.
#[derive(Clone)]
pub struct Bearer {
    pub token: SecretString,
    pub generation: u64,
}

impl fmt::Debug for Bearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bearer(generation {}, redacted)", self.generation)
    }
}

struct AccessToken {
    token: SecretString,
    expires_at_ms: i64,
    refresh_at_ms: i64,
}

/// What one process knows about a tenant's tokens.
struct TokenState {
    access: Option<AccessToken>,
    /// Refreshes so far (0: none yet).
    generation: u64,
    /// The newest refresh token this process has seen, sent or not.
    latest_refresh: SecretString,
    /// Digests of every refresh token this process has sent.
    spent: HashSet<String>,
    /// Digest of the secret's refresh token when Lever refused the grant; set until the
    /// secret holds another one.
    dead_grant: Option<String>,
}

/// Access tokens of one tenant, shared by every client of that tenant in the process.
pub struct TokenProvider {
    tenant: String,
    client: ClientCredentials,
    ports: OAuthPorts,
    options: OAuthOptions,
    /// Identifies this process on the lease.
    owner: String,
    state: Mutex<TokenState>,
    refreshes: AtomicU64,
}

impl fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenProvider")
            .field("tenant", &self.tenant)
            .field("refreshes", &self.refreshes())
            .finish_non_exhaustive()
    }
}

impl TokenProvider {
    /// A provider starting from the grant in the tenant's secret; no request is made yet.
    pub fn new(
        tenant: &str,
        credential: &OAuthCredential,
        ports: OAuthPorts,
        options: OAuthOptions,
    ) -> Self {
        let owner = format!("{}-{:016x}", std::process::id(), rand::random::<u64>());

        TokenProvider {
            tenant: tenant.to_owned(),
            client: ClientCredentials {
                client_id: credential.client_id.clone(),
                client_secret: credential.client_secret.clone(),
            },
            ports,
            options,
            owner,
            state: Mutex::new(TokenState {
                access: None,
                generation: 0,
                latest_refresh: credential.refresh_token.clone(),
                spent: HashSet::new(),
                dead_grant: None,
            }),
            refreshes: AtomicU64::new(0),
        }
    }

    /// True when `credential` names the same partner app (the provider can be reused).
    pub fn serves(&self, credential: &OAuthCredential) -> bool {
        self.client.client_id == credential.client_id
            && self.client.client_secret.expose_secret() == credential.client_secret.expose_secret()
    }

    /// Successful refreshes made by this provider.
    pub fn refreshes(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }

    /// A usable access token, refreshing first when none is held or it is due.
    pub async fn bearer(&self) -> Result<Bearer, LeverError> {
        let mut state = self.state.lock().await;

        let now = self.ports.clock.now_ms();
        if let Some(bearer) = usable(&state, now) {
            return Ok(bearer);
        }

        self.refresh(&mut state).await
    }

    /// Lever answered 401 to the token of `generation`: refresh once, unless another caller
    /// already replaced that token, and return the token to retry with.
    pub async fn rejected(&self, generation: u64) -> Result<Bearer, LeverError> {
        let mut state = self.state.lock().await;

        let now = self.ports.clock.now_ms();
        if state.generation != generation
            && let Some(bearer) = usable(&state, now)
        {
            return Ok(bearer);
        }

        state.access = None;
        self.refresh(&mut state).await
    }

    /// Lever refused a token that a refresh had just produced: the grant is unusable.
    pub async fn refused_after_refresh(&self) -> LeverError {
        let mut state = self.state.lock().await;
        state.access = None;
        state.dead_grant = Some(digest(&state.latest_refresh));

        self.auth_failed("access token refused right after a refresh");
        LeverError::InvalidGrant
    }

    /// Takes the lease, rotates, and gives the lease back whatever happened.
    async fn refresh(&self, state: &mut TokenState) -> Result<Bearer, LeverError> {
        let grant = self.acquire_lease().await?;

        let outcome = self.rotate(state, &grant).await;

        let rotated = outcome
            .as_ref()
            .ok()
            .and_then(|(_, digest)| digest.as_deref());
        if let Err(err) = self
            .ports
            .lease
            .release(&self.tenant, &self.owner, rotated)
            .await
        {
            warn!(event = "oauth_lease_release_failed", tenant = %self.tenant, error = %err);
        }

        outcome.map(|(bearer, _)| bearer)
    }

    /// Waits until this process holds the tenant's lease (at most one lease lifetime plus a poll).
    async fn acquire_lease(&self) -> Result<LeaseGrant, LeverError> {
        let ttl_ms = millis(self.options.lease_ttl);
        let give_up = tokio::time::Instant::now() + self.options.lease_ttl + self.options.poll;

        loop {
            let now = self.ports.clock.now_ms();
            let taken = self
                .ports
                .lease
                .try_acquire(&self.tenant, &self.owner, now, ttl_ms)
                .await
                .map_err(|err| {
                    warn!(event = "oauth_lease_failed", tenant = %self.tenant, error = %err);
                    LeverError::TokenRefresh {
                        step: "could not take the refresh lease",
                    }
                })?;
            if let Some(grant) = taken {
                return Ok(grant);
            }

            if tokio::time::Instant::now() >= give_up {
                warn!(event = "oauth_lease_busy", tenant = %self.tenant);
                return Err(LeverError::TokenRefresh {
                    step: "the refresh lease stayed busy",
                });
            }
            tokio::time::sleep(self.options.poll).await;
        }
    }

    /// One refresh with the lease held: pick the refresh token, exchange it, store the new
    /// one, then install the access token. Returns the token and the digest now stored.
    async fn rotate(
        &self,
        state: &mut TokenState,
        grant: &LeaseGrant,
    ) -> Result<(Bearer, Option<String>), LeverError> {
        let refresh_token = self.unsent_refresh_token(state, grant).await?;

        let sent_digest = digest(&refresh_token);
        state.spent.insert(sent_digest.clone());
        let tokens = self.exchange(state, &refresh_token).await?;

        let (stored, rotated) = match tokens.refresh_token {
            Some(new) => {
                state.latest_refresh = new.clone();
                self.store(&new).await?;
                (true, Some(digest(&new)))
            }
            None => {
                // Not rotated: the token sent stays the valid one.
                state.spent.remove(&sent_digest);
                (false, None)
            }
        };

        let bearer = self.install(state, tokens.access_token, tokens.expires_in);
        info!(
            event = "oauth_token_refreshed",
            tenant = %self.tenant,
            generation = bearer.generation,
            expires_in_s = tokens.expires_in.as_secs(),
            refresh_token_rotated = stored,
        );
        Ok((bearer, rotated))
    }

    /// The refresh token to send: the secret's, unless this process already sent it or the
    /// read is older than the last rotation the lease recorded.
    async fn unsent_refresh_token(
        &self,
        state: &mut TokenState,
        grant: &LeaseGrant,
    ) -> Result<SecretString, LeverError> {
        if let Some(dead) = state.dead_grant.clone() {
            return self.revived_refresh_token(state, &dead).await;
        }

        let latest_digest = digest(&state.latest_refresh);
        if grant.rotated.as_deref() == Some(latest_digest.as_str())
            && !state.spent.contains(&latest_digest)
        {
            return Ok(state.latest_refresh.clone());
        }

        let mut from_secret = self.read_refresh_token().await?;
        for _ in 0..STALE_READS {
            let read_digest = digest(&from_secret);
            let current = grant.rotated.as_ref().is_none_or(|r| *r == read_digest);
            if current && !state.spent.contains(&read_digest) {
                break;
            }
            tokio::time::sleep(self.options.poll).await;
            from_secret = self.read_refresh_token().await?;
        }

        self.choose(state, from_secret)
    }

    /// After Lever refused the grant: only a different refresh token in the secret is worth
    /// sending; otherwise the refusal stands without asking Lever again.
    async fn revived_refresh_token(
        &self,
        state: &mut TokenState,
        dead: &str,
    ) -> Result<SecretString, LeverError> {
        let from_secret = self.read_refresh_token().await?;

        let read_digest = digest(&from_secret);
        if read_digest == dead || state.spent.contains(&read_digest) {
            self.auth_failed("grant still invalid; the secret holds no new refresh token");
            return Err(LeverError::InvalidGrant);
        }

        state.dead_grant = None;
        state.latest_refresh = from_secret.clone();
        Ok(from_secret)
    }

    /// After the re-reads: the secret's token if unsent (an operator may have stored a new
    /// grant), else this process's newest one if unsent, else nothing may be sent.
    fn choose(
        &self,
        state: &mut TokenState,
        from_secret: SecretString,
    ) -> Result<SecretString, LeverError> {
        if !state.spent.contains(&digest(&from_secret)) {
            state.latest_refresh = from_secret.clone();
            return Ok(from_secret);
        }
        if !state.spent.contains(&digest(&state.latest_refresh)) {
            return Ok(state.latest_refresh.clone());
        }

        warn!(event = "oauth_no_unsent_refresh_token", tenant = %self.tenant);
        Err(LeverError::TokenRefresh {
            step: "every known refresh token was already sent",
        })
    }

    /// The refresh token in the stored secret.
    async fn read_refresh_token(&self) -> Result<SecretString, LeverError> {
        let secret = self
            .ports
            .secrets
            .reload_secret(&self.tenant)
            .await
            .map_err(|err| {
                warn!(event = "oauth_secret_read_failed", tenant = %self.tenant, error = %err);
                LeverError::TokenRefresh {
                    step: "could not read the secret",
                }
            })?;

        match secret.lever {
            LeverCredential::Oauth(oauth) => Ok(oauth.refresh_token),
            LeverCredential::ApiKey(_) => Err(LeverError::TokenRefresh {
                step: "the secret no longer holds an oauth grant",
            }),
        }
    }

    /// Calls the token endpoint; refusals are final and logged as `auth_failed`.
    async fn exchange(
        &self,
        state: &mut TokenState,
        refresh_token: &SecretString,
    ) -> Result<TokenGrant, LeverError> {
        match self
            .ports
            .exchange
            .refresh(&self.client, refresh_token)
            .await
        {
            Ok(tokens) => Ok(tokens),
            Err(ExchangeError::InvalidGrant) => {
                state.dead_grant = Some(digest(refresh_token));
                self.auth_failed("invalid_grant");
                Err(LeverError::InvalidGrant)
            }
            Err(ExchangeError::Rejected { status }) => {
                self.auth_failed("token request refused (client credentials)");
                Err(LeverError::Unauthorized { status })
            }
            Err(ExchangeError::Unavailable { status }) => {
                warn!(event = "oauth_token_endpoint_unavailable", tenant = %self.tenant, status);
                Err(LeverError::Unavailable {
                    attempts: 1,
                    last_status: status,
                })
            }
            Err(ExchangeError::Malformed) => Err(LeverError::Malformed {
                route: "/oauth/token",
            }),
        }
    }

    /// Writes the new refresh token, retrying a few times; the access token is not used
    /// unless this succeeds.
    async fn store(&self, refresh_token: &SecretString) -> Result<(), LeverError> {
        let attempts = self.options.store_attempts.max(1);

        for attempt in 1..=attempts {
            match self
                .ports
                .secrets
                .store_refresh_token(&self.tenant, refresh_token)
                .await
            {
                Ok(()) => return Ok(()),
                Err(err) if attempt < attempts => {
                    warn!(event = "oauth_secret_write_retry", tenant = %self.tenant, attempt, error = %err);
                    tokio::time::sleep(self.options.poll).await;
                }
                Err(err) => {
                    error!(event = "oauth_secret_write_failed", tenant = %self.tenant, attempts, error = %err,
                        "the new refresh token is held in memory only");
                }
            }
        }
        Err(LeverError::TokenRefresh {
            step: "could not store the new refresh token",
        })
    }

    /// Makes `token` the current access token.
    fn install(&self, state: &mut TokenState, token: SecretString, expires_in: Duration) -> Bearer {
        let now = self.ports.clock.now_ms();
        let lifetime = millis(expires_in);
        let margin = millis(self.options.refresh_margin).min(lifetime / 2);

        state.generation += 1;
        state.access = Some(AccessToken {
            token: token.clone(),
            expires_at_ms: now.saturating_add(lifetime),
            refresh_at_ms: now.saturating_add(lifetime - margin),
        });
        self.refreshes.fetch_add(1, Ordering::Relaxed);

        Bearer {
            token,
            generation: state.generation,
        }
    }

    fn auth_failed(&self, reason: &'static str) {
        error!(
            event = "auth_failed",
            tenant = %self.tenant,
            reason,
            "lever oauth grant is no longer valid; the tenant must re-authorize"
        );
    }
}

/// The held access token, when it is not yet due for refresh.
fn usable(state: &TokenState, now_ms: i64) -> Option<Bearer> {
    let access = state.access.as_ref()?;
    (now_ms < access.refresh_at_ms && now_ms < access.expires_at_ms).then(|| Bearer {
        token: access.token.clone(),
        generation: state.generation,
    })
}

/// SHA-256 of a token, hex: lets the lease compare tokens without holding one.
pub fn digest(token: &SecretString) -> String {
    hex::encode(Sha256::digest(token.expose_secret().as_bytes()))
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

// ---------------------------------------------------------------------------------------------
// The token endpoint over HTTP
// ---------------------------------------------------------------------------------------------

/// Lever's token endpoint, `<auth host>/oauth/token`.
///
/// Only 429 and 503 are retried: they say the request was not processed. Any other failure
/// (500, 502, 504, timeouts, resets) may have spent the refresh token, so sending it again
/// could only meet `invalid_grant`; those end the attempt as [`ExchangeError::Unavailable`].
pub struct HttpTokenExchange {
    http: Client,
    token_url: String,
    policy: RetryPolicy,
}

impl fmt::Debug for HttpTokenExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpTokenExchange")
            .field("token_url", &self.token_url)
            .finish_non_exhaustive()
    }
}

/// The token endpoint's JSON answer (RFC 6749 §5.1).
#[derive(Deserialize)]
struct TokenResponse {
    access_token: SecretString,
    #[serde(default)]
    refresh_token: Option<SecretString>,
    token_type: String,
    expires_in: u64,
}

/// The token endpoint's error answer (RFC 6749 §5.2).
#[derive(Deserialize)]
struct TokenErrorBody {
    error: String,
}

impl HttpTokenExchange {
    /// An exchange against `auth_url` (for example `https://auth.lever.co`), which must be
    /// `https`, or `http` on a loopback address.
    pub fn new(auth_url: &str, timeout: Duration, policy: RetryPolicy) -> Result<Self, LeverError> {
        let root = validated_base_url(auth_url)?;

        let http = Client::builder()
            .timeout(timeout)
            .user_agent(concat!("lever-offers/", env!("CARGO_PKG_VERSION")))
            .retry(reqwest::retry::never())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|_| setup_error("setup: oauth http client"))?;

        Ok(HttpTokenExchange {
            http,
            token_url: format!("{root}/oauth/token"),
            policy,
        })
    }

    /// One POST; `Ok(None)` means "not processed, try again" (429 or 503).
    async fn post(
        &self,
        body: &SecretString,
    ) -> Result<Option<TokenGrant>, (ExchangeError, Option<u16>)> {
        let response = self
            .http
            .post(&self.token_url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body(body.expose_secret().to_owned())
            .send()
            .await
            .map_err(|_| (ExchangeError::Unavailable { status: None }, None))?;

        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|_| (ExchangeError::Unavailable { status: None }, None))?;

        match status {
            StatusCode::OK => grant(&bytes).map(Some).map_err(|e| (e, None)),
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => Ok(None),
            s if s.is_client_error() => Err((refusal(s.as_u16(), &bytes), Some(s.as_u16()))),
            s => Err((
                ExchangeError::Unavailable {
                    status: Some(s.as_u16()),
                },
                Some(s.as_u16()),
            )),
        }
    }
}

#[async_trait]
impl TokenExchange for HttpTokenExchange {
    async fn refresh(
        &self,
        client: &ClientCredentials,
        refresh_token: &SecretString,
    ) -> Result<TokenGrant, ExchangeError> {
        let body = refresh_form(client, refresh_token);
        let attempts = self.policy.max_attempts.max(1);

        for attempt in 1..=attempts {
            match self.post(&body).await {
                Ok(Some(grant)) => return Ok(grant),
                Ok(None) if attempt < attempts => {
                    let wait = self.policy.base.saturating_mul(1 << attempt.min(16));
                    tokio::time::sleep(wait.min(self.policy.cap)).await;
                }
                Ok(None) => {}
                Err((err, status)) => {
                    tracing::debug!(route = "/oauth/token", status, "token request failed");
                    return Err(err);
                }
            }
        }
        Err(ExchangeError::Unavailable { status: None })
    }
}

/// `grant_type=refresh_token&client_id=…&client_secret=…&refresh_token=…`, form-encoded.
fn refresh_form(client: &ClientCredentials, refresh_token: &SecretString) -> SecretString {
    SecretString::from(format!(
        "grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={}",
        percent_encode(&client.client_id),
        percent_encode(client.client_secret.expose_secret()),
        percent_encode(refresh_token.expose_secret()),
    ))
}

/// Decodes a 200 answer; it must carry a bearer token with a positive lifetime.
fn grant(body: &[u8]) -> Result<TokenGrant, ExchangeError> {
    let response: TokenResponse =
        serde_json::from_slice(body).map_err(|_| ExchangeError::Malformed)?;

    let bearer = response.token_type.eq_ignore_ascii_case("bearer");
    if !bearer || response.expires_in == 0 || response.access_token.expose_secret().is_empty() {
        return Err(ExchangeError::Malformed);
    }

    Ok(TokenGrant {
        access_token: response.access_token,
        refresh_token: response
            .refresh_token
            .filter(|token| !token.expose_secret().is_empty()),
        expires_in: Duration::from_secs(response.expires_in),
    })
}

/// A 4xx answer: `invalid_grant` (Lever's auth host may send it with 400, 401 or 403) or
/// another refusal.
fn refusal(status: u16, body: &[u8]) -> ExchangeError {
    let code = serde_json::from_slice::<TokenErrorBody>(body).map(|b| b.error);

    match code.as_deref() {
        Ok("invalid_grant") => ExchangeError::InvalidGrant,
        _ => ExchangeError::Rejected { status },
    }
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod client_tests;
