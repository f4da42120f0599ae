//! `local-stack webhooks`: the webhook part of `make demo`.
//!
//! Lever's side is played by the simulator: it changes a few opportunities (moved to the offer
//! stage, offer signed and hired, archived as declined, deleted) and delivers a signed webhook
//! for each to the webhook function's Function URL, plus a repeated copy, an ignored event and
//! one forged delivery. Each delivery's attempts are printed, then the table is checked
//! against the simulator's ground truth again.

use crate::check;
use lever_sim::{Change, DeliverReport, DeliverRequest, Truth};
use serde_json::{Value, json};
use shared::ports::OfferStore;
use shared::record::{OfferRecord, Outcome};
use shared::store::DynamoStore;

/// The Lever events a demo tenant has signature tokens for.
pub const EVENTS: [&str; 5] = [
    "candidateStageChange",
    "candidateArchiveChange",
    "candidateHired",
    "candidateDeleted",
    "applicationCreated",
];

/// One delivery of the demo and what the table must show afterwards.
struct Step {
    label: &'static str,
    event: &'static str,
    opportunity_id: String,
    defect: Option<&'static str>,
    copies: u32,
    expect: Expect,
}

#[derive(Clone, Copy)]
enum Expect {
    Outcome(Outcome),
    Removed,
    Nothing,
}

/// Runs the demo's webhook scenarios; `Err` when a delivery or the table is not as expected.
pub async fn run(
    aws: &aws_config::SdkConfig,
    table: &str,
    tenant: &str,
    sim: &str,
    url: &str,
    secret_name: &str,
) -> Result<(), String> {
    let tokens = signature_tokens(aws, secret_name).await?;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(aws), table);
    let steps = prepare(sim, &store, tenant).await?;

    println!("\n== Webhooks: Lever's side (the simulator) delivers to {url} ==");
    println!(
        "  {:<38} {:<24} {:<22} answer",
        "change", "event", "attempts"
    );
    let mut problems = Vec::new();
    for step in &steps {
        let report = deliver(sim, url, step, &tokens).await?;
        print_step(step, &report);
        problems.extend(expected_answers(step, &report));
    }

    let records = store.scan_offers(tenant).await.map_err(|e| e.to_string())?;
    let truth: Truth = get_json(&format!("{sim}/_sim/truth")).await?;
    for step in &steps {
        problems.extend(expected_records(step, &records));
    }
    let differences = check::compare(&truth, &records);
    println!(
        "\nGround truth after the webhooks: {} offers in Lever, {} in the table, {} differences",
        truth.offers.len(),
        records.len(),
        differences.len()
    );
    problems.extend(differences.into_iter().take(10));

    for problem in &problems {
        println!("  problem: {problem}");
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err("the webhook demo found problems (see above)".into())
    }
}

/// The simulator changes, and the deliveries that tell the function about them.
async fn prepare(sim: &str, store: &DynamoStore, tenant: &str) -> Result<Vec<Step>, String> {
    let moved = change(sim, "moved_to_offer").await?;
    let hired = change(sim, "hired").await?;
    let declined = change(sim, "archived_declined").await?;
    let deleted = deletable(store, tenant, &[&hired, &declined]).await?;
    post_json(
        &format!("{sim}/_sim/delete"),
        &json!({ "opportunity_id": deleted }),
    )
    .await?;

    let step = |label, event, id: &str, defect, copies, expect| Step {
        label,
        event,
        opportunity_id: id.to_owned(),
        defect,
        copies,
        expect,
    };
    Ok(vec![
        step(
            "moved to offer stage, offer sent",
            "candidateStageChange",
            &moved,
            None,
            1,
            Expect::Outcome(Outcome::Pending),
        ),
        step(
            "offer signed, candidate hired",
            "candidateHired",
            &hired,
            None,
            2,
            Expect::Outcome(Outcome::Accepted),
        ),
        step(
            "archived: offer declined",
            "candidateArchiveChange",
            &declined,
            None,
            1,
            Expect::Outcome(Outcome::Declined),
        ),
        step(
            "candidate deleted",
            "candidateDeleted",
            &deleted,
            None,
            1,
            Expect::Removed,
        ),
        step(
            "application created (not used)",
            "applicationCreated",
            &moved,
            None,
            1,
            Expect::Nothing,
        ),
        step(
            "FORGED: hired, wrong signing key",
            "candidateHired",
            &declined,
            Some("forged_signature"),
            1,
            Expect::Nothing,
        ),
    ])
}

/// Applies a change of `kind` in the simulator; returns the opportunity id.
async fn change(sim: &str, kind: &str) -> Result<String, String> {
    let answer = post_json(&format!("{sim}/_sim/change"), &json!({ "kind": kind })).await?;
    let change: Change = serde_json::from_value(answer["change"].clone())
        .map_err(|e| format!("change {kind}: {e}"))?;
    Ok(change.opportunity_id)
}

/// A stored opportunity with offers that none of the other steps touches.
async fn deletable(store: &DynamoStore, tenant: &str, avoid: &[&String]) -> Result<String, String> {
    let records = store.scan_offers(tenant).await.map_err(|e| e.to_string())?;
    records
        .iter()
        .map(|r| &r.opportunity_id)
        .find(|id| !avoid.contains(id))
        .cloned()
        .ok_or_else(|| "no stored opportunity to delete".into())
}

async fn deliver(
    sim: &str,
    url: &str,
    step: &Step,
    tokens: &Value,
) -> Result<DeliverReport, String> {
    let token = tokens[step.event][0]
        .as_str()
        .ok_or_else(|| format!("the secret has no token for {}", step.event))?;
    let mut request = DeliverRequest::new(url, step.event, &step.opportunity_id, token);
    request.copies = step.copies;
    request.first_gap_ms = 100;
    let mut body = serde_json::to_value(&request).map_err(|e| e.to_string())?;
    if let Some(defect) = step.defect {
        body["defect"] = json!(defect);
    }

    let answer = post_json(&format!("{sim}/_sim/deliver"), &body).await?;
    serde_json::from_value(answer).map_err(|e| format!("deliver: {e}"))
}

fn print_step(step: &Step, report: &DeliverReport) {
    for delivery in &report.deliveries {
        let attempts: Vec<String> = delivery.attempts.iter().map(u16::to_string).collect();
        println!(
            "  {:<38} {:<24} {:<22} {} {} ({} ms)",
            step.label,
            step.event,
            attempts.join(","),
            delivery.status,
            delivery.body,
            delivery.first_ms
        );
    }
}

/// The statuses each step must get: 200 (the second copy `duplicate`), 401 for the forgery.
fn expected_answers(step: &Step, report: &DeliverReport) -> Vec<String> {
    let mut problems = Vec::new();
    for (n, delivery) in report.deliveries.iter().enumerate() {
        let expected = match (step.defect, n) {
            (Some(_), _) => (401, "rejected"),
            (None, 0) if step.event == "applicationCreated" => (200, "ignored"),
            (None, 0) => (200, "processed"),
            (None, _) => (200, "duplicate"),
        };
        let body: Value = serde_json::from_str(&delivery.body).unwrap_or_default();
        if (delivery.status, body["status"].as_str().unwrap_or("")) != expected {
            problems.push(format!(
                "{}: expected {expected:?}, got {} {}",
                step.label, delivery.status, delivery.body
            ));
        }
    }
    problems
}

fn expected_records(step: &Step, records: &[OfferRecord]) -> Vec<String> {
    let of_opportunity: Vec<&OfferRecord> = records
        .iter()
        .filter(|r| r.opportunity_id == step.opportunity_id)
        .collect();
    match step.expect {
        Expect::Outcome(outcome) => {
            let latest = of_opportunity.iter().max_by_key(|r| r.created_at);
            match latest {
                Some(r) if r.outcome == outcome => vec![],
                other => vec![format!(
                    "{}: latest offer should be {}, found {:?}",
                    step.label,
                    outcome.as_str(),
                    other.map(|r| r.outcome.as_str())
                )],
            }
        }
        Expect::Removed if !of_opportunity.is_empty() => {
            vec![format!(
                "{}: {} records left",
                step.label,
                of_opportunity.len()
            )]
        }
        Expect::Removed | Expect::Nothing => vec![],
    }
}

/// The tenant's webhook signature tokens (what Lever holds), read from the seeded secret.
async fn signature_tokens(aws: &aws_config::SdkConfig, secret_name: &str) -> Result<Value, String> {
    let secrets = aws_sdk_secretsmanager::Client::new(aws);
    let output = secrets
        .get_secret_value()
        .secret_id(secret_name)
        .send()
        .await
        .map_err(|e| format!("read secret: {}", e.into_service_error()))?;
    let text = output.secret_string().unwrap_or_default();
    let secret: Value = serde_json::from_str(text).map_err(|_| "secret is not JSON".to_owned())?;
    Ok(secret["webhook_tokens"].clone())
}

async fn post_json(url: &str, body: &Value) -> Result<Value, String> {
    let response = reqwest::Client::new()
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let status = response.status();
    let value: Value = response.json().await.map_err(|e| format!("{url}: {e}"))?;
    if status.is_success() {
        Ok(value)
    } else {
        Err(format!("{url}: {status} {value}"))
    }
}

async fn get_json<T: serde::de::DeserializeOwned>(url: &str) -> Result<T, String> {
    let response = reqwest::get(url).await.map_err(|e| format!("{url}: {e}"))?;
    response.json().await.map_err(|e| format!("{url}: {e}"))
}
