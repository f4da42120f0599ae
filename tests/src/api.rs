//! The Lever Data API endpoints (`/v1/...`): filters, paging envelopes and error bodies.

use crate::dataset::{Dataset, DeletedOpportunity, Offer, Opportunity, Posting, Requisition, User};
use crate::paging::{ListParams, PagingError, Query, page};
use crate::render;
use crate::server::{SimState, lock};
use crate::truth::offer_requisition;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// A Lever error body `{ "code", "message" }` with its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Lever error code, e.g. `BadRequestError`.
    pub code: &'static str,
    /// Human-readable message.
    pub message: String,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "BadRequestError", message)
    }

    fn not_found(kind: &str, id: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!("{kind} {id} was not found"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "code": self.code, "message": self.message });
        (self.status, axum::Json(body)).into_response()
    }
}

impl From<PagingError> for ApiError {
    fn from(e: PagingError) -> ApiError {
        match e {
            PagingError::BadLimit => {
                ApiError::bad_request("Invalid limit: must be an integer between 1 and 100")
            }
            PagingError::BadOffset => {
                ApiError::bad_request("Invalid offset token: Offset token is invalid for sort")
            }
        }
    }
}

type ApiResult = Result<Response, ApiError>;
type S = State<Arc<SimState>>;

/// The `/v1` routes (the gate is added by the server).
pub(crate) fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/v1/opportunities", get(list_opportunities))
        .route("/v1/opportunities/deleted", get(list_deleted))
        .route("/v1/opportunities/{id}", get(get_opportunity))
        .route("/v1/opportunities/{id}/offers", get(list_offers))
        .route("/v1/postings", get(list_postings))
        .route("/v1/postings/{id}", get(get_posting))
        .route("/v1/requisitions", get(list_requisitions))
        .route("/v1/requisitions/{id}", get(get_requisition))
        .route("/v1/requisition_fields", get(list_requisition_fields))
        .route("/v1/requisition_fields/{id}", get(get_requisition_field))
        .route("/v1/stages", get(list_stages))
        .route("/v1/stages/{id}", get(get_stage))
        .route("/v1/archive_reasons", get(list_archive_reasons))
        .route("/v1/archive_reasons/{id}", get(get_archive_reason))
        .route("/v1/users", get(list_users))
        .route("/v1/users/{id}", get(get_user))
}

// ---------- envelopes ----------

/// Validated paging parameters for a route.
fn list_params(s: &SimState, q: &Query, route: &str) -> Result<ListParams, ApiError> {
    Ok(ListParams::from_query(q, route, &lock(&s.tokens))?)
}

/// `{ data, hasNext, next? }`, or a truncated body when a malformed-page fault is armed.
fn list_response(
    s: &SimState,
    route: &str,
    data: Vec<Value>,
    next: Option<(i64, String)>,
) -> Response {
    let mut body = json!({ "data": data, "hasNext": next.is_some() });
    if let Some((key, id)) = next {
        body["next"] = json!(lock(&s.tokens).issue(route, key, &id));
    }

    let text = body.to_string();
    if !lock(&s.faults).take_malformed() {
        return json_response(text);
    }
    let mut cut = text.len() / 2;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    json_response(text[..cut].to_string())
}

fn json_response(text: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], text).into_response()
}

fn single(value: Value) -> ApiResult {
    Ok(json_response(json!({ "data": value }).to_string()))
}

// ---------- query helpers ----------

fn ms(q: &Query, key: &str) -> Result<Option<i64>, ApiError> {
    q.get(key)
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("Invalid {key}: expected epoch ms")))
        })
        .transpose()
}

/// Inclusive `[<key>_start, <key>_end]` filter.
#[derive(Clone, Copy)]
struct Range(Option<i64>, Option<i64>);

impl Range {
    fn read(q: &Query, key: &str) -> Result<Range, ApiError> {
        Ok(Range(
            ms(q, &format!("{key}_start"))?,
            ms(q, &format!("{key}_end"))?,
        ))
    }

    fn active(self) -> bool {
        self.0.is_some() || self.1.is_some()
    }

    /// A missing value never matches an active range.
    fn matches(self, v: Option<i64>) -> bool {
        if !self.active() {
            return true;
        }
        v.is_some_and(|v| self.0.is_none_or(|s| v >= s) && self.1.is_none_or(|e| v <= e))
    }
}

/// `confidentiality`: `None` = both.
fn confidentiality(q: &Query) -> Result<Option<bool>, ApiError> {
    match q.get("confidentiality") {
        None | Some("non-confidential") => Ok(Some(false)),
        Some("confidential") => Ok(Some(true)),
        Some("all") => Ok(None),
        Some(other) => Err(ApiError::bad_request(format!(
            "Invalid confidentiality: {other}"
        ))),
    }
}

fn conf_ok(wanted: Option<bool>, confidential: bool) -> bool {
    wanted.is_none_or(|w| w == confidential)
}

fn bool_param(q: &Query, key: &str) -> Result<Option<bool>, ApiError> {
    match q.get(key) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(other) => Err(ApiError::bad_request(format!("Invalid {key}: {other}"))),
    }
}

// ---------- opportunities ----------

struct OppFilter {
    updated: Range,
    created: Range,
    archived_at: Range,
    archived: Option<bool>,
    confidential: Option<bool>,
    stage_ids: Vec<String>,
    reason_ids: Vec<String>,
    posting_ids: Vec<String>,
    contact_ids: Vec<String>,
}

impl OppFilter {
    fn read(q: &Query) -> Result<OppFilter, ApiError> {
        let strings = |key: &str| q.all(key).into_iter().map(str::to_string).collect();
        Ok(OppFilter {
            updated: Range::read(q, "updated_at")?,
            created: Range::read(q, "created_at")?,
            archived_at: Range::read(q, "archived_at")?,
            archived: bool_param(q, "archived")?,
            confidential: confidentiality(q)?,
            stage_ids: strings("stage_id"),
            reason_ids: strings("archive_reason_id"),
            posting_ids: strings("posting_id"),
            contact_ids: strings("contact_id"),
        })
    }

    fn matches(&self, o: &Opportunity) -> bool {
        let any = |list: &Vec<String>, v: Option<&String>| {
            list.is_empty() || v.is_some_and(|v| list.contains(v))
        };
        self.updated.matches(o.updated_at)
            && self.created.matches(Some(o.created_at))
            && self.archived_at.matches(o.archive.as_ref().map(|a| a.at))
            && self.archived.is_none_or(|a| a == o.archive.is_some())
            && conf_ok(self.confidential, o.confidential)
            && any(&self.stage_ids, Some(&o.stage_id))
            && any(&self.reason_ids, o.archive.as_ref().map(|a| &a.reason_id))
            && any(
                &self.posting_ids,
                o.application.as_ref().map(|a| &a.posting_id),
            )
            && any(&self.contact_ids, Some(&o.contact))
    }
}

fn expands_applications(q: &Query) -> bool {
    q.all("expand").contains(&"applications")
}

fn opp_key(o: &Opportunity) -> (i64, &str) {
    (o.created_at, &o.id)
}

async fn list_opportunities(State(s): S, RawQuery(raw): RawQuery) -> ApiResult {
    const ROUTE: &str = "/v1/opportunities";
    let q = Query::parse(raw.as_deref());
    let filter = OppFilter::read(&q)?;
    let params = list_params(&s, &q, ROUTE)?;
    let expand = expands_applications(&q);

    let (data, next) = {
        let world = lock(&s.world);
        let d = &world.dataset;
        let (rows, next) = page(
            d.opportunities.iter().filter(|o| filter.matches(o)),
            opp_key,
            &params,
        );
        (
            rows.iter()
                .map(|o| render::opportunity(d, o, expand))
                .collect(),
            next,
        )
    };
    Ok(list_response(&s, ROUTE, data, next))
}

async fn get_opportunity(
    State(s): S,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let q = Query::parse(raw.as_deref());
    let world = lock(&s.world);
    let d = &world.dataset;
    let o = d
        .opportunity(&id)
        .ok_or_else(|| ApiError::not_found("opportunities", &id))?;
    single(render::opportunity(d, o, expands_applications(&q)))
}

fn deleted_key(d: &DeletedOpportunity) -> (i64, &str) {
    (d.deleted_at, &d.opportunity.id)
}

async fn list_deleted(State(s): S, RawQuery(raw): RawQuery) -> ApiResult {
    const ROUTE: &str = "/v1/opportunities/deleted";
    let q = Query::parse(raw.as_deref());
    let range = Range::read(&q, "deleted_at")?;
    let params = list_params(&s, &q, ROUTE)?;

    let (data, next) = {
        let world = lock(&s.world);
        let items = world
            .dataset
            .deleted
            .iter()
            .filter(|d| range.matches(Some(d.deleted_at)));
        let (rows, next) = page(items, deleted_key, &params);
        (rows.into_iter().map(render::deleted).collect(), next)
    };
    Ok(list_response(&s, ROUTE, data, next))
}

fn offer_key(o: &Offer) -> (i64, &str) {
    (o.created_at, &o.id)
}

async fn list_offers(State(s): S, Path(id): Path<String>, RawQuery(raw): RawQuery) -> ApiResult {
    const ROUTE: &str = "/v1/opportunities/:id/offers";
    let q = Query::parse(raw.as_deref());
    let params = list_params(&s, &q, ROUTE)?;
    if lock(&s.faults).offers_missing(&id) {
        return Err(ApiError::not_found("opportunities", &id));
    }

    let base = s.api_base.get().cloned().unwrap_or_default();
    let (data, next) = {
        let world = lock(&s.world);
        let o = world
            .dataset
            .opportunity(&id)
            .ok_or_else(|| ApiError::not_found("opportunities", &id))?;
        let (rows, next) = page(o.offers.iter(), offer_key, &params);
        (
            rows.into_iter()
                .map(|f| render::offer(o, f, &base))
                .collect(),
            next,
        )
    };
    Ok(list_response(&s, ROUTE, data, next))
}

// ---------- postings and requisitions ----------

fn posting_key(p: &Posting) -> (i64, &str) {
    (p.created_at, &p.id)
}

async fn list_postings(State(s): S, RawQuery(raw): RawQuery) -> ApiResult {
    const ROUTE: &str = "/v1/postings";
    let q = Query::parse(raw.as_deref());
    let conf = confidentiality(&q)?;
    let states = q.all("state");
    let params = list_params(&s, &q, ROUTE)?;

    let (data, next) = {
        let world = lock(&s.world);
        let items = world.dataset.postings.iter().filter(|p| {
            conf_ok(conf, p.confidential) && (states.is_empty() || states.contains(&p.state))
        });
        let (rows, next) = page(items, posting_key, &params);
        (rows.into_iter().map(render::posting).collect(), next)
    };
    Ok(list_response(&s, ROUTE, data, next))
}

async fn get_posting(State(s): S, Path(id): Path<String>) -> ApiResult {
    let world = lock(&s.world);
    let p = world
        .dataset
        .posting(&id)
        .ok_or_else(|| ApiError::not_found("postings", &id))?;
    single(render::posting(p))
}

/// Offer ids per requisition id, using the same resolution as the truth.
fn offers_by_requisition(d: &Dataset) -> HashMap<String, Vec<String>> {
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for o in &d.opportunities {
        for f in &o.offers {
            if let Some(r) = offer_requisition(d, o, f) {
                map.entry(r.id.clone()).or_default().push(f.id.clone());
            }
        }
    }
    map
}

fn requisition_key(r: &Requisition) -> (i64, &str) {
    (r.created_at, &r.id)
}

async fn list_requisitions(State(s): S, RawQuery(raw): RawQuery) -> ApiResult {
    const ROUTE: &str = "/v1/requisitions";
    let q = Query::parse(raw.as_deref());
    let conf = confidentiality(&q)?;
    let codes = q.all("requisition_code");
    let statuses = q.all("status");
    let params = list_params(&s, &q, ROUTE)?;

    let (data, next) = {
        let world = lock(&s.world);
        let d = &world.dataset;
        let items = d.requisitions.iter().filter(|r| {
            conf_ok(conf, r.confidential)
                && (codes.is_empty() || codes.contains(&r.code.as_str()))
                && (statuses.is_empty() || statuses.contains(&r.status))
        });
        let (rows, next) = page(items, requisition_key, &params);
        let offer_ids = if rows.is_empty() {
            HashMap::new()
        } else {
            offers_by_requisition(d)
        };
        let render_one =
            |r: &Requisition| render::requisition(r, offer_ids.get(&r.id).map_or(&[][..], |v| v));
        (rows.into_iter().map(render_one).collect(), next)
    };
    Ok(list_response(&s, ROUTE, data, next))
}

async fn get_requisition(State(s): S, Path(id): Path<String>) -> ApiResult {
    let world = lock(&s.world);
    let d = &world.dataset;
    let r = d
        .requisition(&id)
        .ok_or_else(|| ApiError::not_found("requisitions", &id))?;
    let offer_ids = offers_by_requisition(d).remove(&r.id).unwrap_or_default();
    single(render::requisition(r, &offer_ids))
}

// ---------- small dimension lists (sorted by position) ----------

/// Pages a small list whose sort key is the item's position.
fn positional<T>(
    s: &SimState,
    q: &Query,
    route: &str,
    items: &[T],
    keep: impl Fn(&T) -> bool,
    id: impl Fn(&T) -> &str,
    render: impl Fn(&T) -> Value,
) -> ApiResult {
    let params = list_params(s, q, route)?;
    let indexed: Vec<(i64, &T)> = items
        .iter()
        .enumerate()
        .filter(|(_, t)| keep(t))
        .map(|(i, t)| (i as i64, t))
        .collect();
    let (rows, next) = page(indexed.iter(), |(i, t)| (*i, id(t)), &params);
    let data = rows.into_iter().map(|(_, t)| render(t)).collect();
    Ok(list_response(s, route, data, next))
}

async fn list_stages(State(s): S, RawQuery(raw): RawQuery) -> ApiResult {
    let q = Query::parse(raw.as_deref());
    let stages = lock(&s.world).dataset.stages.clone();
    positional(
        &s,
        &q,
        "/v1/stages",
        &stages,
        |_| true,
        |x| &x.id,
        render::stage,
    )
}

async fn get_stage(State(s): S, Path(id): Path<String>) -> ApiResult {
    let world = lock(&s.world);
    let st = world.dataset.stages.iter().find(|x| x.id == id);
    single(render::stage(
        st.ok_or_else(|| ApiError::not_found("stages", &id))?,
    ))
}

async fn list_archive_reasons(State(s): S, RawQuery(raw): RawQuery) -> ApiResult {
    let q = Query::parse(raw.as_deref());
    let hired = match q.get("type") {
        None => None,
        Some("hired") => Some(true),
        Some("non-hired") => Some(false),
        Some(other) => return Err(ApiError::bad_request(format!("Invalid type: {other}"))),
    };
    let reasons = lock(&s.world).dataset.archive_reasons.clone();
    let keep = |r: &crate::dataset::ArchiveReason| hired.is_none_or(|h| h == r.hired);
    positional(
        &s,
        &q,
        "/v1/archive_reasons",
        &reasons,
        keep,
        |x| &x.id,
        render::archive_reason,
    )
}

async fn get_archive_reason(State(s): S, Path(id): Path<String>) -> ApiResult {
    let world = lock(&s.world);
    let r = world
        .dataset
        .archive_reason(&id)
        .ok_or_else(|| ApiError::not_found("archive_reasons", &id))?;
    single(render::archive_reason(r))
}

async fn list_requisition_fields(State(s): S, RawQuery(raw): RawQuery) -> ApiResult {
    let q = Query::parse(raw.as_deref());
    let fields = lock(&s.world).dataset.requisition_fields.clone();
    positional(
        &s,
        &q,
        "/v1/requisition_fields",
        &fields,
        |_| true,
        |x| &x.id,
        render::requisition_field,
    )
}

async fn get_requisition_field(State(s): S, Path(id): Path<String>) -> ApiResult {
    let world = lock(&s.world);
    let f = world.dataset.requisition_fields.iter().find(|x| x.id == id);
    single(render::requisition_field(f.ok_or_else(|| {
        ApiError::not_found("requisition_fields", &id)
    })?))
}

async fn list_users(State(s): S, RawQuery(raw): RawQuery) -> ApiResult {
    let q = Query::parse(raw.as_deref());
    let include_deactivated = bool_param(&q, "includeDeactivated")?.unwrap_or(false);
    let users = lock(&s.world).dataset.users.clone();
    let keep = |u: &User| include_deactivated || u.deactivated_at.is_none();
    positional(&s, &q, "/v1/users", &users, keep, |x| &x.id, render::user)
}

async fn get_user(State(s): S, Path(id): Path<String>) -> ApiResult {
    let world = lock(&s.world);
    let u = world.dataset.users.iter().find(|x| x.id == id);
    single(render::user(
        u.ok_or_else(|| ApiError::not_found("users", &id))?,
    ))
}
