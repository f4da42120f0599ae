//! Injected faults: 429 storms, 5xx, slow responses, missing offers, malformed pages.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::time::Duration;

/// A fault request (`POST /_sim/faults`). Every field is optional; a given field replaces
/// the current setting, an absent one leaves it alone.
///
/// Order on each authenticated `/v1` request: `storm_429`, then the rate limiter, then
/// `fail_5xx`, then `slow_*`, then the handler (where `not_found_offers` and
/// `malformed_pages` apply). A request answered early consumes no later budget.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// The next n API requests get 429 `TooManyRequests`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storm_429: Option<u32>,
    /// The next n API requests get 500 and 503, alternating (500 first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail_5xx: Option<u32>,
    /// Delay added to delayed requests, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slow_ms: Option<u64>,
    /// How many of the next requests are delayed; absent with `slow_ms` = every request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slow_count: Option<u32>,
    /// Opportunities whose offers answer 404 (replaces the list).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_found_offers: Option<Vec<String>>,
    /// The next n successful list responses are truncated, invalid JSON (status 200).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub malformed_pages: Option<u32>,
    /// The next n API requests are cut off: headers go out, then the connection drops
    /// before the body (what a client sees as a connection reset mid-response).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drop_connections: Option<u32>,
    /// `true`: every paging token issued so far becomes invalid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invalidate_tokens: Option<bool>,
    /// New rate-limit refill rate, requests per second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_per_sec: Option<f64>,
    /// New rate-limit burst size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
}

/// Remaining fault budgets (`GET /_sim/faults`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultState {
    /// Remaining 429 answers.
    pub storm_429: u32,
    /// Remaining 5xx answers.
    pub fail_5xx: u32,
    /// Delay of slow requests, ms.
    pub slow_ms: u64,
    /// Remaining delayed requests.
    pub slow_count: u32,
    /// Opportunities whose offers answer 404.
    pub not_found_offers: HashSet<String>,
    /// Remaining malformed list pages.
    pub malformed_pages: u32,
    /// Remaining dropped connections.
    pub drop_connections: u32,
    #[serde(skip)]
    next_is_503: bool,
}

impl FaultState {
    /// Applies the counters of a request (limiter and tokens are handled by the caller).
    pub fn apply(&mut self, f: &Faults) {
        if let Some(n) = f.storm_429 {
            self.storm_429 = n;
        }
        if let Some(n) = f.fail_5xx {
            self.fail_5xx = n;
            self.next_is_503 = false;
        }
        if let Some(ms) = f.slow_ms {
            self.slow_ms = ms;
            self.slow_count = f.slow_count.unwrap_or(u32::MAX);
        } else if let Some(n) = f.slow_count {
            self.slow_count = n;
        }
        if let Some(ids) = &f.not_found_offers {
            self.not_found_offers = ids.iter().cloned().collect();
        }
        if let Some(n) = f.malformed_pages {
            self.malformed_pages = n;
        }
        if let Some(n) = f.drop_connections {
            self.drop_connections = n;
        }
    }

    /// Consumes one 429 answer if any are left.
    pub fn take_429(&mut self) -> bool {
        take(&mut self.storm_429)
    }

    /// Consumes one 5xx answer if any are left: 500, 503, 500, ...
    pub fn take_5xx(&mut self) -> Option<u16> {
        if !take(&mut self.fail_5xx) {
            return None;
        }
        let status = if self.next_is_503 { 503 } else { 500 };
        self.next_is_503 = !self.next_is_503;
        Some(status)
    }

    /// Consumes one delay if any are left.
    pub fn take_slow(&mut self) -> Option<Duration> {
        (self.slow_ms > 0 && take(&mut self.slow_count))
            .then(|| Duration::from_millis(self.slow_ms))
    }

    /// Consumes one dropped connection if any are left.
    pub fn take_drop(&mut self) -> bool {
        take(&mut self.drop_connections)
    }

    /// Consumes one malformed page if any are left.
    pub fn take_malformed(&mut self) -> bool {
        take(&mut self.malformed_pages)
    }

    /// Whether this opportunity's offers should answer 404.
    pub fn offers_missing(&self, opportunity_id: &str) -> bool {
        self.not_found_offers.contains(opportunity_id)
    }
}

fn take(n: &mut u32) -> bool {
    if *n == 0 {
        return false;
    }
    *n -= 1;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_run_out() {
        let mut s = FaultState::default();
        s.apply(&Faults {
            fail_5xx: Some(3),
            storm_429: Some(1),
            ..Faults::default()
        });
        assert_eq!(
            [s.take_5xx(), s.take_5xx(), s.take_5xx(), s.take_5xx()],
            [Some(500), Some(503), Some(500), None]
        );
        assert!(s.take_429());
        assert!(!s.take_429());
    }

    #[test]
    fn slow_without_count_is_unbounded() {
        let mut s = FaultState::default();
        s.apply(&Faults {
            slow_ms: Some(5),
            ..Faults::default()
        });
        assert!((0..1000).all(|_| s.take_slow().is_some()));
        s.apply(&Faults {
            slow_ms: Some(5),
            slow_count: Some(1),
            ..Faults::default()
        });
        assert!(s.take_slow().is_some());
        assert!(s.take_slow().is_none());
    }
}
