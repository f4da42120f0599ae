//! `lever-sim`: a deterministic Lever Data API simulator and the ground truth of its data.
//!
//! Used in-process by the integration tests ([`Sim::spawn`]) and as the `lever-sim` binary.
//! It does not depend on the product's `shared` crate: the truth is derived from the
//! generator's own intent, following the rules of `docs/data-model.md`.
//!
//! ```no_run
//! # async fn demo() {
//! use lever_sim::{Sim, SimConfig};
//! let sim = Sim::spawn(SimConfig::default()).await;
//! let base = sim.base_url(); // http://127.0.0.1:PORT/v1, HTTP Basic with sim.api_key()
//! let truth = sim.truth();
//! # let _ = (base, truth);
//! # }
//! ```

mod api;
mod budget;
mod catalog;
mod counters;
mod dataset;
pub mod delivery;
mod faults;
mod generate;
mod limiter;
mod mutate;
mod oauth;
mod paging;
mod render;
mod server;
mod truth;
mod webhooks;

#[cfg(test)]
mod tests;

pub use counters::Counters;
pub use dataset::*;
pub use faults::{FaultState, Faults};
pub use generate::{DEFAULT_NOW_MS, generate};
pub use mutate::{Change, ChangeKind};
pub use oauth::{OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, OAuthControl, OAuthCounters, OAuthReport};
pub use paging::{decode_token, encode_token};
pub use truth::{
    KeyedBy, Outcome, PayKind, PayUnit, Period, Truth, TruthJob, TruthOffer, TruthPay,
};
pub use webhooks::{DeliverReport, DeliverRequest};

use server::{SimState, lock};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The tenant field mapping for the simulator's offer form (docs/data-model.md format).
pub const TENANT_MAPPING_JSON: &str = r#"{
  "offer_fields": {
    "custom_sign_on_bonus":   { "kind": "signing_bonus" },
    "custom_rsu_grant_value": { "kind": "equity", "unit": "currency", "period": "one_time" },
    "custom_rsu_shares":      { "kind": "equity", "unit": "shares" },
    "custom_annual_bonus_pct":{ "kind": "target_bonus", "unit": "percent" },
    "custom_ote_commission":  { "kind": "commission", "period": "year" },
    "custom_relocation":      { "kind": "relocation" }
  },
  "personal_fields": ["custom_preferred_name"],
  "allow_text_fields": ["custom_offer_type"],
  "requisition_fields": { "job_family": "job_family", "level": "job_level", "location": "work_location" },
  "annualization": { "year": "1", "month": "12", "week": "52", "hour": "2080" },
  "default_currency": null
}"#;

/// The tenant field mapping as JSON (see [`TENANT_MAPPING_JSON`]).
pub fn tenant_mapping() -> serde_json::Value {
    serde_json::from_str(TENANT_MAPPING_JSON).expect("mapping constant is valid JSON")
}

/// Simulator settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Generator seed.
    pub seed: u64,
    /// Number of opportunities generated (about 0.5 % are then deleted).
    pub opportunities: usize,
    /// API key accepted as the HTTP Basic user name (empty password).
    pub api_key: String,
    /// Rate-limit refill, requests per second.
    pub rate_per_sec: f64,
    /// Rate-limit burst.
    pub burst: u32,
    /// The generator's "now", ms.
    pub now_ms: i64,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            seed: 42,
            opportunities: 200,
            api_key: "sim-api-key".to_string(),
            rate_per_sec: 10.0,
            burst: 20,
            now_ms: DEFAULT_NOW_MS,
        }
    }
}

/// A running simulator on 127.0.0.1 (stopped when dropped).
pub struct Sim {
    state: Arc<SimState>,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Sim {
    /// Generates the dataset and serves it on `127.0.0.1:<free port>`.
    ///
    /// # Panics
    /// If no loopback port can be bound (use [`Sim::try_spawn`] to handle that).
    pub async fn spawn(cfg: SimConfig) -> Sim {
        Sim::try_spawn(cfg).await.expect("bind 127.0.0.1:0")
    }

    /// Like [`Sim::spawn`], returning bind errors.
    pub async fn try_spawn(cfg: SimConfig) -> std::io::Result<Sim> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        Sim::serve_on(listener, cfg)
    }

    /// Serves on an already bound listener (must be a loopback address).
    pub fn serve_on(listener: TcpListener, cfg: SimConfig) -> std::io::Result<Sim> {
        let addr = listener.local_addr()?;
        if !addr.ip().is_loopback() {
            return Err(std::io::Error::other("lever-sim only serves on loopback"));
        }

        let dataset = generate(cfg.seed, cfg.opportunities, cfg.now_ms);
        let state = Arc::new(SimState::new(
            dataset,
            cfg.api_key,
            cfg.rate_per_sec,
            cfg.burst,
        ));
        let (tx, rx) = oneshot::channel::<()>();
        let serving = state.clone();
        tokio::spawn(async move {
            let stop = async {
                let _ = rx.await;
            };
            if let Err(e) = server::serve(listener, serving, stop).await {
                tracing::error!(error = %e, "lever-sim server stopped");
            }
        });
        Ok(Sim {
            state,
            addr,
            shutdown: Some(tx),
        })
    }

    /// The socket address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The Data API root, `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The simulator's root, `http://127.0.0.1:PORT`: the OAuth host (`LEVER_AUTH_URL`), whose
    /// token endpoint is `POST /oauth/token`.
    pub fn root_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Starts an OAuth grant (what consent would return): its first refresh token.
    pub fn issue_refresh_token(&self) -> String {
        lock(&self.state.oauth).issue_grant()
    }

    /// Changes OAuth behaviour (same semantics as `POST /_sim/oauth`).
    pub fn set_oauth(&self, control: OAuthControl) {
        lock(&self.state.oauth).control(&control, server::wall_ms());
    }

    /// The token endpoint's counters and the tokens it issued.
    pub fn oauth(&self) -> OAuthReport {
        lock(&self.state.oauth).report()
    }

    /// The control API root, `http://127.0.0.1:PORT/_sim`.
    pub fn control_url(&self) -> String {
        format!("http://{}/_sim", self.addr)
    }

    /// The API key the server accepts.
    pub fn api_key(&self) -> &str {
        &self.state.api_key
    }

    /// The ground truth for the current state (after any mutations and deletions).
    pub fn truth(&self) -> Truth {
        lock(&self.state.world).dataset.truth()
    }

    /// A copy of the current dataset.
    pub fn dataset(&self) -> Dataset {
        lock(&self.state.world).dataset.clone()
    }

    /// Runs `f` on the current dataset without copying it.
    pub fn with_dataset<R>(&self, f: impl FnOnce(&Dataset) -> R) -> R {
        f(&lock(&self.state.world).dataset)
    }

    /// Request counters so far.
    pub fn counters(&self) -> Counters {
        lock(&self.state.counters).clone()
    }

    /// Sets the counters back to zero.
    pub fn reset_counters(&self) {
        *lock(&self.state.counters) = Counters::default();
    }

    /// Arms faults (same semantics as `POST /_sim/faults`).
    pub fn set_faults(&self, faults: Faults) {
        self.state.set_faults(&faults);
    }

    /// Remaining fault budgets.
    pub fn fault_state(&self) -> FaultState {
        lock(&self.state.faults).clone()
    }

    /// Applies `count` deterministic mutations; returns what changed.
    pub fn mutate(&self, count: usize) -> Vec<Change> {
        self.state.mutate(count)
    }

    /// Applies one change of `kind` (to `opportunity_id` when it qualifies, else to a seeded
    /// choice); `None` when no opportunity qualifies. [`ChangeKind::webhook_event`] names the
    /// event Lever would fire.
    pub fn change(&self, kind: ChangeKind, opportunity_id: Option<&str>) -> Option<Change> {
        self.state.change(kind, opportunity_id)
    }

    /// Sends a signed (or deliberately defective) delivery like Lever (see [`delivery`]).
    pub async fn deliver(&self, request: &DeliverRequest) -> Result<DeliverReport, String> {
        self.state.deliver(request).await
    }

    /// Deletes an opportunity now; `false` if it is unknown or already deleted.
    pub fn delete(&self, opportunity_id: &str) -> bool {
        self.state.delete(opportunity_id)
    }

    /// The tenant field mapping for this simulator's offer form.
    pub fn tenant_mapping() -> serde_json::Value {
        tenant_mapping()
    }

    /// Id of the "Offer" stage.
    pub fn offer_stage_id(&self) -> String {
        lock(&self.state.world).dataset.offer_stage_id().to_string()
    }

    /// Minimum calls of a complete backfill; see [`Dataset::minimum_calls`] for the formula.
    pub fn minimum_calls(&self, min_stage_id: Option<&str>) -> u64 {
        lock(&self.state.world).dataset.minimum_calls(min_stage_id)
    }

    /// Stops serving.
    pub fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
