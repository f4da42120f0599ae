//! Reading offer-field values, which Lever sends as numbers, strings, null or objects.

use rust_decimal::Decimal;
use serde_json::Value;
use std::str::FromStr;

/// A money-like value: an amount and, when the value carried one, its own currency.
#[derive(Debug, Clone, PartialEq)]
pub struct Amount {
    pub value: Decimal,
    pub currency: Option<String>,
}

/// Reads a number, a numeric string (thousands separators allowed) or an object with
/// `amount`/`value` (and optionally `currency`). Anything else is no amount.
pub fn amount(value: &Value) -> Option<Amount> {
    match value {
        Value::Number(n) => decimal(&n.to_string()).map(|value| Amount {
            value,
            currency: None,
        }),
        Value::String(s) => decimal(s).map(|value| Amount {
            value,
            currency: None,
        }),
        Value::Object(map) => {
            let inner = map.get("amount").or_else(|| map.get("value"))?;
            let currency = map
                .get("currency")
                .and_then(Value::as_str)
                .and_then(currency_code);
            let found = amount(inner)?;
            Some(Amount {
                value: found.value,
                currency: currency.or(found.currency),
            })
        }
        _ => None,
    }
}

/// Parses a decimal from text such as `150000`, `"150,000.50"` or `1.5e5`; never via float.
pub fn decimal(text: &str) -> Option<Decimal> {
    let cleaned: String = text
        .trim()
        .chars()
        .filter(|c| !matches!(c, ',' | '_' | ' '))
        .collect();
    if cleaned.is_empty() {
        return None;
    }

    let parsed = if cleaned.contains(['e', 'E']) {
        Decimal::from_scientific(&cleaned).ok()
    } else {
        Decimal::from_str(&cleaned).ok()
    };
    parsed.map(|d| d.normalize())
}

/// An ISO 4217-shaped code (three ASCII letters), upper-cased.
pub fn currency_code(text: &str) -> Option<String> {
    let code = text.trim();
    let valid = code.len() == 3 && code.chars().all(|c| c.is_ascii_alphabetic());
    valid.then(|| code.to_ascii_uppercase())
}

/// A plain string value, trimmed; empty strings count as absent.
pub fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Object(map) => map.get("text").or_else(|| map.get("id")).and_then(text),
        _ => None,
    }
}

/// True for strings shaped like a Lever (UUID) id.
pub fn looks_like_id(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let lengths: Vec<usize> = parts.iter().map(|p| p.len()).collect();
    lengths == [8, 4, 4, 4, 12]
        && parts
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).expect("decimal")
    }

    #[test]
    fn amounts_from_numbers_strings_and_objects() {
        assert_eq!(amount(&json!(150000)).map(|a| a.value), Some(dec("150000")));
        assert_eq!(amount(&json!(27.5)).map(|a| a.value), Some(dec("27.5")));
        assert_eq!(
            amount(&json!("150,000.50")).map(|a| a.value),
            Some(dec("150000.5"))
        );
        assert_eq!(
            amount(&json!("1.5e5")).map(|a| a.value),
            Some(dec("150000"))
        );
        let object = amount(&json!({ "amount": 5000, "currency": "eur" })).expect("object");
        assert_eq!(
            (object.value, object.currency.as_deref()),
            (dec("5000"), Some("EUR"))
        );
    }

    #[test]
    fn non_amounts_are_none() {
        for value in [
            json!(null),
            json!(""),
            json!("n/a"),
            json!(true),
            json!([1]),
            json!({}),
        ] {
            assert_eq!(amount(&value), None, "{value}");
        }
    }

    #[test]
    fn large_and_precise_amounts_stay_exact() {
        assert_eq!(
            decimal("123456789012.345678"),
            Some(dec("123456789012.345678"))
        );
        assert_eq!(amount(&json!(0.1)).map(|a| a.value), Some(dec("0.1")));
    }

    #[test]
    fn currency_codes_and_ids() {
        assert_eq!(currency_code(" gbp "), Some("GBP".into()));
        assert_eq!(currency_code("EURO"), None);
        assert!(looks_like_id("3a000000-0000-4000-8000-000000000001"));
        assert!(!looks_like_id("lead-new"));
    }
}
