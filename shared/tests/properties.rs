//! Property tests: the webhook parser and verifier and the normalizer never panic, whatever
//! Lever (or an attacker) sends, and the verifier accepts exactly what was signed with its key.
//! They run briefly in `make test`; `PROPTEST_CASES=100000 cargo test -p shared --test properties`
//! runs them longer.

use proptest::prelude::*;
use secrecy::SecretString;
use serde_json::{Value, json};
use shared::lever::model::{Offer, Opportunity};
use shared::normalize::{
    Dimensions, FieldMapping, NormalizeContext, Pseudonymizer, normalize_opportunity,
};
use shared::record::Source;
use shared::webhook::{delivery, signature};

/// Arbitrary JSON, a few levels deep, biased towards the shapes Lever uses.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[0-9]{0,20}".prop_map(Value::String),
        "\\PC{0,24}".prop_map(Value::String),
        prop::sample::select(vec![
            "per-year-salary",
            "per-hour-wage",
            "EUR",
            "signed",
            "1e400",
            "-0"
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::hash_map(field_name(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "id",
            "event",
            "token",
            "signature",
            "triggeredAt",
            "data",
            "opportunityId",
            "archived",
            "reason",
            "archivedAt",
            "archiveReason",
            "applications",
            "stageChanges",
            "toStageIndex",
            "fields",
            "identifier",
            "value",
            "amount",
            "currency",
            "status",
            "createdAt",
            "signatures",
            "signedAt",
            "posting",
            "stage",
            "contact",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z_]{1,12}",
    ]
}

/// An offer field list using the identifiers the normalizer reads.
fn offer_fields() -> impl Strategy<Value = Value> {
    let identifier = prop::sample::select(vec![
        "salary_amount",
        "salary_interval",
        "compensation_currency",
        "job_posting",
        "requisition",
        "anticipated_start_date",
        "candidate_name",
        "custom_equity",
        "custom_signing_bonus",
        "custom_target_bonus_percent",
        "custom_anything",
    ]);
    prop::collection::vec((identifier, json_value()), 0..12).prop_map(|fields| {
        Value::Array(
            fields
                .into_iter()
                .map(|(id, v)| json!({ "identifier": id, "value": v }))
                .collect(),
        )
    })
}

proptest! {
    #[test]
    fn webhook_parser_never_panics_on_bytes(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = delivery::parse(&body, 64 * 1024);
    }

    #[test]
    fn webhook_parser_never_panics_on_json(value in json_value()) {
        let body = serde_json::to_vec(&value).expect("serializes");
        let _ = delivery::parse(&body, 64 * 1024);
    }

    #[test]
    fn verifier_never_panics_and_accepts_only_its_own_signature(
        key in "[ -~]{0,64}",
        other_key in "[ -~]{1,64}",
        token in "\\PC{0,64}",
        triggered_at in "[0-9]{1,16}",
        garbage in "\\PC{0,80}",
    ) {
        let keys = [SecretString::from(key.clone())];
        let good = signature::sign(key.as_bytes(), &token, &triggered_at);

        prop_assert_eq!(signature::verify(&keys, &token, &triggered_at, &good).ok(), Some(0));
        let _ = signature::verify(&keys, &token, &triggered_at, &garbage);
        if other_key != key {
            let wrong = [SecretString::from(other_key)];
            prop_assert!(signature::verify(&wrong, &token, &triggered_at, &good).is_err());
        }
    }

    #[test]
    fn normalizer_never_panics(
        opportunity in json_value(),
        fields in prop::collection::vec(offer_fields(), 0..3),
        statuses in prop::collection::vec(json_value(), 0..3),
    ) {
        let mut opportunity = opportunity;
        if let Value::Object(map) = &mut opportunity {
            map.insert("id".into(), json!("o1"));
        } else {
            opportunity = json!({ "id": "o1", "archived": opportunity });
        }
        let Ok(opportunity) = serde_json::from_value::<Opportunity>(opportunity) else { return Ok(()) };
        let offers: Vec<Offer> = fields
            .into_iter()
            .zip(statuses.into_iter().chain(std::iter::repeat(Value::Null)))
            .enumerate()
            .filter_map(|(i, (fields, status))| {
                serde_json::from_value(json!({ "id": format!("f{i}"), "fields": fields, "status": status })).ok()
            })
            .collect();

        let (mapping, dims) = (FieldMapping::default(), Dimensions::default());
        let pseudonymizer = Pseudonymizer::new(SecretString::from("k"));
        let ctx = NormalizeContext {
            tenant: "t",
            mapping: &mapping,
            dimensions: &dims,
            pseudonymizer: Some(&pseudonymizer),
            source: Source::Backfill,
            synced_at: 0,
        };
        let records = normalize_opportunity(&ctx, &opportunity, &offers);
        prop_assert_eq!(records.len(), offers.len());
    }
}
