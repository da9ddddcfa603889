//! The prompt keys of an llm workload: `prompt_tokens` as lengths to sweep or a distribution
//! to draw from (`{ dist = "lognormal", mean = 512, sd = 128 }`), `prompts` (a user's prompt
//! file) and `prompt_order` (their checks: [`super::check_prompts`]).

use std::borrow::Cow;
use std::fmt;

use bench_workloads::prompts::LengthDist;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::values::Grid;

/// `prompt_tokens`: exact lengths (one, or a list swept case by case), or a distribution each
/// request's length is drawn from (seeded by the workload's `seed`).
#[derive(Debug, Clone, PartialEq)]
pub enum PromptLengths {
    /// Exact lengths, swept.
    Swept(Grid),
    /// Lengths drawn per request.
    Drawn(LengthDist),
}

impl PromptLengths {
    /// The swept lengths; none for a distribution.
    pub fn values(&self) -> &[u32] {
        match self {
            PromptLengths::Swept(grid) => grid.values(),
            PromptLengths::Drawn(_) => &[],
        }
    }
}

impl Serialize for PromptLengths {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            PromptLengths::Swept(grid) => grid.serialize(serializer),
            PromptLengths::Drawn(dist) => dist.serialize(serializer),
        }
    }
}

/// The keys of a distribution table, any of which may be given; which belong to which
/// distribution is checked after.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DistTable {
    dist: String,
    tokens: Option<u32>,
    min: Option<u32>,
    max: Option<u32>,
    mean: Option<f64>,
    sd: Option<f64>,
}

/// What a distribution table may hold, for error messages.
const DISTS: &str = "{ dist = \"lognormal\", mean = 512, sd = 128 }, { dist = \"uniform\", min = 128, max = 1024 } or { dist = \"fixed\", tokens = 512 }";

impl DistTable {
    fn dist<E: de::Error>(self) -> Result<LengthDist, E> {
        let given: Vec<&str> = [
            ("tokens", self.tokens.is_some()),
            ("min", self.min.is_some()),
            ("max", self.max.is_some()),
            ("mean", self.mean.is_some()),
            ("sd", self.sd.is_some()),
        ]
        .into_iter()
        .filter(|(_, set)| *set)
        .map(|(k, _)| k)
        .collect();
        let only = |keys: &[&str]| -> Result<(), E> {
            match given.iter().find(|k| !keys.contains(k)) {
                Some(k) => Err(E::custom(format!(
                    "`{k}` is not a key of dist = \"{}\"; it takes {}",
                    self.dist,
                    keys.iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ))),
                None => Ok(()),
            }
        };
        let need = |key: &str| E::custom(format!("dist = \"{}\" needs `{key}`", self.dist));
        let dist = match self.dist.as_str() {
            "fixed" => {
                only(&["tokens"])?;
                LengthDist::Fixed {
                    tokens: self.tokens.ok_or_else(|| need("tokens"))?,
                }
            }
            "uniform" => {
                only(&["min", "max"])?;
                LengthDist::Uniform {
                    min: self.min.ok_or_else(|| need("min"))?,
                    max: self.max.ok_or_else(|| need("max"))?,
                }
            }
            "lognormal" => {
                only(&["mean", "sd"])?;
                LengthDist::Lognormal {
                    mean: self.mean.ok_or_else(|| need("mean"))?,
                    sd: self.sd.ok_or_else(|| need("sd"))?,
                }
            }
            other => {
                return Err(E::custom(format!(
                    "`{other}` is not a length distribution; use {DISTS}"
                )))
            }
        };
        match dist.problem() {
            Some(problem) => Err(E::custom(problem)),
            None => Ok(dist),
        }
    }
}

impl<'de> Deserialize<'de> for PromptLengths {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LengthsVisitor;

        impl<'de> Visitor<'de> for LengthsVisitor {
            type Value = PromptLengths;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(
                    f,
                    "a positive integer, a non-empty list of them, or a distribution: {DISTS}"
                )
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PromptLengths, E> {
                Grid::deserialize(de::value::I64Deserializer::new(v)).map(PromptLengths::Swept)
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PromptLengths, E> {
                Grid::deserialize(de::value::U64Deserializer::new(v)).map(PromptLengths::Swept)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<PromptLengths, A::Error> {
                Grid::deserialize(de::value::SeqAccessDeserializer::new(seq))
                    .map(PromptLengths::Swept)
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<PromptLengths, A::Error> {
                let table = DistTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                // A fixed length is one exact length, as a plain number is.
                match table.dist()? {
                    LengthDist::Fixed { tokens } => {
                        Ok(PromptLengths::Swept(Grid::of(vec![tokens])))
                    }
                    dist => Ok(PromptLengths::Drawn(dist)),
                }
            }
        }

        deserializer.deserialize_any(LengthsVisitor)
    }
}

impl JsonSchema for PromptLengths {
    fn schema_name() -> Cow<'static, str> {
        "PromptLengths".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let grid = generator.subschema_for::<Grid>();
        json_schema!({
            "description": "Exact prompt lengths in tokens (one, or a list to sweep over), or a distribution each request's length is drawn from, seeded by the workload's `seed`.",
            "oneOf": [
                grid,
                {
                    "type": "object",
                    "properties": {
                        "dist": { "const": "lognormal" },
                        "mean": { "type": "number", "minimum": 1 },
                        "sd": { "type": "number", "minimum": 0 }
                    },
                    "required": ["dist", "mean", "sd"],
                    "additionalProperties": false
                },
                {
                    "type": "object",
                    "properties": {
                        "dist": { "const": "uniform" },
                        "min": { "type": "integer", "minimum": 1 },
                        "max": { "type": "integer", "minimum": 1 }
                    },
                    "required": ["dist", "min", "max"],
                    "additionalProperties": false
                },
                {
                    "type": "object",
                    "properties": {
                        "dist": { "const": "fixed" },
                        "tokens": { "type": "integer", "minimum": 1 }
                    },
                    "required": ["dist", "tokens"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

/// In what order a prompt file's prompts are sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PromptOrder {
    /// The file's order, from its first prompt, starting over at its end.
    #[default]
    InOrder,
    /// Drawn at random (with replacement), seeded by the workload's `seed`.
    Random,
}
