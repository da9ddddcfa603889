//! JSON: the comparison (and the gate's counts) as one document, every figure unrounded, with
//! the roofline figures of the cases both runs have them for under `roofline`.

use super::{Exporter, Verdicts};

/// The JSON exporter.
pub struct Json;

impl Exporter for Json {
    fn render(&self, verdicts: Verdicts) -> String {
        let value = match verdicts.gate {
            Some(gate) => serde_json::to_value(gate),
            None => serde_json::to_value(verdicts.comparison),
        }
        .map(|mut v| {
            if let Some(object) = v.as_object_mut() {
                if let Ok(r) = serde_json::to_value(verdicts.rooflines) {
                    object.insert("roofline".into(), r);
                }
            }
            v
        });
        let mut text = value
            .and_then(|v| serde_json::to_string_pretty(&v))
            .unwrap_or_else(|e| format!("{{\"error\": \"cannot encode: {e}\"}}"));
        text.push('\n');
        text
    }
}
