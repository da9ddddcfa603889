//! JSON: the comparison (and the gate's counts) as one document, every figure unrounded.

use super::{Exporter, Verdicts};

/// The JSON exporter.
pub struct Json;

impl Exporter for Json {
    fn render(&self, verdicts: Verdicts) -> String {
        let value = match verdicts.gate {
            Some(gate) => serde_json::to_value(gate),
            None => serde_json::to_value(verdicts.comparison),
        };
        let mut text = value
            .and_then(|v| serde_json::to_string_pretty(&v))
            .unwrap_or_else(|e| format!("{{\"error\": \"cannot encode: {e}\"}}"));
        text.push('\n');
        text
    }
}
