//! Client-side rate limiting of Lever calls: one token bucket per tenant credential.
//!
//! Lever limits each API key with a token bucket (about 10 requests/s sustained, bursts of 20,
//! see `lever-api.md` §3). Every task of one tenant inside the process must draw from the same
//! bucket, so [`RateLimiters`] hands out one shared [`RateLimiter`] per tenant.
//!
//! The bucket schedules ahead: a caller takes a token at once, even when that drives the
//! balance below zero, and then sleeps until the refill has covered its debt. Callers are
//! served in arrival order (the state sits behind a fair `tokio::sync::Mutex`), and the sleep
//! happens outside the lock. Time is read through `tokio::time`, so tests can pause it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// Sustained rate used when a configured rate is not a positive finite number.
const FALLBACK_RATE_PER_SEC: f64 = 8.0;

/// An async token bucket.
///
/// Starts full. [`acquire`](RateLimiter::acquire) returns once the caller may send one request.
#[derive(Debug)]
pub struct RateLimiter {
    rate_per_sec: f64,
    burst: u32,
    state: tokio::sync::Mutex<Bucket>,
}

/// The mutable part of the bucket; `tokens` is negative while callers wait for refills.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled_at: Instant,
}

impl RateLimiter {
    /// A full bucket refilling at `rate_per_sec` and holding at most `burst` tokens.
    ///
    /// A rate that is not a positive finite number falls back to 8/s, and a burst of 0 is
    /// raised to 1, so a bad setting can neither stall every call nor disable the limit.
    pub fn new(rate_per_sec: f64, burst: u32) -> Self {
        let rate_per_sec = sanitize_rate(rate_per_sec);
        let burst = burst.max(1);

        RateLimiter {
            rate_per_sec,
            burst,
            state: tokio::sync::Mutex::new(Bucket {
                tokens: f64::from(burst),
                refilled_at: Instant::now(),
            }),
        }
    }

    /// The sustained rate, in requests per second.
    pub fn rate_per_sec(&self) -> f64 {
        self.rate_per_sec
    }

    /// The most requests that may go out at once after a quiet period.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// Waits until one request may be sent.
    ///
    /// The token is reserved when the call starts waiting: dropping the future while it sleeps
    /// gives up that slot rather than returning it.
    pub async fn acquire(&self) {
        let wait = self.reserve().await;

        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Takes one token and returns how long the caller must wait before using it.
    async fn reserve(&self) -> Duration {
        let mut bucket = self.state.lock().await;
        let now = Instant::now();

        self.refill(&mut bucket, now);
        bucket.tokens -= 1.0;

        if bucket.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-bucket.tokens / self.rate_per_sec)
        }
    }

    /// Adds the tokens earned since the last refill, never beyond `burst`.
    fn refill(&self, bucket: &mut Bucket, now: Instant) {
        let earned = now
            .saturating_duration_since(bucket.refilled_at)
            .as_secs_f64();
        bucket.tokens = (bucket.tokens + earned * self.rate_per_sec).min(f64::from(self.burst));
        bucket.refilled_at = now;
    }
}

fn sanitize_rate(rate_per_sec: f64) -> f64 {
    if rate_per_sec.is_finite() && rate_per_sec > 0.0 {
        return rate_per_sec;
    }

    tracing::warn!(
        fallback = FALLBACK_RATE_PER_SEC,
        "invalid lever rate limit, using fallback"
    );
    FALLBACK_RATE_PER_SEC
}

/// The process-wide set of per-tenant buckets.
///
/// Keep one instance for the life of the process (for example [`RateLimiters::global`]), so
/// that every task of a tenant shares one bucket.
#[derive(Debug, Default)]
pub struct RateLimiters {
    by_tenant: Mutex<HashMap<String, Arc<RateLimiter>>>,
}

impl RateLimiters {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The registry shared by the whole process.
    pub fn global() -> &'static RateLimiters {
        static GLOBAL: OnceLock<RateLimiters> = OnceLock::new();
        GLOBAL.get_or_init(RateLimiters::new)
    }

    /// The bucket of `tenant`, created with `rate_per_sec` and `burst` on first use.
    ///
    /// Later calls return the existing bucket unchanged, whatever rate they pass.
    pub fn for_tenant(&self, tenant: &str, rate_per_sec: f64, burst: u32) -> Arc<RateLimiter> {
        let mut by_tenant = self
            .by_tenant
            .lock()
            .unwrap_or_else(PoisonError::into_inner);

        let limiter = by_tenant
            .entry(tenant.to_owned())
            .or_insert_with(|| Arc::new(RateLimiter::new(rate_per_sec, burst)));
        Arc::clone(limiter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOLERANCE: Duration = Duration::from_millis(5);

    fn assert_near(actual: Duration, expected: Duration) {
        let diff = actual.abs_diff(expected);
        assert!(
            diff <= TOLERANCE,
            "expected about {expected:?}, got {actual:?}"
        );
    }

    async fn acquire_n(limiter: &RateLimiter, n: usize) {
        for _ in 0..n {
            limiter.acquire().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn burst_passes_at_once_then_the_rest_follow_the_rate() {
        let limiter = RateLimiter::new(2.0, 5);
        let start = Instant::now();

        acquire_n(&limiter, 5).await;
        assert_eq!(start.elapsed(), Duration::ZERO);

        acquire_n(&limiter, 4).await;
        assert_near(start.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn bucket_refills_while_idle_but_not_beyond_burst() {
        let limiter = RateLimiter::new(10.0, 3);
        acquire_n(&limiter, 3).await;

        tokio::time::sleep(Duration::from_secs(60)).await;
        let start = Instant::now();
        acquire_n(&limiter, 3).await;
        assert_eq!(start.elapsed(), Duration::ZERO);

        limiter.acquire().await;
        assert_near(start.elapsed(), Duration::from_millis(100));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_the_rate() {
        let limiter = Arc::new(RateLimiter::new(4.0, 4));
        let start = Instant::now();

        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let limiter = Arc::clone(&limiter);
                tokio::spawn(async move {
                    limiter.acquire().await;
                    start.elapsed()
                })
            })
            .collect();

        let mut finished = Vec::new();
        for task in tasks {
            finished.push(task.await.expect("task ran"));
        }
        finished.sort();

        assert!(finished[..4].iter().all(|d| d.is_zero()), "{finished:?}");
        assert_near(finished[11], Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn handles_of_one_tenant_share_a_bucket() {
        let registry = RateLimiters::new();
        let first = registry.for_tenant("acme", 1.0, 2);
        let second = registry.for_tenant("acme", 100.0, 50);
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(second.burst(), 2);

        let start = Instant::now();
        first.acquire().await;
        second.acquire().await;
        assert_eq!(start.elapsed(), Duration::ZERO);

        second.acquire().await;
        assert_near(start.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn tenants_do_not_share_buckets() {
        let registry = RateLimiters::new();
        let acme = registry.for_tenant("acme", 1.0, 1);
        let globex = registry.for_tenant("globex", 1.0, 1);
        assert!(!Arc::ptr_eq(&acme, &globex));

        let start = Instant::now();
        acme.acquire().await;
        globex.acquire().await;
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[test]
    fn global_registry_is_one_instance() {
        assert!(std::ptr::eq(RateLimiters::global(), RateLimiters::global()));
    }

    #[test]
    fn bad_settings_fall_back_to_safe_values() {
        for rate in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(
                RateLimiter::new(rate, 0).rate_per_sec(),
                FALLBACK_RATE_PER_SEC
            );
        }
        assert_eq!(RateLimiter::new(5.0, 0).burst(), 1);
    }
}
