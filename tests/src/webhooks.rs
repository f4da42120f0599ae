//! Control endpoints for webhook scenarios: a targeted change that says which event it fires,
//! and Lever-style deliveries to a receiver on 127.0.0.1.
//!
//! - `POST /_sim/change` `{"kind": "hired", "opportunity_id": "…"}` (id optional) →
//!   `{"change": {…}, "event": "candidateHired"}`; 404 when no opportunity qualifies.
//! - `POST /_sim/deliver` with a [`DeliverRequest`] → a [`DeliverReport`]; 400 for an unknown
//!   opportunity or a URL that is not on the loopback interface.

use crate::delivery::{self, Defect, SendPolicy, SendReport};
use crate::mutate::{self, Change, ChangeKind};
use crate::server::{SimState, lock, wall_ms};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// Asks the simulator to deliver one event about one opportunity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliverRequest {
    /// Receiver URL (loopback only).
    pub url: String,
    /// Lever event name, e.g. `candidateStageChange`.
    pub event: String,
    /// The opportunity the event is about (live or deleted).
    pub opportunity_id: String,
    /// The tenant's signature token for this event.
    pub signature_token: String,
    /// A deliberate defect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defect: Option<Defect>,
    /// Identical copies sent one after another (each with its own re-sends); default 1.
    #[serde(default = "one")]
    pub copies: u32,
    /// Re-sends on non-2xx (Lever: 5).
    #[serde(default = "five")]
    pub retries: u32,
    /// Gap before the first re-send, ms (doubles each time).
    #[serde(default = "two_hundred")]
    pub first_gap_ms: u64,
}

fn one() -> u32 {
    1
}
fn five() -> u32 {
    5
}
fn two_hundred() -> u64 {
    200
}

/// The outcome of a [`DeliverRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliverReport {
    /// The delivery token (the same for every copy).
    pub token: String,
    /// The body sent (the same for every copy), for tests that look for it where it must
    /// not be (logs, stored items).
    pub body: String,
    /// One report per copy.
    pub deliveries: Vec<SendReport>,
}

impl DeliverRequest {
    /// A well-formed request with Lever's retry behaviour.
    pub fn new(url: &str, event: &str, opportunity_id: &str, signature_token: &str) -> Self {
        DeliverRequest {
            url: url.to_owned(),
            event: event.to_owned(),
            opportunity_id: opportunity_id.to_owned(),
            signature_token: signature_token.to_owned(),
            defect: None,
            copies: 1,
            retries: 5,
            first_gap_ms: 200,
        }
    }
}

impl SimState {
    /// Applies a targeted change (see [`mutate::change`]).
    pub(crate) fn change(&self, kind: ChangeKind, opportunity_id: Option<&str>) -> Option<Change> {
        let mut world = lock(&self.world);
        let serial = world.mutations;
        world.mutations += 1;
        mutate::change(&mut world.dataset, serial, kind, opportunity_id, wall_ms())
    }

    /// Builds and sends a delivery; `Err` names what is wrong with the request.
    pub(crate) async fn deliver(&self, request: &DeliverRequest) -> Result<DeliverReport, String> {
        if !delivery::is_loopback_url(&request.url) {
            return Err("url must be http on 127.0.0.1, localhost or [::1]".into());
        }
        let data = {
            let world = lock(&self.world);
            delivery::data_for(&world.dataset, &request.opportunity_id, &request.event)
        }
        .ok_or("unknown opportunity")?;

        let built = delivery::build(
            &request.event,
            data,
            &request.signature_token,
            wall_ms(),
            request.defect,
        );
        let policy = SendPolicy {
            retries: request.retries,
            first_gap: Duration::from_millis(request.first_gap_ms),
            ..SendPolicy::default()
        };

        let client = reqwest::Client::new();
        let mut deliveries = Vec::new();
        for _ in 0..request.copies.max(1) {
            deliveries.push(delivery::send(&client, &request.url, &built, policy).await);
        }
        Ok(DeliverReport {
            token: built.token,
            body: built.body,
            deliveries,
        })
    }
}

/// The routes of this module.
pub(crate) fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/_sim/change", post(post_change))
        .route("/_sim/deliver", post(post_deliver))
}

#[derive(Deserialize)]
struct ChangeBody {
    kind: ChangeKind,
    #[serde(default)]
    opportunity_id: Option<String>,
}

async fn post_change(State(s): State<Arc<SimState>>, Json(b): Json<ChangeBody>) -> Response {
    match s.change(b.kind, b.opportunity_id.as_deref()) {
        Some(change) => {
            Json(json!({ "event": change.kind.webhook_event(), "change": change })).into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({ "message": "no opportunity qualifies for this change" })),
        )
            .into_response(),
    }
}

async fn post_deliver(State(s): State<Arc<SimState>>, Json(b): Json<DeliverRequest>) -> Response {
    match s.deliver(&b).await {
        Ok(report) => Json(report).into_response(),
        Err(message) => {
            (StatusCode::BAD_REQUEST, Json(json!({ "message": message }))).into_response()
        }
    }
}
