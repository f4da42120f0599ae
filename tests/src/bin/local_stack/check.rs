//! Compares the stored offer records with the simulator's ground truth, field by field.
//!
//! Shared by the `local-stack report` command, the integration tests and the benchmark (which
//! include this file by path), so the demo and the tests hold the product to the same standard.

use aws_sdk_dynamodb::types::AttributeValue;
use lever_sim::{Truth, TruthOffer};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use shared::record::OfferRecord;
use std::collections::HashMap;
use std::str::FromStr;

/// Every difference between the table and the truth, as readable lines (empty = identical).
pub fn compare(truth: &Truth, records: &[OfferRecord]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut stored: HashMap<&str, &OfferRecord> = HashMap::new();

    for record in records {
        if stored.insert(record.offer_id.as_str(), record).is_some() {
            problems.push(format!("offer {} stored more than once", record.offer_id));
        }
    }
    for expected in &truth.offers {
        match stored.remove(expected.offer_id.as_str()) {
            None => problems.push(format!(
                "offer {} missing from the table",
                expected.offer_id
            )),
            Some(record) => problems.extend(differences(expected, record)),
        }
    }
    problems.extend(
        stored
            .keys()
            .map(|id| format!("offer {id} stored but not in Lever")),
    );
    problems
}

/// Field-by-field differences of one offer.
fn differences(expected: &TruthOffer, record: &OfferRecord) -> Vec<String> {
    let want = comparable_truth(expected);
    let got = comparable_record(record);

    want.iter()
        .filter(|(field, value)| got.get(*field) != Some(*value))
        .map(|(field, value)| {
            let found = got.get(field).cloned().unwrap_or(Value::Null);
            format!(
                "offer {} field {field}: expected {value}, stored {found}",
                expected.offer_id
            )
        })
        .collect()
}

fn comparable_truth(offer: &TruthOffer) -> Map<String, Value> {
    let mut value = serde_json::to_value(offer).expect("truth serializes");
    let map = value.as_object_mut().expect("object");
    for ignored in ["offer_id", "contact_id", "confidential"] {
        map.remove(ignored);
    }
    normalize_pay(map);
    map.clone()
}

fn comparable_record(record: &OfferRecord) -> Map<String, Value> {
    let value = serde_json::to_value(record).expect("record serializes");
    let mut map: Map<String, Value> = [
        "opportunity_id",
        "application_id",
        "keyed_by",
        "status",
        "outcome",
        "currency",
        "pay",
        "posting_id",
        "requisition_id",
        "requisition_code",
        "job",
    ]
    .iter()
    .map(|key| (key.to_string(), value[*key].clone()))
    .collect();

    let pipeline = &value["pipeline"];
    map.insert("stage_id".into(), pipeline["stage_id"].clone());
    map.insert(
        "archive_reason_id".into(),
        pipeline["archive_reason_id"].clone(),
    );
    map.insert("archived_at".into(), pipeline["archived_at"].clone());
    normalize_pay(&mut map);
    map
}

/// Decimal strings compared by value ("85000" equals "85000.00"); elements in a fixed order.
fn normalize_pay(map: &mut Map<String, Value>) {
    let Some(Value::Array(pay)) = map.get_mut("pay") else {
        return;
    };
    for element in pay.iter_mut() {
        for key in ["amount", "annualized_amount"] {
            if let Some(Value::String(text)) = element.get(key) {
                let canonical = Decimal::from_str(text).map(|d| d.normalize().to_string());
                element[key] = json!(canonical.unwrap_or_else(|_| text.clone()));
            }
        }
    }
    pay.sort_by_key(|e| (e["kind"].to_string(), e["source_field"].to_string()));
}

/// Personal data of the simulator's candidates found in any of `texts`.
pub fn leaked_pii<'a>(truth: &'a Truth, texts: &[String]) -> Vec<&'a str> {
    truth
        .pii
        .iter()
        .filter(|pii| texts.iter().any(|text| text.contains(pii.as_str())))
        .map(String::as_str)
        .collect()
}

/// Every item of a table as text (offers, lookups, state, claims, markers), for searching it.
pub async fn raw_items(
    dynamo: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<Vec<String>, String> {
    let items = scan_items(dynamo, table).await?;
    Ok(items.iter().map(|item| format!("{item:?}")).collect())
}

/// Every item of a table, every page of the scan.
pub async fn scan_items(
    dynamo: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<Vec<HashMap<String, AttributeValue>>, String> {
    let mut items = Vec::new();
    let mut start: Option<HashMap<String, AttributeValue>> = None;
    loop {
        let page = dynamo
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| format!("scan: {}", e.into_service_error()))?;
        items.extend(page.items().iter().cloned());
        start = page.last_evaluated_key;
        if start.is_none() {
            return Ok(items);
        }
    }
}
