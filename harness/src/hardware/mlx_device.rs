//! The Apple GPU as MLX sees it: `mx.metal.device_info()`'s `architecture` (`applegpu_g17s`),
//! which tells the GPU generation, and from it whether the GPU has matrix units (M5's Neural
//! Accelerators, generation 17). Whether an engine's kernels use them is another matter:
//! MLX reports the architecture, not that, so it stays "not reported".

use serde::{Deserialize, Serialize};

/// The Python bench runs to ask MLX: one line of JSON, `{"mlx": version, "device_info":
/// {...}}`, or `{"error": why}` when MLX does not import.
pub const SCRIPT: &str = r#"import json
try:
    import mlx.core as mx
    info = mx.device_info() if hasattr(mx, "device_info") else mx.metal.device_info()
    info = {k: v if isinstance(v, (int, float, str, bool)) else str(v) for k, v in info.items()}
    print(json.dumps({"mlx": getattr(mx, "__version__", None), "device_info": info}))
except Exception as e:
    print(json.dumps({"error": str(e)}))
"#;

/// What is said of matrix-unit use when no engine reports it.
pub const NOT_REPORTED: &str = "not reported";

/// The GPU's matrix units and who said what about them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatrixUnits {
    /// The GPU architecture MLX reports (`applegpu_g17s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    /// Who reported it (`mlx 0.30.1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_by: Option<String>,
    /// Whether the GPU has matrix units: from the architecture's generation (17: M5's Neural
    /// Accelerators; 13–16, M1–M4: none), else from the chip's name (an M5), else unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present: Option<bool>,
    /// Whether an engine uses them, as an engine reports it; [`NOT_REPORTED`] when none does.
    pub used: String,
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    mlx: Option<String>,
    #[serde(default)]
    device_info: Option<serde_json::Value>,
}

/// Read the script's output; none when MLX did not answer with an architecture.
pub fn parse(text: &str) -> Option<MatrixUnits> {
    let line = text
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))?;
    let answer: Answer = serde_json::from_str(line).ok()?;
    let architecture = answer
        .device_info?
        .get("architecture")?
        .as_str()?
        .trim()
        .to_string();
    Some(MatrixUnits {
        present: present_in(generation(&architecture)),
        reported_by: Some(match answer.mlx {
            Some(v) => format!("mlx {v} (mx.metal.device_info)"),
            None => "mlx (mx.metal.device_info)".into(),
        }),
        architecture: Some(architecture),
        used: NOT_REPORTED.into(),
    })
}

/// The generation number of an architecture name: `applegpu_g17s` → 17.
pub fn generation(architecture: &str) -> Option<u32> {
    let rest = architecture.strip_prefix("applegpu_g")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Whether a generation has matrix units: 17 (M5) does, 13–16 (M1–M4) do not; later ones
/// are not known here.
fn present_in(generation: Option<u32>) -> Option<bool> {
    match generation? {
        17 => Some(true),
        13..=16 => Some(false),
        _ => None,
    }
}

/// Without MLX's word: an M5 chip (its brand string) has them, per Apple's M5 announcements;
/// an M1–M4 has none; anything else is unknown.
pub fn from_chip(brand: &str) -> MatrixUnits {
    let present = if brand.starts_with("Apple M5") {
        Some(true)
    } else if ["Apple M1", "Apple M2", "Apple M3", "Apple M4"]
        .iter()
        .any(|p| brand.starts_with(p))
    {
        Some(false)
    } else {
        None
    };
    MatrixUnits {
        present,
        used: NOT_REPORTED.into(),
        ..MatrixUnits::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_answer() {
        let m = parse(include_str!(
            "../../tests/fixtures/hw/mlx_device_info_m5_documented.json"
        ))
        .expect("an answer");
        assert_eq!(m.architecture.as_deref(), Some("applegpu_g17s"));
        assert_eq!(m.present, Some(true));
        assert_eq!(m.used, NOT_REPORTED);
        assert_eq!(
            m.reported_by.as_deref(),
            Some("mlx 0.30.1 (mx.metal.device_info)")
        );
        assert_eq!(generation("applegpu_g16s"), Some(16));
        assert_eq!(generation("gfx1100"), None);
    }

    #[test]
    fn no_mlx_is_no_answer_and_the_chip_name_still_tells_presence() {
        assert_eq!(parse(r#"{"error": "No module named 'mlx'"}"#), None);
        assert_eq!(parse("Traceback (most recent call last):"), None);
        assert_eq!(from_chip("Apple M5 Max").present, Some(true));
        assert_eq!(from_chip("Apple M4 Max").present, Some(false));
        assert_eq!(from_chip("Intel(R) Xeon(R) Processor").present, None);
    }
}
