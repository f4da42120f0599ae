//! Lever-style webhook deliveries: signed bodies for the simulator's opportunities, sent the
//! way Lever sends them, and deliberately defective ones.
//!
//! A delivery is `POST <url>` with `Content-Type: application/json`, `User-Agent:
//! Lever-Webhooks` and the body `{event, triggeredAt, token, signature, data}`; the signature
//! is `hex(HMAC-SHA256(signature token, token ++ triggeredAt))` (`lever-api.md` §8.4),
//! computed here independently of the product. A non-2xx answer (or no answer) is re-sent up
//! to [`SendPolicy::retries`] times (Lever: five) with doubling gaps.

use crate::dataset::{Dataset, Opportunity};
use hmac::{Hmac, KeyInit, Mac};
use rand::Rng;
use rand::distr::Alphanumeric;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;
use std::time::{Duration, Instant};

/// A deliberate defect of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Defect {
    /// Signed with a key that is not the tenant's.
    ForgedSignature,
    /// Correctly signed, then the token was changed.
    TamperedToken,
    /// Correctly signed, `triggeredAt` 25 hours ago.
    Stale,
    /// Correctly signed, `triggeredAt` one hour ahead.
    Future,
    /// No `signature` field.
    MissingSignature,
    /// The correct signature in an `X-Lever-Signature` header, none in the body.
    HeaderSignature,
    /// An HMAC of the raw body (what some write-ups describe) in the body's `signature`.
    BodySignature,
    /// No `token` field.
    MissingToken,
    /// No `data.opportunityId` / `data.candidateId`.
    MissingOpportunity,
    /// `triggeredAt` written as a float, e.g. `1700000000123.0`.
    FloatTriggeredAt,
}

/// A delivery ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The JSON body.
    pub body: String,
    /// The delivery's token (not secret: it is the de-duplication key).
    pub token: String,
    /// A signature header to add (only for [`Defect::HeaderSignature`]).
    pub header_signature: Option<String>,
}

/// How persistently a delivery is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendPolicy {
    /// Re-sends after the first attempt while the answer is not 2xx (Lever: 5).
    pub retries: u32,
    /// Gap before the first re-send; each further gap doubles.
    pub first_gap: Duration,
    /// Timeout of one attempt.
    pub timeout: Duration,
}

impl Default for SendPolicy {
    fn default() -> Self {
        SendPolicy {
            retries: 5,
            first_gap: Duration::from_millis(200),
            timeout: Duration::from_secs(30),
        }
    }
}

/// What happened to one delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendReport {
    /// The status of every attempt (0 = no HTTP answer).
    pub attempts: Vec<u16>,
    /// The last status.
    pub status: u16,
    /// The last answer's body (the receiver's short JSON reason).
    pub body: String,
    /// Time to the first answer, ms.
    pub first_ms: u64,
}

/// `hex(HMAC-SHA256(key, token ++ triggered_at))`.
pub fn signature(key: &str, token: &str, triggered_at: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(token.as_bytes());
    mac.update(triggered_at.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A random 48-character delivery token, as Lever's.
pub fn random_token() -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(48)
        .map(char::from)
        .collect()
}

/// The `data` object of an event about one opportunity (live or deleted): the ids Lever's
/// sample carries, plus the stage move for a stage change. `None` for an unknown id.
pub fn data_for(dataset: &Dataset, opportunity_id: &str, event: &str) -> Option<Value> {
    let opportunity = dataset.opportunity(opportunity_id).or_else(|| {
        dataset
            .deleted
            .iter()
            .map(|d| &d.opportunity)
            .find(|o| o.id == opportunity_id)
    })?;

    let mut data = json!({
        "opportunityId": opportunity.id,
        "candidateId": opportunity.id,
        "contactId": opportunity.contact,
    });
    if event == "candidateStageChange" {
        data["fromStageId"] = json!(previous_stage(opportunity));
        data["toStageId"] = json!(opportunity.stage_id);
    }
    Some(data)
}

fn previous_stage(opportunity: &Opportunity) -> Option<&str> {
    let changes = &opportunity.stage_changes;
    changes
        .len()
        .checked_sub(2)
        .map(|i| changes[i].to_stage_id.as_str())
}

/// Builds a delivery signed with `signing_token`, with the defect applied.
pub fn build(
    event: &str,
    data: Value,
    signing_token: &str,
    triggered_at: i64,
    defect: Option<Defect>,
) -> Delivery {
    let triggered_at = match defect {
        Some(Defect::Stale) => triggered_at - 25 * 3_600_000,
        Some(Defect::Future) => triggered_at + 3_600_000,
        _ => triggered_at,
    };
    let token = random_token();
    let key = match defect {
        Some(Defect::ForgedSignature) => "not-the-tenants-signature-token",
        _ => signing_token,
    };
    let signed = signature(key, &token, &triggered_at.to_string());

    let mut body = json!({ "event": event, "triggeredAt": triggered_at, "token": token,
                           "signature": signed, "data": data });
    let header_signature = apply(&mut body, defect, &signed, key);

    Delivery {
        body: body_text(&body, defect),
        token,
        header_signature,
    }
}

/// Changes the body for a defect; returns a header signature where the defect wants one.
fn apply(body: &mut Value, defect: Option<Defect>, signed: &str, key: &str) -> Option<String> {
    let object = body.as_object_mut().expect("the body is an object");
    match defect {
        Some(Defect::TamperedToken) => {
            object.insert("token".into(), json!(random_token()));
        }
        Some(Defect::MissingSignature) => {
            object.remove("signature");
        }
        Some(Defect::HeaderSignature) => {
            object.remove("signature");
            return Some(signed.to_owned());
        }
        Some(Defect::BodySignature) => {
            object.remove("signature");
            let raw = Value::Object(object.clone()).to_string();
            object.insert("signature".into(), json!(signature(key, &raw, "")));
        }
        Some(Defect::MissingToken) => {
            object.remove("token");
        }
        Some(Defect::MissingOpportunity) => {
            object.insert("data".into(), json!({}));
        }
        _ => {}
    }
    None
}

/// The body text; a float `triggeredAt` cannot be produced through `Value` from an integer.
fn body_text(body: &Value, defect: Option<Defect>) -> String {
    let text = body.to_string();
    if defect != Some(Defect::FloatTriggeredAt) {
        return text;
    }
    let at = body["triggeredAt"].to_string();
    text.replace(
        &format!("\"triggeredAt\":{at}"),
        &format!("\"triggeredAt\":{at}.0"),
    )
}

/// Sends a delivery like Lever: re-sent on non-2xx with doubling gaps.
pub async fn send(
    client: &reqwest::Client,
    url: &str,
    delivery: &Delivery,
    policy: SendPolicy,
) -> SendReport {
    let started = Instant::now();
    let mut report = SendReport {
        attempts: Vec::new(),
        status: 0,
        body: String::new(),
        first_ms: 0,
    };
    let mut gap = policy.first_gap;

    for attempt in 0..=policy.retries {
        if attempt > 0 {
            tokio::time::sleep(gap).await;
            gap *= 2;
        }
        let (status, body) = post(client, url, delivery, policy.timeout).await;
        if attempt == 0 {
            report.first_ms = started.elapsed().as_millis() as u64;
        }
        report.attempts.push(status);
        report.status = status;
        report.body = body;
        if (200..300).contains(&status) {
            break;
        }
    }
    report
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    delivery: &Delivery,
    timeout: Duration,
) -> (u16, String) {
    let mut request = client
        .post(url)
        .timeout(timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(reqwest::header::USER_AGENT, "Lever-Webhooks")
        .body(delivery.body.clone());
    if let Some(signature) = &delivery.header_signature {
        request = request.header("X-Lever-Signature", signature);
    }

    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            (status, response.text().await.unwrap_or_default())
        }
        Err(_) => (0, String::new()),
    }
}

/// True for `http://127.0.0.1…`, `http://localhost…` and `http://[::1]…` URLs: the simulator
/// delivers to nothing else.
pub fn is_loopback_url(url: &str) -> bool {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return false;
    };
    let host = parsed.host_str().unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    parsed.scheme() == "http" && loopback
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_lever_api_md_worked_example() {
        let key = "7d2f0c9e5a1b3c4d6e8f0a2b4c6d8e0f1a3b5c7d9e1f2a4b";
        let token = "0f3c9a1b7e2d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d";
        assert_eq!(
            signature(key, token, "1700000000123"),
            "c5fe6db80783cdcda95c16fdd7ebc9f2899f96952cb7c7b2d28082ebf705e93d"
        );
    }

    #[test]
    fn a_delivery_is_signed_over_token_and_triggered_at() {
        let d = build(
            "candidateHired",
            json!({ "opportunityId": "o" }),
            "k",
            1_000,
            None,
        );
        let body: Value = serde_json::from_str(&d.body).expect("json");

        assert_eq!(d.token.len(), 48);
        assert_eq!(body["token"], json!(d.token));
        assert_eq!(body["signature"], json!(signature("k", &d.token, "1000")));
        assert_eq!(d.header_signature, None);
    }

    #[test]
    fn defects_change_what_they_say() {
        let data = json!({ "opportunityId": "o" });
        let body = |defect| -> (Value, Delivery) {
            let d = build(
                "candidateHired",
                data.clone(),
                "k",
                90_000_000,
                Some(defect),
            );
            (serde_json::from_str(&d.body).expect("json"), d)
        };

        let (forged, d) = body(Defect::ForgedSignature);
        assert_ne!(
            forged["signature"],
            json!(signature("k", &d.token, "90000000"))
        );
        let (tampered, d) = body(Defect::TamperedToken);
        assert_ne!(tampered["token"], json!(d.token));
        assert_eq!(body(Defect::Stale).0["triggeredAt"], json!(0));
        assert!(body(Defect::MissingSignature).0.get("signature").is_none());
        let (header, d) = body(Defect::HeaderSignature);
        assert!(header.get("signature").is_none() && d.header_signature.is_some());
        assert!(body(Defect::MissingToken).0.get("token").is_none());
        assert_eq!(body(Defect::MissingOpportunity).0["data"], json!({}));
        let float = build(
            "candidateHired",
            data.clone(),
            "k",
            5,
            Some(Defect::FloatTriggeredAt),
        );
        assert!(float.body.contains("\"triggeredAt\":5.0"), "{}", float.body);
    }

    #[test]
    fn only_loopback_urls_are_delivered_to() {
        assert!(is_loopback_url(
            "http://127.0.0.1:9000/lambda-url/webhook/acme"
        ));
        assert!(is_loopback_url("http://localhost:9000/acme"));
        assert!(!is_loopback_url("https://example.com/acme"));
        assert!(!is_loopback_url("http://10.0.0.1/acme"));
        assert!(!is_loopback_url("not a url"));
    }
}
