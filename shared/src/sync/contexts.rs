//! A per-container cache of tenant contexts, so single-opportunity refreshes (webhook
//! deliveries) do not reload the five dimension lists every time.
//!
//! A context is reused for `ttl` (15 minutes by default). Within that time it is reloaded
//! early when a refresh meets a stage, archive reason, posting or requisition it does not
//! know, but at most once per `reload_gap`, so a dangling reference in Lever's data cannot
//! turn every delivery into a full dimension load.

use super::{Syncer, TenantContext};
use crate::error::SyncError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::info;

/// Default time a cached context is used before it is loaded again.
pub const DEFAULT_CONTEXT_TTL: Duration = Duration::from_secs(15 * 60);

/// Default shortest time between two early reloads of one tenant's context.
pub const DEFAULT_RELOAD_GAP: Duration = Duration::from_secs(60);

/// Tenant contexts by tenant, with the time (epoch ms) each was loaded.
pub struct ContextCache {
    ttl_ms: i64,
    reload_gap_ms: i64,
    entries: Mutex<HashMap<String, Cached>>,
}

struct Cached {
    ctx: Arc<TenantContext>,
    loaded_at: i64,
}

impl Default for ContextCache {
    fn default() -> Self {
        ContextCache::new(DEFAULT_CONTEXT_TTL, DEFAULT_RELOAD_GAP)
    }
}

impl ContextCache {
    /// A cache whose entries live `ttl` and are reloaded early at most once per `reload_gap`.
    pub fn new(ttl: Duration, reload_gap: Duration) -> Self {
        ContextCache {
            ttl_ms: millis(ttl),
            reload_gap_ms: millis(reload_gap),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The tenant's context: the cached one while it is younger than the TTL, else a fresh load.
    pub async fn get(
        &self,
        syncer: &Syncer,
        tenant: &str,
    ) -> Result<Arc<TenantContext>, SyncError> {
        self.younger_than(syncer, tenant, self.ttl_ms, "expired")
            .await
    }

    /// Reloads the tenant's context because a reference was missing from it, unless it was
    /// loaded less than the reload gap ago (then the cached one is returned as it is).
    pub async fn reload(
        &self,
        syncer: &Syncer,
        tenant: &str,
    ) -> Result<Arc<TenantContext>, SyncError> {
        self.younger_than(syncer, tenant, self.reload_gap_ms, "unknown_reference")
            .await
    }

    /// The cached context when it was loaded less than `max_age_ms` ago, else a fresh load.
    async fn younger_than(
        &self,
        syncer: &Syncer,
        tenant: &str,
        max_age_ms: i64,
        reason: &'static str,
    ) -> Result<Arc<TenantContext>, SyncError> {
        let now = syncer.clock.now_ms();
        if let Some((ctx, loaded_at)) = self.cached(tenant)
            && now - loaded_at < max_age_ms
        {
            return Ok(ctx);
        }
        self.load(syncer, tenant, now, reason).await
    }

    /// Drops a tenant's context (the next `get` loads it).
    pub fn forget(&self, tenant: &str) {
        self.lock().remove(tenant);
    }

    fn cached(&self, tenant: &str) -> Option<(Arc<TenantContext>, i64)> {
        self.lock()
            .get(tenant)
            .map(|entry| (entry.ctx.clone(), entry.loaded_at))
    }

    async fn load(
        &self,
        syncer: &Syncer,
        tenant: &str,
        now: i64,
        why: &'static str,
    ) -> Result<Arc<TenantContext>, SyncError> {
        let ctx = Arc::new(TenantContext::load(syncer, tenant).await?);
        info!(event = "context_cached", tenant, reason = why);

        let entry = Cached {
            ctx: ctx.clone(),
            loaded_at: now,
        };
        self.lock().insert(tenant.to_owned(), entry);
        Ok(ctx)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Cached>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
