//! Token-bucket rate limiter for the API key (Lever: 10 req/s steady, bursts of 20).

use std::time::Instant;

/// A token bucket refilled continuously at `rate_per_sec`, holding at most `burst` tokens.
#[derive(Debug)]
pub struct TokenBucket {
    rate_per_sec: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate_per_sec: f64, burst: u32) -> TokenBucket {
        TokenBucket {
            rate_per_sec: rate_per_sec.max(0.0),
            burst: f64::from(burst),
            tokens: f64::from(burst),
            last: Instant::now(),
        }
    }

    /// Changes the rate and/or burst; the bucket is refilled to the new burst.
    pub fn reconfigure(&mut self, rate_per_sec: Option<f64>, burst: Option<u32>) {
        if let Some(r) = rate_per_sec {
            self.rate_per_sec = r.max(0.0);
        }
        if let Some(b) = burst {
            self.burst = f64::from(b);
        }
        self.tokens = self.burst;
        self.last = Instant::now();
    }

    /// Takes one token if available.
    pub fn try_take(&mut self) -> bool {
        self.try_take_at(Instant::now())
    }

    fn try_take_at(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate_per_sec).min(self.burst);
        self.last = now;

        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_refill() {
        let mut b = TokenBucket::new(10.0, 20);
        let t0 = Instant::now();
        b.last = t0;
        assert!((0..20).all(|_| b.try_take_at(t0)));
        assert!(!b.try_take_at(t0));

        // 100 ms at 10/s refills one token.
        let t1 = t0 + Duration::from_millis(100);
        assert!(b.try_take_at(t1));
        assert!(!b.try_take_at(t1));
    }
}
