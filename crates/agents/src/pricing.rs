//! What tokens cost, from the one price table in `data/prices.json`, for
//! agents that report token counts but no cost.

use std::collections::BTreeMap;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize)]
pub struct Price {
    /// US dollars per million input tokens.
    pub input: f64,
    /// US dollars per million output tokens.
    pub output: f64,
}

const TABLE: &str = include_str!("../data/prices.json");

fn table() -> &'static BTreeMap<String, Price> {
    static PRICES: OnceLock<BTreeMap<String, Price>> = OnceLock::new();
    PRICES.get_or_init(|| {
        let raw: BTreeMap<String, serde_json::Value> =
            serde_json::from_str(TABLE).unwrap_or_default();
        raw.into_iter()
            .filter_map(|(model, price)| Some((model, serde_json::from_value(price).ok()?)))
            .collect()
    })
}

/// The price of `model`: the entry with the longest key it starts with.
pub fn price(model: &str) -> Option<Price> {
    table()
        .iter()
        .filter(|(prefix, _)| model.starts_with(prefix.as_str()))
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, price)| *price)
}

/// The cost in US dollars of these tokens on `model`, if its price is known.
pub fn cost_usd(model: &str, input_tokens: u64, output_tokens: u64) -> Option<f64> {
    let price = price(model)?;
    Some((input_tokens as f64 * price.input + output_tokens as f64 * price.output) / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_parses_and_the_longest_prefix_wins() {
        assert!(table().len() > 5);
        assert_eq!(price("gpt-5-mini-2025").unwrap().input, 0.25);
        assert_eq!(price("gpt-5.1").unwrap().input, 1.25);
        assert!(price("unknown-model").is_none());
        let cost = cost_usd("claude-sonnet-4-5", 1_000_000, 100_000).unwrap();
        assert!((cost - 4.5).abs() < 1e-9, "{cost}");
    }
}
