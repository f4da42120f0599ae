//! Pay elements: the salary trio (`salary_amount`, `salary_interval`,
//! `compensation_currency`) and every custom field the mapping names.

use super::mapping::{FieldMapping, PayFieldRule, SALARY_AMOUNT};
use super::value::Amount;
use crate::record::{PayElement, PayKind, PayUnit, Period};
use rust_decimal::{Decimal, RoundingStrategy};

/// The base-pay element from `salary_amount` and `salary_interval`.
///
/// A missing interval is read as yearly salary (the form's default); an interval outside
/// Lever's vocabulary becomes an `other` element without an annualized amount.
pub fn base_pay(
    salary: Option<Amount>,
    interval: Option<&str>,
    currency: Option<&str>,
    mapping: &FieldMapping,
) -> Option<PayElement> {
    let salary = salary?;
    let (kind, period) = match interval.unwrap_or("per-year-salary") {
        "per-year-salary" => (PayKind::BaseSalary, Some(Period::Year)),
        "per-month-salary" => (PayKind::BaseSalary, Some(Period::Month)),
        "per-week-salary" => (PayKind::BaseSalary, Some(Period::Week)),
        "per-hour-wage" => (PayKind::HourlyWage, Some(Period::Hour)),
        _ => (PayKind::Other, None),
    };
    let annualized = period
        .and_then(|p| mapping.factor(p))
        .and_then(|f| annualize(salary.value, f));

    Some(PayElement {
        kind,
        unit: PayUnit::Currency,
        amount: salary.value,
        currency: salary.currency.or(currency.map(str::to_owned)),
        period: period.unwrap_or(Period::OneTime),
        annualized_amount: annualized,
        source_field: SALARY_AMOUNT.to_owned(),
    })
}

/// A pay element from a mapped custom field. `annual_base` is the offer's annualized base pay,
/// which a percent element is a share of.
pub fn mapped_element(
    identifier: &str,
    rule: &PayFieldRule,
    value: Amount,
    currency: Option<&str>,
    annual_base: Option<Decimal>,
    mapping: &FieldMapping,
) -> PayElement {
    let period = rule.period();
    let currency = match rule.unit {
        PayUnit::Shares => None,
        _ => value.currency.clone().or(currency.map(str::to_owned)),
    };
    let annualized = match rule.unit {
        PayUnit::Currency => mapping
            .factor(period)
            .and_then(|f| annualize(value.value, f)),
        PayUnit::Percent => {
            annual_base.and_then(|base| annualize(base, value.value / Decimal::ONE_HUNDRED))
        }
        PayUnit::Shares => None,
    };

    PayElement {
        kind: rule.kind,
        unit: rule.unit,
        amount: value.value,
        currency,
        period,
        annualized_amount: annualized,
        source_field: identifier.to_owned(),
    }
}

/// `amount × factor`, rounded; `None` when the product is beyond `Decimal`'s range (an absurd
/// value typed into Lever must not stop the tenant's sync).
fn annualize(amount: Decimal, factor: Decimal) -> Option<Decimal> {
    amount.checked_mul(factor).map(round)
}

/// Two decimal places, midpoint away from zero.
fn round(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).expect("decimal")
    }

    fn money(s: &str) -> Option<Amount> {
        Some(Amount {
            value: dec(s),
            currency: None,
        })
    }

    #[test]
    fn each_earnings_interval_annualizes_with_the_default_factor() {
        let mapping = FieldMapping::default();
        let cases = [
            (
                "per-year-salary",
                "85000",
                PayKind::BaseSalary,
                Period::Year,
                "85000.00",
            ),
            (
                "per-month-salary",
                "5000.50",
                PayKind::BaseSalary,
                Period::Month,
                "60006.00",
            ),
            (
                "per-week-salary",
                "1000",
                PayKind::BaseSalary,
                Period::Week,
                "52000.00",
            ),
            (
                "per-hour-wage",
                "27.50",
                PayKind::HourlyWage,
                Period::Hour,
                "57200.00",
            ),
        ];

        for (interval, amount, kind, period, annual) in cases {
            let el = base_pay(money(amount), Some(interval), Some("USD"), &mapping).expect("pay");
            assert_eq!((el.kind, el.period), (kind, period), "{interval}");
            assert_eq!(el.annualized_amount, Some(dec(annual)), "{interval}");
            assert_eq!(el.currency.as_deref(), Some("USD"));
        }
    }

    #[test]
    fn missing_interval_is_yearly_and_unknown_interval_is_other() {
        let mapping = FieldMapping::default();
        let yearly = base_pay(money("100"), None, None, &mapping).expect("pay");
        assert_eq!(
            (yearly.kind, yearly.period),
            (PayKind::BaseSalary, Period::Year)
        );

        let odd = base_pay(money("100"), Some("per-fortnight"), None, &mapping).expect("pay");
        assert_eq!((odd.kind, odd.annualized_amount), (PayKind::Other, None));
        assert_eq!(
            base_pay(None, Some("per-year-salary"), None, &mapping),
            None
        );
    }

    #[test]
    fn configured_hourly_factor_is_used() {
        let mut mapping = FieldMapping::default();
        mapping
            .annualization
            .insert(Period::Hour, Decimal::from(1950));
        let el = base_pay(money("20"), Some("per-hour-wage"), None, &mapping).expect("pay");
        assert_eq!(el.annualized_amount, Some(dec("39000.00")));
    }

    #[test]
    fn each_custom_unit_is_valued() {
        let mapping = FieldMapping::default();
        let rule = |kind, unit| PayFieldRule {
            kind,
            unit,
            period: None,
        };
        let base = Some(dec("100000"));

        let signing = mapped_element(
            "s",
            &rule(PayKind::SigningBonus, PayUnit::Currency),
            money("5000").expect("a"),
            Some("EUR"),
            base,
            &mapping,
        );
        assert_eq!(
            (signing.period, signing.annualized_amount),
            (Period::OneTime, None)
        );
        assert_eq!(signing.currency.as_deref(), Some("EUR"));

        let bonus = mapped_element(
            "b",
            &rule(PayKind::TargetBonus, PayUnit::Percent),
            money("15").expect("a"),
            Some("EUR"),
            base,
            &mapping,
        );
        assert_eq!(bonus.annualized_amount, Some(dec("15000.00")));

        let shares = mapped_element(
            "e",
            &rule(PayKind::Equity, PayUnit::Shares),
            money("1200").expect("a"),
            Some("EUR"),
            base,
            &mapping,
        );
        assert_eq!((shares.currency, shares.annualized_amount), (None, None));

        let commission = mapped_element(
            "c",
            &rule(PayKind::Commission, PayUnit::Currency),
            money("40000").expect("a"),
            Some("USD"),
            base,
            &mapping,
        );
        assert_eq!(commission.annualized_amount, Some(dec("40000.00")));
    }

    #[test]
    fn relocation_equity_value_and_other_kinds_keep_their_kind_and_period() {
        let mapping = FieldMapping::default();
        let cases = [
            (
                "custom_relocation",
                PayKind::Relocation,
                Period::OneTime,
                None,
            ),
            (
                "custom_equity_value",
                PayKind::Equity,
                Period::OneTime,
                None,
            ),
            (
                "custom_target_bonus",
                PayKind::TargetBonus,
                Period::Year,
                Some(dec("7000.00")),
            ),
            (
                "custom_ote",
                PayKind::Commission,
                Period::Year,
                Some(dec("7000.00")),
            ),
        ];

        for (identifier, kind, period, annualized) in cases {
            let rule = &mapping.offer_fields[identifier];
            let value = money("7000").expect("amount");
            let el = mapped_element(identifier, rule, value, Some("GBP"), None, &mapping);
            assert_eq!(
                (el.kind, el.period, el.annualized_amount),
                (kind, period, annualized)
            );
            assert_eq!(
                (el.unit, el.currency.as_deref()),
                (PayUnit::Currency, Some("GBP"))
            );
        }

        let other = PayFieldRule {
            kind: PayKind::Other,
            unit: PayUnit::Currency,
            period: Some(Period::Month),
        };
        let el = mapped_element(
            "custom_stipend",
            &other,
            money("100").expect("a"),
            None,
            None,
            &mapping,
        );
        assert_eq!(
            (el.kind, el.annualized_amount),
            (PayKind::Other, Some(dec("1200.00")))
        );
    }

    #[test]
    fn an_amount_too_large_to_annualize_keeps_no_annualized_amount() {
        let mapping = FieldMapping::default();
        let huge = money("79228162514264337593543950335");
        let el = base_pay(huge, Some("per-month-salary"), Some("USD"), &mapping).expect("pay");
        assert_eq!((el.kind, el.annualized_amount), (PayKind::BaseSalary, None));
    }

    #[test]
    fn percent_without_base_has_no_annualized_amount() {
        let mapping = FieldMapping::default();
        let rule = PayFieldRule {
            kind: PayKind::TargetBonus,
            unit: PayUnit::Percent,
            period: None,
        };
        let el = mapped_element("b", &rule, money("10").expect("a"), None, None, &mapping);
        assert_eq!(el.annualized_amount, None);
    }
}
