//! A Lever webhook body (`lever-api.md` §8.2), parsed into typed fields with clear errors.
//!
//! ```json
//! { "event": "candidateStageChange", "triggeredAt": 1700000000123,
//!   "token": "<48 random characters>", "signature": "<64 hex>",
//!   "data": { "opportunityId": "…", "candidateId": "…", "contactId": "…", … } }
//! ```
//!
//! Errors name the field and the problem, never a value. `signature` is optional here: a
//! missing signature is an authentication failure (401), decided by the service.

use serde_json::{Map, Value};

/// The Lever events this product acts on, and the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    StageChange,
    ArchiveChange,
    Hired,
    Deleted,
    /// Any other event (applicationCreated, interview and contact events, …): acknowledged.
    Other,
}

impl EventKind {
    /// The kind of a Lever event name.
    pub fn of(event: &str) -> EventKind {
        match event {
            "candidateStageChange" => EventKind::StageChange,
            "candidateArchiveChange" => EventKind::ArchiveChange,
            "candidateHired" => EventKind::Hired,
            "candidateDeleted" => EventKind::Deleted,
            _ => EventKind::Other,
        }
    }
}

/// One parsed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub event: String,
    /// `triggeredAt`, epoch ms.
    pub triggered_at: i64,
    /// `triggeredAt` exactly as its digits appear in the body: the signed text.
    pub triggered_at_text: String,
    /// The delivery's random token (de-duplication key; signed).
    pub token: String,
    pub signature: Option<String>,
    /// `data.opportunityId`, else `data.candidateId` (Lever's older name for the same id).
    pub opportunity_id: Option<String>,
}

/// Why a body could not be parsed: every variant maps to 400 except `TooLarge` (413).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryError {
    TooLarge,
    NotJson,
    NotObject,
    Missing(&'static str),
    WrongType(&'static str, &'static str),
    InvalidId(&'static str),
}

impl DeliveryError {
    /// A short reason for the response body (field names only, never values).
    pub fn reason(self) -> String {
        match self {
            DeliveryError::TooLarge => "body too large".into(),
            DeliveryError::NotJson => "body is not JSON".into(),
            DeliveryError::NotObject => "body is not a JSON object".into(),
            DeliveryError::Missing(field) => format!("missing field {field}"),
            DeliveryError::WrongType(field, expected) => format!("{field} must be {expected}"),
            DeliveryError::InvalidId(field) => format!("{field} is not a Lever id"),
        }
    }
}

/// Parses a body of at most `max_bytes` bytes.
pub fn parse(body: &[u8], max_bytes: usize) -> Result<Delivery, DeliveryError> {
    if body.len() > max_bytes {
        return Err(DeliveryError::TooLarge);
    }
    let value: Value = serde_json::from_slice(body).map_err(|_| DeliveryError::NotJson)?;
    let object = value.as_object().ok_or(DeliveryError::NotObject)?;

    let event = string(object, "event")?;
    let token = string(object, "token")?;
    let (triggered_at, triggered_at_text) = triggered_at(object)?;
    let signature = optional_string(object, "signature")?;
    let opportunity_id = opportunity_id(object)?;

    Ok(Delivery {
        event,
        triggered_at,
        triggered_at_text,
        token,
        signature,
        opportunity_id,
    })
}

/// A required non-empty string field.
fn string(object: &Map<String, Value>, field: &'static str) -> Result<String, DeliveryError> {
    optional_string(object, field)?
        .filter(|s| !s.is_empty())
        .ok_or(DeliveryError::Missing(field))
}

fn optional_string(
    object: &Map<String, Value>,
    field: &'static str,
) -> Result<Option<String>, DeliveryError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(DeliveryError::WrongType(field, "a string")),
    }
}

/// `triggeredAt` as a JSON integer, Lever's form. Never a float, whose text (`1.7e12`, `…123.0`)
/// would not be what Lever signed, and never a string: a string could carry leading zeros,
/// letting a captured signature be reused with digits moved between `token` and `triggeredAt`.
fn triggered_at(object: &Map<String, Value>) -> Result<(i64, String), DeliveryError> {
    const FIELD: &str = "triggeredAt";
    const EXPECTED: &str = "an integer of epoch milliseconds";

    let text = match object.get(FIELD) {
        None | Some(Value::Null) => return Err(DeliveryError::Missing(FIELD)),
        Some(Value::Number(n)) if n.is_u64() => n.to_string(),
        Some(_) => return Err(DeliveryError::WrongType(FIELD, EXPECTED)),
    };
    let ms = text
        .parse()
        .map_err(|_| DeliveryError::WrongType(FIELD, EXPECTED))?;
    Ok((ms, text))
}

/// `data.opportunityId` (or `data.candidateId`), checked to look like a Lever id.
fn opportunity_id(object: &Map<String, Value>) -> Result<Option<String>, DeliveryError> {
    let Some(data) = object.get("data").filter(|d| !d.is_null()) else {
        return Ok(None);
    };
    let data = data
        .as_object()
        .ok_or(DeliveryError::WrongType("data", "an object"))?;

    for field in ["opportunityId", "candidateId"] {
        let name: &'static str = if field == "opportunityId" {
            "data.opportunityId"
        } else {
            "data.candidateId"
        };
        if let Some(id) =
            optional_string(data, field).map_err(|_| DeliveryError::WrongType(name, "a string"))?
        {
            return if is_lever_id(&id) {
                Ok(Some(id))
            } else {
                Err(DeliveryError::InvalidId(name))
            };
        }
    }
    Ok(None)
}

/// Lever ids are UUIDs; accept 1–64 ASCII letters, digits and dashes.
fn is_lever_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const LIMIT: usize = 64 * 1024;

    fn body(value: Value) -> Vec<u8> {
        value.to_string().into_bytes()
    }

    fn sample() -> Value {
        json!({ "event": "candidateStageChange", "triggeredAt": 1700000000123_i64,
                "token": "0f3c9a1b7e2d4c6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d",
                "signature": "c5fe6db80783cdcda95c16fdd7ebc9f2899f96952cb7c7b2d28082ebf705e93d",
                "data": { "opportunityId": "1f000000-0000-4000-8000-000000000001",
                          "candidateId": "1f000000-0000-4000-8000-000000000001",
                          "contactId": "2c000000-0000-4000-8000-000000000001",
                          "toStageId": "7a000000-0000-4000-8000-000000000002" } })
    }

    #[test]
    fn lever_sample_parses() {
        let delivery = parse(&body(sample()), LIMIT).expect("valid");

        assert_eq!(delivery.event, "candidateStageChange");
        assert_eq!(delivery.triggered_at, 1_700_000_000_123);
        assert_eq!(delivery.triggered_at_text, "1700000000123");
        assert_eq!(
            delivery.opportunity_id.as_deref(),
            Some("1f000000-0000-4000-8000-000000000001")
        );
        assert_eq!(EventKind::of(&delivery.event), EventKind::StageChange);
    }

    #[test]
    fn triggered_at_must_be_a_json_integer() {
        let value = sample();
        assert_eq!(
            parse(&body(value.clone()), LIMIT).map(|d| d.triggered_at_text),
            Ok("1700000000123".to_owned())
        );

        let mut value = value;
        for wrong in [
            json!(1700000000123.0_f64),
            json!(1.7e12),
            json!(-5),
            json!("17e11"),
            json!("1700000000123"),
            json!("01700000000123"),
        ] {
            value["triggeredAt"] = wrong;
            assert_eq!(
                parse(&body(value.clone()), LIMIT),
                Err(DeliveryError::WrongType(
                    "triggeredAt",
                    "an integer of epoch milliseconds"
                ))
            );
        }
    }

    #[test]
    fn missing_fields_are_named() {
        for field in ["event", "token", "triggeredAt"] {
            let mut value = sample();
            value.as_object_mut().expect("object").remove(field);
            let err = parse(&body(value), LIMIT).expect_err("missing");
            assert_eq!(err, DeliveryError::Missing(field));
            assert_eq!(err.reason(), format!("missing field {field}"));
        }
    }

    #[test]
    fn missing_signature_and_data_are_left_to_the_service() {
        let mut value = sample();
        let object = value.as_object_mut().expect("object");
        object.remove("signature");
        object.remove("data");

        let delivery = parse(&body(value), LIMIT).expect("parses");
        assert_eq!((delivery.signature, delivery.opportunity_id), (None, None));
    }

    #[test]
    fn candidate_id_stands_in_for_a_missing_opportunity_id() {
        let mut value = sample();
        value["data"] = json!({ "candidateId": "abc-123" });
        assert_eq!(
            parse(&body(value), LIMIT).map(|d| d.opportunity_id),
            Ok(Some("abc-123".to_owned()))
        );
    }

    #[test]
    fn wrong_shapes_are_named_without_values() {
        let cases = [
            (b"not json".to_vec(), "body is not JSON"),
            (b"[1, 2]".to_vec(), "body is not a JSON object"),
            (body(json!({ "event": 5 })), "event must be a string"),
        ];
        for (input, reason) in cases {
            assert_eq!(parse(&input, LIMIT).expect_err("bad").reason(), reason);
        }

        let mut value = sample();
        value["data"]["opportunityId"] = json!("../../etc/passwd");
        let err = parse(&body(value), LIMIT).expect_err("bad id");
        assert_eq!(err.reason(), "data.opportunityId is not a Lever id");
    }

    #[test]
    fn bodies_over_the_limit_are_refused_before_parsing() {
        let big = vec![b' '; LIMIT + 1];
        assert_eq!(parse(&big, LIMIT), Err(DeliveryError::TooLarge));
        assert!(parse(&body(sample()), 100).is_err());
    }
}
