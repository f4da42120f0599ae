//! Request counters by route template and status (`GET /_sim/counters`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Counts of served API requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Every counted request.
    pub total: u64,
    /// `"GET /v1/opportunities/:id/offers"` → status code (as text) → count.
    pub by_route: BTreeMap<String, BTreeMap<String, u64>>,
}

impl Counters {
    /// Records one request.
    pub fn record(&mut self, route: &str, status: u16) {
        self.total += 1;
        *self
            .by_route
            .entry(route.to_string())
            .or_default()
            .entry(status.to_string())
            .or_default() += 1;
    }

    /// Requests of a route with a status, e.g. `get("GET /v1/stages", 200)`.
    pub fn get(&self, route: &str, status: u16) -> u64 {
        self.by_route
            .get(route)
            .and_then(|m| m.get(&status.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// Requests of a route, any status.
    pub fn route_total(&self, route: &str) -> u64 {
        self.by_route.get(route).map_or(0, |m| m.values().sum())
    }

    /// Requests with a status, any route.
    pub fn status_total(&self, status: u16) -> u64 {
        let key = status.to_string();
        self.by_route.values().filter_map(|m| m.get(&key)).sum()
    }
}
