//! The hardware table (`harness/data/hardware.toml`): chips and GPUs with their memory
//! bandwidth and matrix throughput, each figure with its source. The file is compiled into the
//! binary; it is still a file people edit, so a mistake in it is reported with its line.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::suite::Problem;

/// The table as shipped, read at compile time.
pub const BUILTIN: &str = include_str!("../../data/hardware.toml");

/// Where [`BUILTIN`] lives in the repository, for error messages.
pub const BUILTIN_PATH: &str = "harness/data/hardware.toml";

/// Why the table could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// The text is not valid TOML, does not fit the format, or breaks a rule of the table
    /// (a figure without a source, a duplicate id).
    #[error("{0}")]
    Invalid(Box<Problem>),
}

/// Who made a chip; decides how it is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    /// Apple Silicon: matched by the CPU brand string and GPU core count.
    Apple,
    /// NVIDIA GPUs: matched by the name NVML gives.
    Nvidia,
}

/// How far a figure can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Confidence {
    /// The vendor's own published figure.
    Vendor,
    /// Arithmetic on vendor figures (the note says how).
    Derived,
    /// A named third party's measurement or estimate.
    ThirdParty,
    /// No figure.
    Unknown,
}

/// One figure of a row, with where it comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figure {
    /// The figure, or none where nobody published one (then `note` says why).
    #[serde(default)]
    pub value: Option<f64>,
    /// Which inputs and accumulator a throughput is for (`BF16/FP16 in, FP32 accumulate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<String>,
    /// Where the value comes from: a vendor page or a named measurement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// How far it can be trusted.
    pub confidence: Confidence,
    /// How it was derived, or why there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One chip or GPU (or one bin of it, where bins differ in a figure).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Stable id, recorded in run manifests.
    pub id: String,
    /// Who made it.
    pub vendor: Vendor,
    /// Name for people.
    pub name: String,
    /// Apple: `sysctl machdep.cpu.brand_string`, exactly.
    pub brand: Option<String>,
    /// NVIDIA: the names NVML gives, exactly.
    pub nvml_names: Vec<String>,
    /// GPU core counts the row covers (Apple GPU cores; NVIDIA SMs).
    pub gpu_cores: Vec<u32>,
    /// Memory sizes offered, GB.
    pub memory_gb: Vec<u32>,
    /// Where `gpu_cores` and `memory_gb` come from.
    pub specs_source: String,
    /// Anything else a reader needs.
    pub note: Option<String>,
    /// Memory bandwidth, GB/s.
    pub bandwidth: Figure,
    /// Dense FP16/BF16 matrix throughput of the GPU, TFLOP/s.
    pub matrix: Figure,
}

/// Every row of the table.
#[derive(Debug, Clone)]
pub struct Table {
    /// Rows in file order.
    pub rows: Vec<Row>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    #[serde(default)]
    chip: Vec<RawRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRow {
    id: Spanned<String>,
    vendor: Vendor,
    name: String,
    #[serde(default)]
    brand: Option<String>,
    #[serde(default)]
    nvml_names: Vec<String>,
    gpu_cores: Spanned<Vec<u32>>,
    memory_gb: Vec<u32>,
    specs_source: Spanned<String>,
    #[serde(default)]
    note: Option<String>,
    bandwidth: Spanned<Figure>,
    matrix: Spanned<Figure>,
}

impl Table {
    /// The table compiled into this binary.
    pub fn builtin() -> Result<Self, TableError> {
        Self::parse(BUILTIN, Path::new(BUILTIN_PATH))
    }

    /// Parse table text; `file` names it in errors.
    pub fn parse(source: &str, file: &Path) -> Result<Self, TableError> {
        let problem = |span: Range<usize>, message: String| {
            TableError::Invalid(Box::new(Problem::at(file, source, span, message)))
        };
        let raw: RawTable = toml::from_str(source)
            .map_err(|e| TableError::Invalid(Box::new(Problem::from_toml(file, source, &e))))?;
        let mut ids = BTreeSet::new();
        let mut rows = Vec::with_capacity(raw.chip.len());
        for r in raw.chip {
            let id = r.id.get_ref().clone();
            if !ids.insert(id.clone()) {
                return Err(problem(r.id.span(), format!("id `{id}` is used twice")));
            }
            match r.vendor {
                Vendor::Apple if r.brand.as_deref().is_none_or(str::is_empty) => {
                    return Err(problem(
                        r.id.span(),
                        format!(
                            "Apple row `{id}` needs `brand` (the CPU brand string) to be matched"
                        ),
                    ));
                }
                Vendor::Nvidia if r.nvml_names.is_empty() => {
                    return Err(problem(
                        r.id.span(),
                        format!("NVIDIA row `{id}` needs `nvml_names` to be matched"),
                    ));
                }
                _ => {}
            }
            if r.gpu_cores.get_ref().is_empty() {
                return Err(problem(
                    r.gpu_cores.span(),
                    format!("row `{id}`: gpu_cores lists no core count"),
                ));
            }
            if r.specs_source.get_ref().trim().is_empty() {
                return Err(problem(
                    r.specs_source.span(),
                    format!("row `{id}`: specs_source is empty"),
                ));
            }
            for (name, figure) in [("bandwidth", &r.bandwidth), ("matrix", &r.matrix)] {
                check_figure(figure.get_ref())
                    .map_err(|why| problem(figure.span(), format!("row `{id}`, {name}: {why}")))?;
            }
            rows.push(Row {
                id,
                vendor: r.vendor,
                name: r.name,
                brand: r.brand,
                nvml_names: r.nvml_names,
                gpu_cores: r.gpu_cores.into_inner(),
                memory_gb: r.memory_gb,
                specs_source: r.specs_source.into_inner(),
                note: r.note,
                bandwidth: r.bandwidth.into_inner(),
                matrix: r.matrix.into_inner(),
            });
        }
        Ok(Self { rows })
    }

    /// The row with this id.
    pub fn row(&self, id: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.id == id)
    }
}

/// The rules every figure keeps: a value has a source and a confidence; no value has a note
/// saying why.
fn check_figure(f: &Figure) -> Result<(), String> {
    let blank = |s: &Option<String>| s.as_deref().is_none_or(|s| s.trim().is_empty());
    match f.value {
        Some(v) if !(v.is_finite() && v > 0.0) => Err(format!("value must be positive, not {v}")),
        Some(_) if blank(&f.source) => Err("a value needs its `source`".into()),
        Some(_) if f.confidence == Confidence::Unknown => {
            Err("a value needs a confidence other than \"unknown\"".into())
        }
        None if blank(&f.note) => Err("without a value, `note` must say why there is none".into()),
        None if f.confidence != Confidence::Unknown => {
            Err("without a value, confidence is \"unknown\"".into())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_table_parses_and_every_figure_has_a_source_or_a_reason() {
        let table = Table::builtin().unwrap_or_else(|e| panic!("{e}"));
        assert!(table.rows.len() >= 25, "{} rows", table.rows.len());
        for row in &table.rows {
            assert!(!row.specs_source.trim().is_empty(), "{}", row.id);
            for f in [&row.bandwidth, &row.matrix] {
                match f.value {
                    Some(_) => assert!(f.source.is_some(), "{}", row.id),
                    None => assert!(f.note.is_some(), "{}", row.id),
                }
            }
            // Throughput is only useful with what it was measured in.
            if row.matrix.value.is_some() {
                assert!(row.matrix.precision.is_some(), "{}", row.id);
            }
        }
    }

    #[test]
    fn the_table_covers_what_issue_16_names() {
        let table = Table::builtin().unwrap_or_else(|e| panic!("{e}"));
        for id in [
            "apple-m1",
            "apple-m1-ultra",
            "apple-m2-ultra",
            "apple-m3-max-30c",
            "apple-m3-ultra",
            "apple-m4-max-32c",
            "apple-m4-max-40c",
            "apple-m5",
            "nvidia-h100-sxm",
            "nvidia-h100-pcie",
            "nvidia-h200-sxm",
            "nvidia-a100-sxm4-80gb",
            "nvidia-l40s",
            "nvidia-rtx-4090",
            "nvidia-rtx-5090",
        ] {
            assert!(table.row(id).is_some(), "no row {id}");
        }
    }

    fn error_of(text: &str) -> String {
        match Table::parse(text, Path::new("hw.toml")) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => e.to_string(),
        }
    }

    const ROW: &str = r#"
[[chip]]
id = "x"
vendor = "nvidia"
name = "X"
nvml_names = ["X"]
gpu_cores = [1]
memory_gb = [1]
specs_source = "datasheet"
matrix = { confidence = "unknown", note = "none published" }
"#;

    #[test]
    fn a_figure_without_a_source_is_refused_at_its_line() {
        let text = format!("{ROW}bandwidth = {{ value = 10, confidence = \"vendor\" }}\n");
        let e = error_of(&text);
        assert!(e.contains("hw.toml:11"), "{e}");
        assert!(e.contains("needs its `source`"), "{e}");
    }

    #[test]
    fn a_missing_figure_without_a_reason_is_refused() {
        let text = format!("{ROW}bandwidth = {{ confidence = \"unknown\" }}\n");
        assert!(error_of(&text).contains("`note` must say why"));
    }

    #[test]
    fn duplicate_ids_and_unknown_keys_are_refused_with_their_line() {
        let one =
            format!("{ROW}bandwidth = {{ value = 1, source = \"s\", confidence = \"vendor\" }}\n");
        let e = error_of(&format!("{one}{one}"));
        assert!(e.contains("used twice") && e.contains("hw.toml:14"), "{e}");
        let e = error_of(&format!("{one}bandwith_gbs = 3\n"));
        assert!(
            e.contains("bandwith_gbs") && e.contains("hw.toml:12"),
            "{e}"
        );
    }
}
