//! [`HttpLever`]: the production [`LeverApi`] adapter for Lever's Data API (`lever-api.md` §3-§5).
//!
//! Every HTTP request, retries included, first takes a token from the tenant's
//! [`RateLimiter`] and is counted in [`HttpLever::calls`]. 429, 500, 502, 503, 504, timeouts,
//! connection failures and undecodable 2xx bodies are retried with exponential backoff and full
//! jitter, waiting at least as long as a `Retry-After` header asks (up to the policy's cap).
//!
//! Paging tokens are opaque and already URL-encoded, so query strings are built here by hand:
//! our own values are percent-encoded, and a token is appended byte-for-byte after checking
//! that it is a valid query value.
//!
//! With OAuth, the bearer token comes from the tenant's [`TokenProvider`]. A 401 triggers one
//! refresh and one more try of the same request; a second 401 ends in
//! [`LeverError::InvalidGrant`] (see `lever-api.md` §3).
//!
//! Nothing secret or personal is logged or put into errors: events and errors carry the route
//! template (for example `/opportunities/:id/offers`), never a URL, id, token, header or body.

use crate::error::LeverError;
use crate::lever::limiter::RateLimiter;
use crate::lever::model::{
    ArchiveReason, DeletedOpportunity, Offer, Opportunity, Page, Posting, Requisition,
    RequisitionField, Single, Stage,
};
use crate::lever::oauth::TokenProvider;
use crate::ports::{LeverApi, OpportunityFilter};
use crate::secrets::LeverCredential;
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::Rng;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Client, Response, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// Page size of every list call (Lever's maximum).
const PAGE_LIMIT: &str = "100";

/// Bodies larger than this are treated as malformed rather than buffered.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Redirects followed per request (Lever documents 301 for moved routes).
const MAX_REDIRECTS: usize = 3;

const USER_AGENT: &str = concat!("lever-offers/", env!("CARGO_PKG_VERSION"));

/// Route templates: the only request descriptions that reach logs and errors.
mod route {
    pub const STAGES: &str = "/stages";
    pub const ARCHIVE_REASONS: &str = "/archive_reasons";
    pub const POSTINGS: &str = "/postings";
    pub const REQUISITIONS: &str = "/requisitions";
    pub const REQUISITION_FIELDS: &str = "/requisition_fields";
    pub const OPPORTUNITIES: &str = "/opportunities";
    pub const OPPORTUNITY: &str = "/opportunities/:id";
    pub const OFFERS: &str = "/opportunities/:id/offers";
    pub const DELETED: &str = "/opportunities/deleted";
}

/// How often and how patiently a request is retried.
///
/// The wait before retry `n` (0 for the first retry) is uniformly random in
/// `[0, min(cap, base * 2^n)]` ("full jitter"), raised to the server's `Retry-After` when that
/// is longer (a `Retry-After` beyond `cap` counts as `cap`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries of one request, the first included (0 counts as 1).
    pub max_attempts: u32,
    /// Backoff ceiling of the first retry.
    pub base: Duration,
    /// Largest backoff ceiling.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    /// 8 tries, 250 ms base, 30 s cap.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base: Duration::from_millis(250),
            cap: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The default policy with another number of tries (as `LEVER_MAX_ATTEMPTS` configures).
    pub fn with_max_attempts(max_attempts: u32) -> Self {
        RetryPolicy {
            max_attempts,
            ..RetryPolicy::default()
        }
    }

    fn attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }

    /// Upper bound of the jittered wait before retry `retry` (0-based).
    fn ceiling(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The wait before retry `retry`: full jitter, at least `retry_after` (capped).
    fn wait(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let jitter = self
            .ceiling(retry)
            .mul_f64(rand::rng().random_range(0.0..=1.0));

        match retry_after {
            Some(asked) => jitter.max(asked.min(self.cap)),
            None => jitter,
        }
    }
}

/// How requests are authorized; yields the `Authorization` header value.
enum Auth {
    /// HTTP Basic with the key as user name and an empty password.
    ApiKey(SecretString),
    /// OAuth bearer tokens from the tenant's provider.
    OAuth(Arc<TokenProvider>),
}

/// The header of one attempt; `generation` names the OAuth token it carries.
struct Authorization {
    header: HeaderValue,
    generation: Option<u64>,
}

impl Auth {
    fn from_credential(credential: LeverCredential) -> Result<Self, LeverError> {
        match credential {
            LeverCredential::ApiKey(key) => Ok(Auth::ApiKey(key)),
            LeverCredential::Oauth(_) => Err(setup_error("setup: oauth needs a token provider")),
        }
    }

    /// The header of the next attempt (with OAuth, refreshing the token when it is due).
    async fn authorization(&self) -> Result<Authorization, LeverError> {
        match self {
            Auth::ApiKey(_) => Ok(Authorization {
                header: self.basic_header()?,
                generation: None,
            }),
            Auth::OAuth(tokens) => {
                let bearer = tokens.bearer().await?;
                let text = SecretString::from(format!("Bearer {}", bearer.token.expose_secret()));
                Ok(Authorization {
                    header: sensitive_header(text)?,
                    generation: Some(bearer.generation),
                })
            }
        }
    }

    /// The Basic header of an API key.
    fn basic_header(&self) -> Result<HeaderValue, LeverError> {
        let Auth::ApiKey(key) = self else {
            return Err(setup_error("setup: authorization header"));
        };
        let user_and_empty_password = SecretString::from(format!("{}:", key.expose_secret()));
        let text = format!(
            "Basic {}",
            BASE64.encode(user_and_empty_password.expose_secret())
        );
        sensitive_header(SecretString::from(text))
    }

    fn kind(&self) -> &'static str {
        match self {
            Auth::ApiKey(_) => "api key (redacted)",
            Auth::OAuth(_) => "oauth bearer (redacted)",
        }
    }
}

/// A header value marked sensitive so `http` never prints it.
fn sensitive_header(text: SecretString) -> Result<HeaderValue, LeverError> {
    let mut value = HeaderValue::try_from(text.expose_secret())
        .map_err(|_| setup_error("setup: authorization header"))?;
    value.set_sensitive(true);
    Ok(value)
}

/// Lever's Data API over HTTPS, for one tenant credential.
pub struct HttpLever {
    http: Client,
    /// Validated root such as `https://api.lever.co/v1`, without a trailing slash.
    base_url: String,
    auth: Auth,
    limiter: Arc<RateLimiter>,
    policy: RetryPolicy,
    calls: AtomicU64,
}

impl fmt::Debug for HttpLever {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpLever")
            .field("base_url", &self.base_url)
            .field("auth", &self.auth.kind())
            .field("policy", &self.policy)
            .field("calls", &self.calls())
            .finish_non_exhaustive()
    }
}

impl HttpLever {
    /// A client for the Data API rooted at `base_url` (US `https://api.lever.co/v1`, EU
    /// `https://api.eu.lever.co/v1`, sandbox `https://api.sandbox.lever.co/v1`).
    ///
    /// `base_url` must be `https`, or `http` on a loopback address (tests), with no query,
    /// fragment or user info. `timeout` bounds each request, body included. Setup failures are
    /// reported as `LeverError::Status { status: 0, route: "setup: …" }`.
    pub fn new(
        base_url: &str,
        credential: LeverCredential,
        limiter: Arc<RateLimiter>,
        policy: RetryPolicy,
        timeout: Duration,
    ) -> Result<Self, LeverError> {
        let auth = Auth::from_credential(credential)?;
        auth.basic_header()?;
        Self::build(base_url, auth, limiter, policy, timeout)
    }

    /// Like [`HttpLever::new`], authorizing with OAuth bearer tokens from `tokens`.
    pub fn with_oauth(
        base_url: &str,
        tokens: Arc<TokenProvider>,
        limiter: Arc<RateLimiter>,
        policy: RetryPolicy,
        timeout: Duration,
    ) -> Result<Self, LeverError> {
        Self::build(base_url, Auth::OAuth(tokens), limiter, policy, timeout)
    }

    fn build(
        base_url: &str,
        auth: Auth,
        limiter: Arc<RateLimiter>,
        policy: RetryPolicy,
        timeout: Duration,
    ) -> Result<Self, LeverError> {
        let base_url = validated_base_url(base_url)?;

        let http = Client::builder()
            .timeout(timeout)
            .user_agent(USER_AGENT)
            .retry(reqwest::retry::never())
            .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
            .build()
            .map_err(|_| setup_error("setup: http client"))?;

        Ok(HttpLever {
            http,
            base_url,
            auth,
            limiter,
            policy,
            calls: AtomicU64::new(0),
        })
    }

    /// HTTP requests sent so far, retries included.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// GETs one resource, retrying transient failures. `Ok(None)` means Lever answered 404.
    async fn get<T: DeserializeOwned>(
        &self,
        route: &'static str,
        path: &str,
        query: &Query,
    ) -> Result<Option<T>, LeverError> {
        let url = format!("{}{}?{}", self.base_url, path, query.as_str());
        let attempts = self.policy.attempts();
        let mut last_status = None;
        let mut last_failure = Transient::Transport;
        let mut reauthorized = false;

        for attempt in 1..=attempts {
            let transient = loop {
                let authorization = self.auth.authorization().await?;
                let generation = authorization.generation;

                match self
                    .attempt(route, &url, attempt, authorization.header)
                    .await
                {
                    Attempt::Finished(Err(LeverError::Unauthorized { status: 401 }))
                        if generation.is_some() =>
                    {
                        self.reauthorize(generation, &mut reauthorized).await?;
                    }
                    Attempt::Finished(result) => return result,
                    Attempt::Retry(transient) => break transient,
                }
            };

            last_status = transient.status().or(last_status);
            if attempt < attempts {
                self.back_off(route, attempt, &transient).await;
            }
            last_failure = transient;
        }

        Err(match last_failure {
            Transient::Malformed { .. } => LeverError::Malformed { route },
            _ => LeverError::Unavailable {
                attempts,
                last_status,
            },
        })
    }

    /// After a 401 with an OAuth token: one refresh per request, then the grant is deemed
    /// invalid (a 401 right after a refresh means Lever no longer honours it).
    async fn reauthorize(
        &self,
        generation: Option<u64>,
        reauthorized: &mut bool,
    ) -> Result<(), LeverError> {
        let (Auth::OAuth(tokens), Some(generation)) = (&self.auth, generation) else {
            return Err(LeverError::Unauthorized { status: 401 });
        };
        if *reauthorized {
            return Err(tokens.refused_after_refresh().await);
        }

        *reauthorized = true;
        tracing::info!(
            event = "oauth_token_refused",
            "lever refused the access token; refreshing once"
        );
        tokens.rejected(generation).await?;
        Ok(())
    }

    /// Sends one request (after the limiter) and classifies its answer.
    async fn attempt<T: DeserializeOwned>(
        &self,
        route: &'static str,
        url: &str,
        attempt: u32,
        authorization: HeaderValue,
    ) -> Attempt<T> {
        self.limiter.acquire().await;
        self.calls.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();

        let request = self
            .http
            .get(url)
            .header(AUTHORIZATION, authorization)
            .header(ACCEPT, "application/json");

        let response = match request.send().await {
            Ok(response) => response,
            Err(err) => {
                log_transport_failure(route, attempt, started, &err);
                return Attempt::Retry(Transient::Transport);
            }
        };

        let status = response.status().as_u16();
        let outcome = classify(route, response).await;

        tracing::debug!(
            route,
            status,
            attempt,
            elapsed_ms = millis(started.elapsed()),
            "lever request"
        );
        outcome
    }

    /// Logs the retry and sleeps the policy's wait.
    async fn back_off(&self, route: &'static str, attempt: u32, transient: &Transient) {
        let wait = self.policy.wait(attempt - 1, transient.retry_after());

        tracing::warn!(
            route,
            status = transient.status(),
            attempt,
            wait_ms = millis(wait),
            "retrying lever request"
        );
        tokio::time::sleep(wait).await;
    }

    /// One page of a list endpoint; `Ok(None)` on 404.
    async fn page<T: DeserializeOwned>(
        &self,
        route: &'static str,
        path: &str,
        query: &Query,
        offset: Option<&str>,
    ) -> Result<Option<Page<T>>, LeverError> {
        let query = query.clone().with_offset(route, offset)?;
        self.get(route, path, &query).await
    }

    /// Every page of a list endpoint, following `next` until `hasNext` is false; `Ok(None)` on
    /// a 404 at any page.
    async fn all_pages<T: DeserializeOwned>(
        &self,
        route: &'static str,
        path: &str,
        query: Query,
    ) -> Result<Option<Vec<T>>, LeverError> {
        let mut items = Vec::new();
        let mut offset: Option<String> = None;

        loop {
            let Some(page) = self
                .page::<T>(route, path, &query, offset.as_deref())
                .await?
            else {
                return Ok(None);
            };
            items.extend(page.data);

            match next_offset(route, page.has_next, page.next, offset.as_deref())? {
                Some(next) => offset = Some(next),
                None => return Ok(Some(items)),
            }
        }
    }

    /// Every page of a list endpoint that must exist (a 404 is an error).
    async fn list<T: DeserializeOwned>(
        &self,
        route: &'static str,
        query: Query,
    ) -> Result<Vec<T>, LeverError> {
        let items = self.all_pages(route, route, query).await?;
        items.ok_or(LeverError::Status { status: 404, route })
    }
}

#[async_trait]
impl LeverApi for HttpLever {
    async fn stages(&self) -> Result<Vec<Stage>, LeverError> {
        self.list(route::STAGES, Query::new().with("limit", PAGE_LIMIT))
            .await
    }

    async fn archive_reasons(&self) -> Result<Vec<ArchiveReason>, LeverError> {
        self.list(
            route::ARCHIVE_REASONS,
            Query::new().with("limit", PAGE_LIMIT),
        )
        .await
    }

    async fn postings(&self) -> Result<Vec<Posting>, LeverError> {
        let query = Query::new()
            .with("confidentiality", "all")
            .with("limit", PAGE_LIMIT);
        self.list(route::POSTINGS, query).await
    }

    async fn requisitions(&self) -> Result<Vec<Requisition>, LeverError> {
        let query = Query::new()
            .with("confidentiality", "all")
            .with("limit", PAGE_LIMIT);
        self.list(route::REQUISITIONS, query).await
    }

    async fn requisition_fields(&self) -> Result<Vec<RequisitionField>, LeverError> {
        self.list(
            route::REQUISITION_FIELDS,
            Query::new().with("limit", PAGE_LIMIT),
        )
        .await
    }

    async fn opportunities_page(
        &self,
        filter: &OpportunityFilter,
        offset: Option<&str>,
    ) -> Result<Page<Opportunity>, LeverError> {
        let route = route::OPPORTUNITIES;
        let query = opportunities_query(filter);

        let page = self.page(route, route, &query, offset).await?;
        page.ok_or(LeverError::Status { status: 404, route })
    }

    async fn opportunity(&self, id: &str) -> Result<Option<Opportunity>, LeverError> {
        let route = route::OPPORTUNITY;
        let Some(id) = path_segment(route, id) else {
            return Ok(None);
        };

        let path = format!("/opportunities/{id}");
        let query = Query::new().with("expand", "applications");

        let single: Option<Single<Opportunity>> = self.get(route, &path, &query).await?;
        Ok(single.map(|single| single.data))
    }

    async fn offers(&self, opportunity_id: &str) -> Result<Option<Vec<Offer>>, LeverError> {
        let route = route::OFFERS;
        let Some(id) = path_segment(route, opportunity_id) else {
            return Ok(None);
        };

        let path = format!("/opportunities/{id}/offers");
        self.all_pages(route, &path, Query::new().with("limit", PAGE_LIMIT))
            .await
    }

    async fn deleted_page(
        &self,
        since: i64,
        offset: Option<&str>,
    ) -> Result<Page<DeletedOpportunity>, LeverError> {
        let route = route::DELETED;
        let query = Query::new()
            .with("deleted_at_start", &since.to_string())
            .with("limit", PAGE_LIMIT);

        let page = self.page(route, route, &query, offset).await?;
        page.ok_or(LeverError::Status { status: 404, route })
    }

    fn calls(&self) -> u64 {
        HttpLever::calls(self)
    }
}

/// The query of `GET /opportunities` for one filter (without the paging token).
fn opportunities_query(filter: &OpportunityFilter) -> Query {
    Query::new()
        .with("confidentiality", "all")
        .with("expand", "applications")
        .with("limit", PAGE_LIMIT)
        .with_some("updated_at_start", filter.updated_at_start)
        .with_some("updated_at_end", filter.updated_at_end)
        .with_some("created_at_start", filter.created_at_start)
        .with_some("created_at_end", filter.created_at_end)
        .with_some("archived", filter.archived)
}

/// The token of the next page, `None` when the listing is complete.
///
/// A page that points back at the token it was fetched with would loop forever: that is
/// reported as malformed.
fn next_offset(
    route: &'static str,
    has_next: bool,
    next: Option<String>,
    current: Option<&str>,
) -> Result<Option<String>, LeverError> {
    let next = next.filter(|token| has_next && !token.is_empty());

    if next.is_some() && next.as_deref() == current {
        return Err(LeverError::Malformed { route });
    }
    Ok(next)
}

// ---------------------------------------------------------------------------------------------
// One attempt: classification of the answer
// ---------------------------------------------------------------------------------------------

/// What one attempt produced.
enum Attempt<T> {
    /// A final answer: a value, a 404 (`None`) or a non-retryable error.
    Finished(Result<Option<T>, LeverError>),
    /// A failure worth another try.
    Retry(Transient),
}

/// A retryable failure.
enum Transient {
    /// 429 or a 5xx Lever names as temporary.
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// A 2xx whose body did not decode (or was too large).
    Malformed { status: u16 },
    /// Timeout, refused or reset connection, or a body cut short.
    Transport,
}

impl Transient {
    fn status(&self) -> Option<u16> {
        match self {
            Transient::Status { status, .. } | Transient::Malformed { status } => Some(*status),
            Transient::Transport => None,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Transient::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// Maps a response to a final answer or a retryable failure, reading the body when needed.
async fn classify<T: DeserializeOwned>(route: &'static str, response: Response) -> Attempt<T> {
    let status = response.status();
    if status.is_success() {
        return decode(status.as_u16(), response).await;
    }

    match status {
        StatusCode::BAD_REQUEST => {
            let body = read_body(response).await.unwrap_or_default();
            Attempt::Finished(Err(LeverError::BadRequest {
                invalid_offset: mentions_invalid_offset(&body),
            }))
        }
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            Attempt::Finished(Err(LeverError::Unauthorized {
                status: status.as_u16(),
            }))
        }
        StatusCode::NOT_FOUND => Attempt::Finished(Ok(None)),
        StatusCode::TOO_MANY_REQUESTS
        | StatusCode::INTERNAL_SERVER_ERROR
        | StatusCode::BAD_GATEWAY
        | StatusCode::SERVICE_UNAVAILABLE
        | StatusCode::GATEWAY_TIMEOUT => Attempt::Retry(Transient::Status {
            status: status.as_u16(),
            retry_after: retry_after(response.headers(), SystemTime::now()),
        }),
        other => Attempt::Finished(Err(LeverError::Status {
            status: other.as_u16(),
            route,
        })),
    }
}

/// Decodes a 2xx body; undecodable bodies are retried (Lever occasionally truncates).
async fn decode<T: DeserializeOwned>(status: u16, response: Response) -> Attempt<T> {
    let body = match read_body(response).await {
        Ok(body) => body,
        Err(BodyError::Transport) => return Attempt::Retry(Transient::Transport),
        Err(BodyError::TooLarge) => return Attempt::Retry(Transient::Malformed { status }),
    };

    match serde_json::from_slice(&body) {
        Ok(value) => Attempt::Finished(Ok(Some(value))),
        Err(_) => Attempt::Retry(Transient::Malformed { status }),
    }
}

enum BodyError {
    Transport,
    TooLarge,
}

/// Reads a body chunk by chunk, refusing more than [`MAX_BODY_BYTES`].
async fn read_body(mut response: Response) -> Result<Vec<u8>, BodyError> {
    let mut body = Vec::new();

    while let Some(chunk) = response.chunk().await.map_err(|_| BodyError::Transport)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// True when a 400 body says the paging token is stale ("Invalid offset token: …").
fn mentions_invalid_offset(body: &[u8]) -> bool {
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| {
            value
                .get("message")
                .and_then(|m| m.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());

    message
        .to_ascii_lowercase()
        .contains("invalid offset token")
}

/// `Retry-After` as delta-seconds or an HTTP date (a date in the past means "now").
fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();

    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }

    let at = parse_http_date(text)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parses an IMF-fixdate such as `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 §5.6.7).
fn parse_http_date(text: &str) -> Option<SystemTime> {
    let (_weekday, rest) = text.split_once(", ")?;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, clock, "GMT"] = parts.as_slice() else {
        return None;
    };

    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| m == month)? as i64 + 1;
    let day: i64 = day.parse().ok()?;
    let year: i64 = year.parse().ok()?;

    let hms: Vec<i64> = clock
        .split(':')
        .map(|part| part.parse().ok())
        .collect::<Option<_>>()?;
    let [hour, minute, second] = hms.as_slice() else {
        return None;
    };
    if !(1..=31).contains(&day) || *hour > 23 || *minute > 59 || *second > 60 {
        return None;
    }

    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    let seconds = u64::try_from(seconds).ok()?;
    UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Logs a failed send by kind only: reqwest's own message contains the URL.
fn log_transport_failure(
    route: &'static str,
    attempt: u32,
    started: Instant,
    err: &reqwest::Error,
) {
    let kind = if err.is_timeout() {
        "timeout"
    } else if err.is_connect() {
        "connect"
    } else if err.is_body() {
        "body"
    } else {
        "request"
    };

    tracing::debug!(
        route,
        attempt,
        elapsed_ms = millis(started.elapsed()),
        error = kind,
        "lever request failed"
    );
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

// ---------------------------------------------------------------------------------------------
// URLs: base, path segments, query strings
// ---------------------------------------------------------------------------------------------

/// Errors of client construction: `LeverError` has no configuration variant.
pub(crate) fn setup_error(what: &'static str) -> LeverError {
    LeverError::Status {
        status: 0,
        route: what,
    }
}

/// Checks the API root and returns it without a trailing slash.
pub(crate) fn validated_base_url(text: &str) -> Result<String, LeverError> {
    let url = Url::parse(text.trim()).map_err(|_| setup_error("setup: base url"))?;

    let plain_http_allowed = url.scheme() == "http" && url.host_str().is_some_and(is_loopback);
    let scheme_ok = url.scheme() == "https" || plain_http_allowed;
    let has_extras = url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
        || url.cannot_be_a_base();

    if !scheme_ok || has_extras {
        return Err(setup_error("setup: base url"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');

    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// An id encoded as one path segment, or `None` for ids no Lever object can have (empty,
/// `.` or `..`, which URL parsing would resolve as dot segments).
fn path_segment(route: &'static str, id: &str) -> Option<String> {
    if id.is_empty() || id == "." || id == ".." {
        tracing::warn!(route, "skipping lever request for an impossible id");
        return None;
    }
    Some(percent_encode(id))
}

/// Percent-encodes everything except RFC 3986 unreserved characters.
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());

    for byte in text.bytes() {
        if is_unreserved(byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// True when `token` can be sent verbatim as a query value: RFC 3986 query characters with
/// well-formed `%XX` escapes, minus `&` (parameter separator) and `'` (which URL parsing
/// would re-encode). Space, `#`, non-ASCII and the like fail.
fn is_verbatim_query_value(token: &str) -> bool {
    let bytes = token.as_bytes();
    let mut i = 0;

    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let escape = bytes.get(i + 1..i + 3);
                if !escape.is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) {
                    return false;
                }
                i += 3;
            }
            byte if is_unreserved(byte) || b"!$()*+,;=:@/?".contains(&byte) => i += 1,
            _ => return false,
        }
    }
    !bytes.is_empty()
}

/// A query string under construction.
#[derive(Debug, Clone, Default)]
struct Query {
    text: String,
}

impl Query {
    fn new() -> Self {
        Query::default()
    }

    /// Appends `name=value`, percent-encoding the value.
    fn with(mut self, name: &'static str, value: &str) -> Self {
        self.push(name, &percent_encode(value));
        self
    }

    /// Appends `name=value` when `value` is present.
    fn with_some(self, name: &'static str, value: Option<impl ToString>) -> Self {
        match value {
            Some(value) => self.with(name, &value.to_string()),
            None => self,
        }
    }

    /// Appends a paging token exactly as Lever issued it (it is already URL-encoded).
    fn with_offset(mut self, route: &'static str, token: Option<&str>) -> Result<Self, LeverError> {
        if let Some(token) = token {
            if !is_verbatim_query_value(token) {
                return Err(LeverError::Malformed { route });
            }
            self.push("offset", token);
        }
        Ok(self)
    }

    fn push(&mut self, name: &str, encoded_value: &str) {
        if !self.text.is_empty() {
            self.text.push('&');
        }
        self.text.push_str(name);
        self.text.push('=');
        self.text.push_str(encoded_value);
    }

    fn as_str(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::extract::{OriginalUri, State};
    use axum::response::IntoResponse;
    use serde_json::{Value, json};
    use std::collections::VecDeque;
    use std::sync::Mutex;

    const KEY: &str = "k-123-secret";
    const TOKEN: &str = "%5B1700000000000%2C%22abc%22%5D";
    const FAST: Duration = Duration::from_secs(5);

    /// One scripted answer of the test server.
    #[derive(Clone)]
    struct Reply {
        status: u16,
        body: String,
        retry_after: Option<&'static str>,
        delay: Duration,
    }

    impl Reply {
        fn json(body: Value) -> Self {
            Reply {
                status: 200,
                body: body.to_string(),
                retry_after: None,
                delay: Duration::ZERO,
            }
        }

        fn status(status: u16) -> Self {
            let body = json!({ "code": "Error", "message": "scripted failure" });
            Reply {
                status,
                ..Reply::json(body)
            }
        }

        fn body(self, body: &str) -> Self {
            Reply {
                body: body.to_owned(),
                ..self
            }
        }

        fn retry_after(self, value: &'static str) -> Self {
            Reply {
                retry_after: Some(value),
                ..self
            }
        }

        fn delayed(self, delay: Duration) -> Self {
            Reply { delay, ..self }
        }
    }

    /// A request as the test server saw it: raw path and raw query string.
    #[derive(Debug, Clone)]
    struct Seen {
        path: String,
        query: String,
        authorization: Option<String>,
    }

    #[derive(Clone, Default)]
    struct Script {
        replies: Arc<Mutex<VecDeque<Reply>>>,
        seen: Arc<Mutex<Vec<Seen>>>,
    }

    impl Script {
        fn seen(&self) -> Vec<Seen> {
            self.seen.lock().expect("seen lock").clone()
        }

        fn queries(&self) -> Vec<String> {
            self.seen().into_iter().map(|seen| seen.query).collect()
        }
    }

    async fn answer(
        State(script): State<Script>,
        OriginalUri(uri): OriginalUri,
        headers: axum::http::HeaderMap,
    ) -> axum::response::Response {
        let authorization = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let seen = Seen {
            path: uri.path().to_owned(),
            query: uri.query().unwrap_or_default().to_owned(),
            authorization,
        };
        script.seen.lock().expect("seen lock").push(seen);

        let reply = script.replies.lock().expect("replies lock").pop_front();
        let Some(reply) = reply else {
            return (axum::http::StatusCode::IM_A_TEAPOT, "script exhausted").into_response();
        };

        tokio::time::sleep(reply.delay).await;
        let status = axum::http::StatusCode::from_u16(reply.status).expect("valid status");
        let mut response = (status, reply.body).into_response();
        if let Some(value) = reply.retry_after {
            response
                .headers_mut()
                .insert("retry-after", value.parse().expect("header"));
        }
        response
    }

    /// Starts a scripted server on 127.0.0.1 and returns its Data API root.
    async fn serve(replies: Vec<Reply>) -> (String, Script) {
        let script = Script {
            replies: Arc::new(Mutex::new(replies.into())),
            ..Script::default()
        };
        let app = Router::new().fallback(answer).with_state(script.clone());
        let address = crate::test_support::serve_local(app).await;

        (format!("http://{address}/v1"), script)
    }

    fn lever_with(base_url: &str, policy: RetryPolicy, timeout: Duration) -> HttpLever {
        let credential = LeverCredential::ApiKey(SecretString::from(KEY));
        let limiter = Arc::new(RateLimiter::new(1000.0, 1000));
        HttpLever::new(base_url, credential, limiter, policy, timeout).expect("client")
    }

    fn quick_policy(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(5),
        }
    }

    async fn scripted(replies: Vec<Reply>) -> (HttpLever, Script) {
        let (url, script) = serve(replies).await;
        (lever_with(&url, quick_policy(3), FAST), script)
    }

    fn page(ids: &[&str], next: Option<&str>) -> Value {
        let data: Vec<Value> = ids.iter().map(|id| json!({ "id": id })).collect();
        match next {
            Some(token) => json!({ "data": data, "hasNext": true, "next": token }),
            None => json!({ "data": data, "hasNext": false }),
        }
    }

    fn ids<T>(items: &[T], id: impl Fn(&T) -> &str) -> Vec<String> {
        items.iter().map(|item| id(item).to_owned()).collect()
    }

    // --- authentication and secrecy ---------------------------------------------------------

    #[tokio::test]
    async fn sends_basic_auth_with_the_key_and_an_empty_password() {
        let (lever, script) = scripted(vec![Reply::json(page(&["s1"], None))]).await;

        lever.stages().await.expect("stages");

        let expected = format!("Basic {}", BASE64.encode(format!("{KEY}:")));
        assert_eq!(expected, "Basic ay0xMjMtc2VjcmV0Og==");
        assert_eq!(
            script.seen()[0].authorization.as_deref(),
            Some(expected.as_str())
        );
    }

    #[tokio::test]
    async fn debug_output_hides_the_key() {
        let (lever, _script) = scripted(vec![]).await;

        let debug = format!("{lever:?}");
        assert!(!debug.contains(KEY), "{debug}");
        assert!(!debug.contains("ay0xMjMtc2VjcmV0"), "{debug}");
        assert!(debug.contains("redacted"), "{debug}");
    }

    #[tokio::test]
    async fn logs_and_errors_carry_route_templates_only() {
        let (capture, _guard) = crate::test_support::LogCapture::start();

        let opportunity_id = "opp-private-4711";
        let (lever, _script) = scripted(vec![
            Reply::status(503),
            Reply::json(page(&["f1"], Some(TOKEN))),
            Reply::status(500),
            Reply::status(500),
            Reply::status(500),
        ])
        .await;
        let err = lever
            .offers(opportunity_id)
            .await
            .expect_err("retries run out");

        let logs = capture.text();
        let message = format!("{err} {err:?}");
        for text in [&logs, &message] {
            for secret in [
                KEY,
                "ay0xMjMtc2VjcmV0",
                TOKEN,
                opportunity_id,
                "http://",
                "offset=",
            ] {
                assert!(!text.contains(secret), "{secret:?} leaked into {text}");
            }
        }
        assert!(logs.contains("/opportunities/:id/offers"), "{logs}");
        assert!(logs.contains("retrying lever request"), "{logs}");
        assert!(
            logs.contains("status=503") && logs.contains("wait_ms="),
            "{logs}"
        );
        assert!(
            logs.contains("elapsed_ms=") && logs.contains("attempt=2"),
            "{logs}"
        );
    }

    // --- paging and parameters ----------------------------------------------------------------

    #[tokio::test]
    async fn paging_sends_each_next_token_back_byte_for_byte() {
        let second = "0.1700000000000.aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
        let (lever, script) = scripted(vec![
            Reply::json(page(&["s1", "s2"], Some(TOKEN))),
            Reply::json(page(&["s3"], Some(second))),
            Reply::json(page(&["s4"], None)),
        ])
        .await;

        let stages = lever.stages().await.expect("stages");

        assert_eq!(ids(&stages, |s| &s.id), ["s1", "s2", "s3", "s4"]);
        let queries = script.queries();
        assert_eq!(queries[0], "limit=100");
        assert_eq!(queries[1], format!("limit=100&offset={TOKEN}"));
        assert_eq!(queries[2], format!("limit=100&offset={second}"));
        assert!(script.seen().iter().all(|seen| seen.path == "/v1/stages"));
        assert_eq!(lever.calls(), 3);
    }

    #[tokio::test]
    async fn paging_stops_when_next_is_missing() {
        let (lever, _script) = scripted(vec![
            Reply::json(json!({ "data": [{ "id": "s1" }], "hasNext": true })),
            Reply::json(page(&["never"], None)),
        ])
        .await;

        let stages = lever.stages().await.expect("stages");

        assert_eq!(ids(&stages, |s| &s.id), ["s1"]);
        assert_eq!(lever.calls(), 1);
    }

    #[tokio::test]
    async fn a_page_pointing_at_itself_is_malformed() {
        let (lever, _script) = scripted(vec![
            Reply::json(page(&["s1"], Some(TOKEN))),
            Reply::json(page(&["s2"], Some(TOKEN))),
        ])
        .await;

        let err = lever.stages().await.expect_err("loop");
        assert!(
            matches!(err, LeverError::Malformed { route: "/stages" }),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn opportunities_page_sends_filters_confidentiality_and_expand() {
        let body = json!({
            "data": [{ "id": "o1", "applications": [{ "id": "a1", "posting": "p1" }] }],
            "hasNext": true, "next": "n2"
        });
        let (lever, script) = scripted(vec![Reply::json(body), Reply::json(page(&[], None))]).await;
        let filter = OpportunityFilter {
            updated_at_start: Some(1700000000000),
            updated_at_end: Some(1700000000999),
            created_at_start: Some(3),
            created_at_end: Some(4),
            archived: Some(false),
        };

        let first = lever
            .opportunities_page(&filter, Some(TOKEN))
            .await
            .expect("page");
        let last = lever
            .opportunities_page(&OpportunityFilter::default(), None)
            .await;

        assert!(first.has_next);
        assert_eq!(first.next.as_deref(), Some("n2"));
        assert_eq!(
            first.data[0].application.as_ref().map(|a| a.id.as_str()),
            Some("a1")
        );
        assert!(!last.expect("page").has_next);

        let seen = script.seen();
        assert_eq!(seen[0].path, "/v1/opportunities");
        assert_eq!(
            seen[0].query,
            format!(
                "confidentiality=all&expand=applications&limit=100\
                 &updated_at_start=1700000000000&updated_at_end=1700000000999\
                 &created_at_start=3&created_at_end=4&archived=false&offset={TOKEN}"
            )
        );
        assert_eq!(
            seen[1].query,
            "confidentiality=all&expand=applications&limit=100"
        );
    }

    #[tokio::test]
    async fn dimension_lists_use_their_routes_and_parameters() {
        let (lever, script) = scripted(vec![
            Reply::json(page(&["r1"], None)),
            Reply::json(page(&["p1"], None)),
            Reply::json(page(&["q1"], None)),
            Reply::json(page(&["f1"], None)),
            Reply::json(json!({ "data": [{ "id": "d1", "deletedAt": 5 }], "hasNext": false })),
        ])
        .await;

        assert_eq!(
            ids(&lever.archive_reasons().await.expect("reasons"), |r| &r.id),
            ["r1"]
        );
        assert_eq!(
            ids(&lever.postings().await.expect("postings"), |p| &p.id),
            ["p1"]
        );
        assert_eq!(
            ids(&lever.requisitions().await.expect("reqs"), |q| &q.id),
            ["q1"]
        );
        assert_eq!(
            ids(&lever.requisition_fields().await.expect("fields"), |f| &f
                .id),
            ["f1"]
        );
        let deleted = lever
            .deleted_page(1700000000000, Some(TOKEN))
            .await
            .expect("deleted");
        assert_eq!(deleted.data[0].deleted_at, Some(5));

        let requests: Vec<(String, String)> = script
            .seen()
            .into_iter()
            .map(|seen| (seen.path, seen.query))
            .collect();
        let expected = [
            ("/v1/archive_reasons", "limit=100".to_owned()),
            ("/v1/postings", "confidentiality=all&limit=100".to_owned()),
            (
                "/v1/requisitions",
                "confidentiality=all&limit=100".to_owned(),
            ),
            ("/v1/requisition_fields", "limit=100".to_owned()),
            (
                "/v1/opportunities/deleted",
                format!("deleted_at_start=1700000000000&limit=100&offset={TOKEN}"),
            ),
        ];
        let expected: Vec<(String, String)> = expected
            .into_iter()
            .map(|(path, query)| (path.to_owned(), query))
            .collect();
        assert_eq!(requests, expected);
    }

    #[tokio::test]
    async fn opportunity_ids_are_encoded_as_one_path_segment() {
        let body = json!({ "data": { "id": "o1", "applications": [{ "id": "a1" }] } });
        let (lever, script) = scripted(vec![Reply::json(body), Reply::status(404)]).await;

        let found = lever.opportunity("a b/ü?#").await.expect("opportunity");
        let missing = lever
            .opportunity("lead-new")
            .await
            .expect("404 is not an error");

        assert_eq!(
            found.and_then(|o| o.application).map(|a| a.id).as_deref(),
            Some("a1")
        );
        assert!(missing.is_none());
        let seen = script.seen();
        assert_eq!(seen[0].path, "/v1/opportunities/a%20b%2F%C3%BC%3F%23");
        assert_eq!(seen[0].query, "expand=applications");
        assert_eq!(seen[1].path, "/v1/opportunities/lead-new");
    }

    #[tokio::test]
    async fn impossible_ids_are_not_requested() {
        let (lever, _script) = scripted(vec![]).await;

        for id in ["", ".", ".."] {
            assert!(lever.opportunity(id).await.expect("no request").is_none());
            assert!(lever.offers(id).await.expect("no request").is_none());
        }
        assert_eq!(lever.calls(), 0);
    }

    #[tokio::test]
    async fn offers_are_paged_and_404_means_none() {
        let offer = json!({ "id": "f1", "status": "signed", "fields": [] });
        let (lever, script) = scripted(vec![
            Reply::json(json!({ "data": [offer], "hasNext": true, "next": TOKEN })),
            Reply::json(page(&["f2"], None)),
            Reply::status(404),
        ])
        .await;

        let offers = lever.offers("o-1").await.expect("offers").expect("found");
        let gone = lever.offers("o-2").await.expect("404 is not an error");

        assert_eq!(ids(&offers, |o| &o.id), ["f1", "f2"]);
        assert!(gone.is_none());
        let seen = script.seen();
        assert_eq!(seen[0].path, "/v1/opportunities/o-1/offers");
        assert_eq!(seen[1].query, format!("limit=100&offset={TOKEN}"));
        assert_eq!(lever.calls(), 3);
    }

    #[tokio::test]
    async fn tokens_that_are_not_valid_query_values_are_refused_unsent() {
        let (lever, _script) = scripted(vec![]).await;
        let filter = OpportunityFilter::default();

        for token in ["", "a b", "a&limit=1", "a#b", "50%", "%zz", "é", "a'b"] {
            let err = lever
                .opportunities_page(&filter, Some(token))
                .await
                .expect_err(token);
            assert!(
                matches!(
                    err,
                    LeverError::Malformed {
                        route: "/opportunities"
                    }
                ),
                "{err:?}"
            );
        }
        assert_eq!(lever.calls(), 0);
    }

    // --- status handling and retries ------------------------------------------------------

    #[tokio::test]
    async fn rate_limit_is_retried_after_the_retry_after_header() {
        let (url, _script) = serve(vec![
            Reply::status(429).retry_after("1"),
            Reply::json(page(&["s1"], None)),
        ])
        .await;
        let policy = RetryPolicy {
            cap: Duration::from_secs(2),
            ..quick_policy(3)
        };
        let lever = lever_with(&url, policy, FAST);

        let started = std::time::Instant::now();
        let stages = lever.stages().await.expect("retried");

        assert_eq!(stages.len(), 1);
        assert_eq!(lever.calls(), 2);
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn server_error_bursts_are_retried() {
        let (url, _script) = serve(vec![
            Reply::status(500),
            Reply::status(502),
            Reply::status(503),
            Reply::status(504),
            Reply::json(page(&["s1"], None)),
        ])
        .await;
        let lever = lever_with(&url, quick_policy(5), FAST);

        assert_eq!(lever.stages().await.expect("retried").len(), 1);
        assert_eq!(lever.calls(), 5);
    }

    #[tokio::test]
    async fn retries_run_out_as_unavailable_with_the_last_status() {
        let replies = vec![Reply::status(503), Reply::status(500), Reply::status(503)];
        let (lever, _script) = scripted(replies).await;

        let err = lever.stages().await.expect_err("unavailable");

        assert!(
            matches!(
                err,
                LeverError::Unavailable {
                    attempts: 3,
                    last_status: Some(503)
                }
            ),
            "{err:?}"
        );
        assert!(err.is_transient());
        assert_eq!(lever.calls(), 3);
    }

    #[tokio::test]
    async fn credential_errors_are_not_retried() {
        for status in [401, 403] {
            let (lever, _script) = scripted(vec![Reply::status(status)]).await;

            let err = lever.postings().await.expect_err("unauthorized");

            assert!(matches!(err, LeverError::Unauthorized { status: s } if s == status));
            assert_eq!(lever.calls(), 1);
        }
    }

    #[tokio::test]
    async fn bad_requests_are_not_retried_and_flag_stale_offsets() {
        let stale = concat!(
            r#"{"code":"BadRequestError","#,
            r#""message":"Invalid offset token: Offset token is invalid for sort"}"#
        );
        let (lever, _script) = scripted(vec![
            Reply::status(400).body(stale),
            Reply::status(400),
            Reply::status(400).body("INVALID OFFSET TOKEN (not json)"),
        ])
        .await;
        let filter = OpportunityFilter::default();

        let first = lever
            .opportunities_page(&filter, Some(TOKEN))
            .await
            .expect_err("400");
        let second = lever
            .opportunities_page(&filter, None)
            .await
            .expect_err("400");
        let third = lever
            .opportunities_page(&filter, Some(TOKEN))
            .await
            .expect_err("400");

        assert!(
            matches!(
                first,
                LeverError::BadRequest {
                    invalid_offset: true
                }
            ),
            "{first:?}"
        );
        assert!(matches!(
            second,
            LeverError::BadRequest {
                invalid_offset: false
            }
        ));
        assert!(matches!(
            third,
            LeverError::BadRequest {
                invalid_offset: true
            }
        ));
        assert_eq!(lever.calls(), 3);
    }

    #[tokio::test]
    async fn unexpected_statuses_name_the_route_only() {
        let (lever, _script) = scripted(vec![Reply::status(418), Reply::status(404)]).await;

        let teapot = lever.opportunity("o-secret").await.expect_err("418");
        let missing_list = lever.stages().await.expect_err("404 on a list");

        assert!(matches!(
            teapot,
            LeverError::Status {
                status: 418,
                route: "/opportunities/:id"
            }
        ));
        assert!(!teapot.to_string().contains("o-secret"));
        assert!(matches!(
            missing_list,
            LeverError::Status {
                status: 404,
                route: "/stages"
            }
        ));
        assert_eq!(lever.calls(), 2);
    }

    #[tokio::test]
    async fn malformed_bodies_are_retried_then_reported() {
        let garbage = Reply::json(json!(null)).body("{\"data\": [ oops");
        let (lever, _script) = scripted(vec![
            garbage.clone(),
            Reply::json(page(&["s1"], None)),
            garbage.clone(),
            garbage.clone(),
            garbage,
        ])
        .await;

        assert_eq!(lever.stages().await.expect("second try decodes").len(), 1);
        let err = lever.stages().await.expect_err("malformed");

        assert!(
            matches!(err, LeverError::Malformed { route: "/stages" }),
            "{err:?}"
        );
        assert_eq!(lever.calls(), 5);
    }

    #[tokio::test]
    async fn timeouts_are_retried() {
        let (url, _script) = serve(vec![
            Reply::json(page(&["slow"], None)).delayed(Duration::from_secs(3)),
            Reply::json(page(&["s1"], None)),
        ])
        .await;
        let lever = lever_with(&url, quick_policy(3), Duration::from_millis(200));

        let stages = lever.stages().await.expect("retried after timeout");

        assert_eq!(ids(&stages, |s| &s.id), ["s1"]);
        assert_eq!(lever.calls(), 2);
    }

    #[tokio::test]
    async fn refused_connections_are_retried_then_unavailable() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        drop(listener);
        let lever = lever_with(&format!("http://{address}/v1"), quick_policy(3), FAST);

        let err = lever.stages().await.expect_err("nothing listens");

        assert!(
            matches!(
                err,
                LeverError::Unavailable {
                    attempts: 3,
                    last_status: None
                }
            ),
            "{err:?}"
        );
        assert_eq!(lever.calls(), 3);
    }

    #[tokio::test]
    async fn every_attempt_waits_for_the_limiter() {
        let (url, _script) =
            serve(vec![Reply::status(503), Reply::json(page(&["s1"], None))]).await;
        let credential = LeverCredential::ApiKey(SecretString::from(KEY));
        let limiter = Arc::new(RateLimiter::new(5.0, 1));
        let lever = HttpLever::new(
            &url,
            credential,
            Arc::clone(&limiter),
            quick_policy(3),
            FAST,
        )
        .expect("client");

        limiter.acquire().await;
        let started = Instant::now();
        lever.stages().await.expect("retried");

        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(390), "{elapsed:?}");
        assert_eq!(lever.calls(), 2);
    }

    // --- construction -------------------------------------------------------------------------

    #[test]
    fn base_urls_must_be_https_or_loopback_http() {
        let ok = [
            ("https://api.lever.co/v1", "https://api.lever.co/v1"),
            ("https://api.eu.lever.co/v1/", "https://api.eu.lever.co/v1"),
            ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"),
            ("http://localhost:1/v1", "http://localhost:1/v1"),
            ("http://[::1]:1/v1", "http://[::1]:1/v1"),
        ];
        for (given, expected) in ok {
            assert_eq!(
                validated_base_url(given).ok().as_deref(),
                Some(expected),
                "{given}"
            );
        }

        let bad = [
            "http://api.lever.co/v1",
            "https://api.lever.co/v1?x=1",
            "https://api.lever.co/v1#frag",
            "https://user:pw@api.lever.co/v1",
            "ftp://127.0.0.1/v1",
            "not a url",
        ];
        for given in bad {
            assert!(validated_base_url(given).is_err(), "{given}");
        }
    }

    #[test]
    fn https_clients_build_without_network() {
        let credential = LeverCredential::ApiKey(SecretString::from(KEY));
        let limiter = Arc::new(RateLimiter::new(8.0, 15));
        let lever = HttpLever::new(
            "https://api.lever.co/v1",
            credential,
            limiter,
            RetryPolicy::default(),
            FAST,
        );
        assert!(lever.is_ok());
    }

    // --- helpers ----------------------------------------------------------------------------

    #[test]
    fn default_policy_matches_the_design() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.max_attempts, 8);
        assert_eq!(policy.base, Duration::from_millis(250));
        assert_eq!(policy.cap, Duration::from_secs(30));
        assert_eq!(RetryPolicy::with_max_attempts(3).max_attempts, 3);
        assert_eq!(
            RetryPolicy {
                max_attempts: 0,
                ..policy
            }
            .attempts(),
            1
        );
    }

    #[test]
    fn backoff_is_full_jitter_under_an_exponential_capped_ceiling() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.ceiling(0), Duration::from_millis(250));
        assert_eq!(policy.ceiling(3), Duration::from_secs(2));
        assert_eq!(policy.ceiling(7), Duration::from_secs(30));
        assert_eq!(policy.ceiling(u32::MAX), Duration::from_secs(30));

        for retry in 0..10 {
            let wait = policy.wait(retry, None);
            assert!(wait <= policy.ceiling(retry), "{wait:?}");
        }
        let waits: Vec<Duration> = (0..20).map(|_| policy.wait(5, None)).collect();
        assert!(waits.iter().any(|w| *w != waits[0]), "jitter varies");
    }

    #[test]
    fn retry_after_is_a_lower_bound_capped_by_the_policy() {
        let policy = RetryPolicy::default();
        let asked = Duration::from_secs(7);
        assert!(policy.wait(0, Some(asked)) >= asked);
        assert_eq!(policy.wait(0, Some(Duration::from_secs(3600))), policy.cap);
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = UNIX_EPOCH + Duration::from_secs(784111777);
        let header = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(RETRY_AFTER, HeaderValue::from_str(value).expect("header"));
            retry_after(&headers, now)
        };

        assert_eq!(header("3"), Some(Duration::from_secs(3)));
        assert_eq!(header(" 0 "), Some(Duration::ZERO));
        assert_eq!(
            header("Sun, 06 Nov 1994 08:50:07 GMT"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            header("Sun, 06 Nov 1994 08:00:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(header("soon"), None);
        assert_eq!(header("-1"), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn http_dates_parse_to_epoch_seconds() {
        let at = |text| parse_http_date(text).and_then(|t| t.duration_since(UNIX_EPOCH).ok());
        assert_eq!(
            at("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::from_secs(784111777))
        );
        assert_eq!(at("Thu, 01 Jan 1970 00:00:00 GMT"), Some(Duration::ZERO));
        assert_eq!(
            at("Tue, 29 Feb 2028 23:59:59 GMT"),
            Some(Duration::from_secs(1835481599))
        );
        assert_eq!(at("Sun, 06 Nov 1994 08:49:37 PST"), None);
        assert_eq!(at("Sun, 06 Foo 1994 08:49:37 GMT"), None);
        assert_eq!(at("Sunday, 06-Nov-94 08:49:37 GMT"), None);
    }

    #[test]
    fn invalid_offset_is_found_in_the_message_or_the_raw_body() {
        assert!(mentions_invalid_offset(
            br#"{"message":"invalid Offset Token: stale"}"#
        ));
        assert!(mentions_invalid_offset(b"Invalid offset token"));
        assert!(!mentions_invalid_offset(
            br#"{"message":"limit must be <= 100"}"#
        ));
        assert!(!mentions_invalid_offset(b""));
    }

    #[test]
    fn values_and_segments_are_percent_encoded() {
        assert_eq!(percent_encode("lead-new"), "lead-new");
        assert_eq!(
            percent_encode("a b/c?d#e&f=g%"),
            "a%20b%2Fc%3Fd%23e%26f%3Dg%25"
        );
        assert_eq!(percent_encode("ü"), "%C3%BC");
        assert_eq!(percent_encode("-1"), "-1");
    }

    #[test]
    fn verbatim_tokens_accept_lever_shapes_only() {
        for token in [
            TOKEN,
            "0.1700000000000.aaaaaaaa-bbbb-4ccc",
            "abc+def=",
            "a:b@c/d?e",
            "%2a",
        ] {
            assert!(is_verbatim_query_value(token), "{token}");
        }
        for token in [
            "", "a b", "a&b", "a#b", "%", "%2", "%2g", "a\"b", "a<b", "ü", "a'b", "a\nb",
        ] {
            assert!(!is_verbatim_query_value(token), "{token}");
        }
    }

    #[test]
    fn next_offset_stops_on_has_next_false_or_missing_token() {
        let route = "/stages";
        let next = |has_next, next: Option<&str>, current| {
            next_offset(route, has_next, next.map(str::to_owned), current)
        };

        assert_eq!(
            next(true, Some("t2"), Some("t1")).ok().flatten().as_deref(),
            Some("t2")
        );
        assert_eq!(next(false, Some("t2"), None).ok().flatten(), None);
        assert_eq!(next(true, None, None).ok().flatten(), None);
        assert_eq!(next(true, Some(""), None).ok().flatten(), None);
        assert!(next(true, Some("t1"), Some("t1")).is_err());
    }
}
