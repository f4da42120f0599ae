//! The webhook flow: method → tenant → size and parse → signature token for (tenant, event)
//! → verify → freshness → de-duplication → dispatch → status.
//!
//! Signature tokens come from the tenant's secret through [`SecretSource`], which caches it
//! for the container's life. When the event has no token or no cached token verifies, the
//! secret is read again (a rotation), but at most once per `WEBHOOK_SECRET_REREAD_MS` per
//! tenant, so forged requests cannot hammer Secrets Manager. Unknown tenants are remembered
//! for the same time.
//!
//! De-duplication claims the SHA-256 of the delivery token before the work and marks it done
//! after, so a copy of a processed delivery is answered `duplicate` without work. A failed
//! attempt writes a pending marker for the opportunity first, then releases its claim, so
//! Lever's retry is processed rather than taken for a duplicate; a crashed attempt's claim
//! lapses after [`CLAIM_LEASE_MS`].

use super::delivery::{self, Delivery, EventKind};
use super::response::{Accepted, Rejection, WebhookResponse, respond};
use super::signature::{self, SignatureError};
use crate::config::WebhookConfig;
use crate::error::{SecretError, SyncError};
use crate::record::Source;
use crate::secrets::TenantSecret;
use crate::store::{ClaimOutcome, DeliveryClaim};
use crate::sync::{Syncer, is_transient};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tracing::{info, warn};

/// How long an unfinished claim keeps other attempts of the same delivery away (ms).
pub const CLAIM_LEASE_MS: i64 = 60_000;

/// Extra life of a de-duplication item beyond the freshness window (ms).
const CLAIM_TTL_MARGIN_MS: i64 = 3_600_000;

/// Most remembered unknown tenants (the map is cleared when full).
const MAX_UNKNOWN_TENANTS: usize = 1_024;

/// One HTTP request, as the transport hands it over.
#[derive(Debug, Clone, Copy)]
pub struct WebhookRequest<'a> {
    pub method: &'a str,
    /// The URL path: `/<tenant>`, or `/lambda-url/<function>/<tenant>` under `cargo lambda watch`.
    pub path: &'a str,
    pub body: &'a [u8],
}

/// Receives Lever webhooks for every tenant of the deployment.
pub struct WebhookService {
    syncer: Arc<Syncer>,
    config: WebhookConfig,
    /// When each tenant's secret was last re-read (epoch ms).
    rereads: Mutex<HashMap<String, i64>>,
    /// Tenants without a secret, and when that was found (epoch ms).
    unknown_tenants: Mutex<HashMap<String, i64>>,
    /// Deliveries of events this product does not use, since the container started.
    ignored: AtomicU64,
}

/// What the log line of a delivery says besides its outcome.
#[derive(Debug, Default)]
struct Trace {
    tenant: Option<String>,
    event: Option<&'static str>,
    opportunity_id: Option<String>,
    detail: Option<&'static str>,
}

impl WebhookService {
    pub fn new(syncer: Arc<Syncer>, config: WebhookConfig) -> Self {
        WebhookService {
            syncer,
            config,
            rereads: Mutex::new(HashMap::new()),
            unknown_tenants: Mutex::new(HashMap::new()),
            ignored: AtomicU64::new(0),
        }
    }

    /// Handles one request and logs one line about it (ids and outcome only).
    pub async fn handle(&self, request: WebhookRequest<'_>) -> WebhookResponse {
        let started = Instant::now();
        let mut trace = Trace::default();

        let result = self.process(request, &mut trace).await;

        let response = respond(&result);
        self.log(&trace, &result, response.status, started);
        response
    }

    async fn process(
        &self,
        request: WebhookRequest<'_>,
        trace: &mut Trace,
    ) -> Result<Accepted, Rejection> {
        if !request.method.eq_ignore_ascii_case("POST") {
            return Err(Rejection::MethodNotAllowed);
        }
        let tenant = tenant_from_path(request.path).ok_or(Rejection::UnknownTenant)?;
        trace.tenant = Some(tenant.to_owned());

        let delivery = delivery::parse(request.body, self.config.max_body_bytes)?;
        trace.event = Some(event_label(&delivery.event));

        self.authenticate(tenant, &delivery).await?;
        check_freshness(
            delivery.triggered_at,
            self.syncer.clock.now_ms(),
            &self.config,
        )?;

        let kind = EventKind::of(&delivery.event);
        if kind == EventKind::Other {
            self.ignored.fetch_add(1, Ordering::Relaxed);
            return Ok(Accepted::Ignored);
        }
        let opportunity_id = delivery
            .opportunity_id
            .as_deref()
            .ok_or_else(|| Rejection::Malformed("missing field data.opportunityId".into()))?;
        trace.opportunity_id = Some(opportunity_id.to_owned());

        self.exactly_once(tenant, &delivery, kind, opportunity_id, trace)
            .await
    }

    /// Verifies the signature with the tenant's token(s) for the event, re-reading the secret
    /// once (rate-limited) when none verifies.
    async fn authenticate(&self, tenant: &str, delivery: &Delivery) -> Result<(), Rejection> {
        let secret = self.secret(tenant).await?;
        let signature = delivery
            .signature
            .as_deref()
            .ok_or(Rejection::MissingSignature)?;

        match verify(&secret, delivery, signature) {
            Ok(()) => return Ok(()),
            Err(SignatureError::NotHex) => return Err(Rejection::BadSignature),
            Err(SignatureError::NoKey | SignatureError::Mismatch) => {}
        }
        if !self.may_reread(tenant) {
            return Err(Rejection::BadSignature);
        }

        info!(event = "webhook_secret_reread", tenant);
        let secret = self
            .syncer
            .secrets
            .reload_tenant_secret(tenant)
            .await
            .map_err(|err| self.secret_rejection(tenant, err))?;
        verify(&secret, delivery, signature).map_err(|_| Rejection::BadSignature)
    }

    /// The tenant's (cached) secret; unknown tenants are remembered for the re-read gap.
    async fn secret(&self, tenant: &str) -> Result<TenantSecret, Rejection> {
        let now = self.syncer.clock.now_ms();
        let known_unknown = lock(&self.unknown_tenants)
            .get(tenant)
            .is_some_and(|&at| now - at < self.reread_gap_ms());
        if known_unknown {
            return Err(Rejection::UnknownTenant);
        }

        self.syncer
            .secrets
            .tenant_secret(tenant)
            .await
            .map_err(|err| self.secret_rejection(tenant, err))
    }

    fn secret_rejection(&self, tenant: &str, err: SecretError) -> Rejection {
        match err {
            SecretError::NotFound { .. } => {
                let mut unknown = lock(&self.unknown_tenants);
                if unknown.len() >= MAX_UNKNOWN_TENANTS {
                    unknown.clear();
                }
                unknown.insert(tenant.to_owned(), self.syncer.clock.now_ms());
                Rejection::UnknownTenant
            }
            SecretError::Backend(_) => {
                warn!(event = "webhook_secret_unavailable", tenant, error = %err);
                Rejection::Unavailable
            }
            other => {
                warn!(event = "webhook_secret_invalid", tenant, error = %other);
                Rejection::Internal
            }
        }
    }

    /// True (and recorded) when the tenant's secret was not re-read within the gap.
    fn may_reread(&self, tenant: &str) -> bool {
        let now = self.syncer.clock.now_ms();
        let mut rereads = lock(&self.rereads);
        if rereads
            .get(tenant)
            .is_some_and(|&at| now - at < self.reread_gap_ms())
        {
            return false;
        }
        rereads.insert(tenant.to_owned(), now);
        true
    }

    fn reread_gap_ms(&self) -> i64 {
        i64::try_from(self.config.secret_reread.as_millis()).unwrap_or(i64::MAX)
    }

    /// Claims the delivery, dispatches it, and completes or releases the claim.
    async fn exactly_once(
        &self,
        tenant: &str,
        delivery: &Delivery,
        kind: EventKind,
        opportunity_id: &str,
        trace: &mut Trace,
    ) -> Result<Accepted, Rejection> {
        let claim = self.claim_for(&delivery.token, &delivery.triggered_at_text);
        let store = &self.syncer.store;

        match store.claim_delivery(tenant, &claim).await {
            Ok(ClaimOutcome::Claimed) => {}
            Ok(ClaimOutcome::AlreadyDone) => return Ok(Accepted::Duplicate),
            Ok(ClaimOutcome::InProgress) => return Err(Rejection::InProgress),
            Err(err) => {
                warn!(event = "webhook_claim_failed", tenant, error = %err);
                self.mark_pending(tenant, opportunity_id, "store_unavailable")
                    .await;
                return Err(Rejection::Unavailable);
            }
        }

        match self.dispatch(tenant, kind, opportunity_id).await {
            Ok(detail) => {
                trace.detail = Some(detail);
                if let Err(err) = store
                    .complete_delivery(tenant, &claim.token_hash, claim.expires_at)
                    .await
                {
                    // The work is done; a copy arriving after the lease would redo it, harmlessly.
                    warn!(event = "webhook_complete_failed", tenant, error = %err);
                }
                Ok(Accepted::Processed)
            }
            Err(err) => Err(self.fail(tenant, opportunity_id, &claim, &err).await),
        }
    }

    /// Refreshes (or, for `candidateDeleted`, removes) the opportunity; returns what happened.
    async fn dispatch(
        &self,
        tenant: &str,
        kind: EventKind,
        opportunity_id: &str,
    ) -> Result<&'static str, SyncError> {
        if kind == EventKind::Deleted {
            self.syncer
                .store
                .remove_opportunity(tenant, opportunity_id)
                .await?;
            return Ok("removed");
        }

        let refreshed = self
            .syncer
            .refresh_opportunity(tenant, opportunity_id, Source::Webhook)
            .await?;
        Ok(refreshed.outcome.as_str())
    }

    /// After a failed dispatch: pending marker first, then the claim is released.
    async fn fail(
        &self,
        tenant: &str,
        opportunity_id: &str,
        claim: &DeliveryClaim,
        err: &SyncError,
    ) -> Rejection {
        let transient = is_transient(err);
        warn!(event = "webhook_dispatch_failed", tenant, opportunity_id, transient, error = %err);

        self.mark_pending(tenant, opportunity_id, failure_reason(err))
            .await;
        if let Err(release) = self
            .syncer
            .store
            .release_delivery(tenant, &claim.token_hash)
            .await
        {
            // The claim lapses after its lease; until then Lever's retries get 503.
            warn!(event = "webhook_release_failed", tenant, error = %release);
        }

        if transient {
            Rejection::Unavailable
        } else {
            Rejection::Internal
        }
    }

    /// Writes the pending marker; a failure is logged (the answer is a 5xx anyway).
    async fn mark_pending(&self, tenant: &str, opportunity_id: &str, reason: &str) {
        let now = self.syncer.clock.now_ms();
        let written = self
            .syncer
            .store
            .put_pending(tenant, opportunity_id, reason, now)
            .await;

        match written {
            Ok(()) => info!(
                event = "webhook_pending_marked",
                tenant, opportunity_id, reason
            ),
            Err(err) => {
                warn!(event = "webhook_pending_failed", tenant, opportunity_id, error = %err)
            }
        }
    }

    fn claim_for(&self, token: &str, triggered_at: &str) -> DeliveryClaim {
        let now = self.syncer.clock.now_ms();
        let keep_ms = self.config.max_age_ms + self.config.max_future_ms + CLAIM_TTL_MARGIN_MS;
        DeliveryClaim {
            token_hash: delivery_key(token, triggered_at),
            now_ms: now,
            lease_until_ms: now + CLAIM_LEASE_MS,
            expires_at: (now + keep_ms) / 1000,
        }
    }

    fn log(
        &self,
        trace: &Trace,
        result: &Result<Accepted, Rejection>,
        status: u16,
        started: Instant,
    ) {
        let outcome = match result {
            Ok(accepted) => accepted.outcome(),
            Err(rejection) => rejection.outcome(),
        };
        let tenant = trace.tenant.as_deref().unwrap_or("-");
        let lever_event = trace.event.unwrap_or("-");
        let opportunity_id = trace.opportunity_id.as_deref().unwrap_or("-");
        let detail = trace.detail.unwrap_or("-");
        let duration_ms = started.elapsed().as_millis() as u64;
        let ignored_total = self.ignored.load(Ordering::Relaxed);

        if status >= 500 {
            warn!(
                event = "webhook_delivery",
                tenant,
                lever_event,
                opportunity_id,
                outcome,
                detail,
                status,
                ignored_total,
                duration_ms
            );
        } else {
            info!(
                event = "webhook_delivery",
                tenant,
                lever_event,
                opportunity_id,
                outcome,
                detail,
                status,
                ignored_total,
                duration_ms
            );
        }
    }
}

/// The tenant named by the path: `/<tenant>`, or `/lambda-url/<function>/<tenant>` as
/// `cargo lambda watch` passes Function URL requests on. Tenant names are 1–64 letters,
/// digits, `-` or `_` (as the backfill requires).
pub fn tenant_from_path(path: &str) -> Option<&str> {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();

    let tenant = match segments.as_slice() {
        [tenant] => *tenant,
        ["lambda-url", _function, tenant] => *tenant,
        _ => return None,
    };
    let valid = tenant.len() <= 64
        && tenant
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    valid.then_some(tenant)
}

/// Refuses a `triggeredAt` older than the window or further ahead than the allowed skew.
pub fn check_freshness(
    triggered_at: i64,
    now_ms: i64,
    config: &WebhookConfig,
) -> Result<(), Rejection> {
    if triggered_at > now_ms.saturating_add(config.max_future_ms) {
        return Err(Rejection::FromTheFuture);
    }
    if triggered_at < now_ms.saturating_sub(config.max_age_ms) {
        return Err(Rejection::Stale);
    }
    Ok(())
}

/// The de-duplication key of a delivery: SHA-256 hex of its `token` and `triggeredAt` (the
/// signed pair, separated so digits cannot move between them). The token itself is not stored.
pub fn delivery_key(token: &str, triggered_at: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(token.as_bytes());
    hash.update(b"\n");
    hash.update(triggered_at.as_bytes());
    hex::encode(hash.finalize())
}

/// Verifies a delivery with the tenant's tokens for its event.
fn verify(
    secret: &TenantSecret,
    delivery: &Delivery,
    signature: &str,
) -> Result<(), SignatureError> {
    let keys = secret
        .webhook_tokens
        .get(&delivery.event)
        .map(Vec::as_slice)
        .unwrap_or_default();
    signature::verify(
        keys,
        &delivery.token,
        &delivery.triggered_at_text,
        signature,
    )
    .map(|_| ())
}

/// The event name for logs: Lever's names pass, anything else is `other` (the field is
/// attacker-controlled text).
fn event_label(event: &str) -> &'static str {
    const KNOWN: [&str; 10] = [
        "applicationCreated",
        "candidateHired",
        "candidateStageChange",
        "candidateArchiveChange",
        "candidateDeleted",
        "interviewCreated",
        "interviewUpdated",
        "interviewDeleted",
        "contactCreated",
        "contactUpdated",
    ];
    KNOWN.into_iter().find(|k| *k == event).unwrap_or("other")
}

/// The category stored on a pending marker.
fn failure_reason(err: &SyncError) -> &'static str {
    match err {
        SyncError::Lever(_) => "lever_unavailable",
        SyncError::Store(_) => "store_unavailable",
        SyncError::Secret(_) => "secret_unavailable",
        SyncError::InvalidRequest(_) | SyncError::Config(_) => "configuration",
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
