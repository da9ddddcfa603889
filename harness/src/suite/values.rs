//! Value types of the suite format that check themselves while they are read, so that a
//! bad value is reported with the exact span of the value in the file.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A value together with the byte range it came from in the suite file, so that checks made
/// after parsing (duplicate names, engine availability) can still point at line and column.
#[derive(Debug, Clone)]
pub struct At<T> {
    /// The value as parsed.
    pub value: T,
    /// Byte range of the value in the suite's source text.
    pub span: Range<usize>,
}

impl<T> At<T> {
    /// A value with no position (built in code, not read from a file).
    pub fn detached(value: T) -> Self {
        Self { value, span: 0..0 }
    }
}

impl<T> std::ops::Deref for At<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for At<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = toml::Spanned::<T>::deserialize(deserializer)?;
        let span = spanned.span();
        Ok(Self {
            value: spanned.into_inner(),
            span,
        })
    }
}

impl<T: Serialize> Serialize for At<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

impl<T: JsonSchema> JsonSchema for At<T> {
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

/// A parameter that may be swept: one positive integer, or a non-empty list of distinct
/// positive integers (`prompt_tokens = 512` or `prompt_tokens = [128, 512]`). Each list
/// entry becomes its own case in the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grid(Vec<u32>);

impl Grid {
    /// A grid of the given values (callers guarantee they are positive and distinct).
    pub fn of(values: Vec<u32>) -> Self {
        Self(values)
    }

    /// The values in the order the suite gave them.
    pub fn values(&self) -> &[u32] {
        &self.0
    }
}

impl Serialize for Grid {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => serializer.serialize_u32(*one),
            many => many.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Grid {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct GridVisitor;

        impl<'de> Visitor<'de> for GridVisitor {
            type Value = Grid;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a positive integer or a non-empty list of positive integers")
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Grid, E> {
                Ok(Grid(vec![positive(v)?]))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Grid, E> {
                Ok(Grid(vec![positive(v as i64)?]))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Grid, A::Error> {
                sweep_list(seq, positive::<A::Error>, "positive integer").map(Grid)
            }
        }

        deserializer.deserialize_any(GridVisitor)
    }
}

impl JsonSchema for Grid {
    fn schema_name() -> Cow<'static, str> {
        "Grid".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "One positive integer, or a list of distinct positive integers to sweep over.",
            "oneOf": [
                { "type": "integer", "minimum": 1, "maximum": u32::MAX },
                {
                    "type": "array",
                    "items": { "type": "integer", "minimum": 1, "maximum": u32::MAX },
                    "minItems": 1,
                    "uniqueItems": true
                }
            ]
        })
    }
}

/// Swept context depths in tokens: one count, or a non-empty list of distinct counts
/// (`depth = [0, 4096, 16384]`); unlike a [`Grid`], 0 (an empty cache) is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Depths(Vec<u32>);

impl Depths {
    /// The values in the order the suite gave them.
    pub fn values(&self) -> &[u32] {
        &self.0
    }
}

impl Serialize for Depths {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => serializer.serialize_u32(*one),
            many => many.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Depths {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DepthsVisitor;

        impl<'de> Visitor<'de> for DepthsVisitor {
            type Value = Depths;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number of tokens (0 or more) or a non-empty list of them")
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Depths, E> {
                Ok(Depths(vec![tokens(v)?]))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Depths, E> {
                Ok(Depths(vec![tokens(i64::try_from(v).unwrap_or(i64::MAX))?]))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Depths, A::Error> {
                sweep_list(seq, tokens::<A::Error>, "number of tokens").map(Depths)
            }
        }

        deserializer.deserialize_any(DepthsVisitor)
    }
}

impl JsonSchema for Depths {
    fn schema_name() -> Cow<'static, str> {
        "Depths".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Tokens of context already in the cache: one count (0 or more), or a list of distinct counts to sweep over.",
            "oneOf": [
                { "type": "integer", "minimum": 0, "maximum": u32::MAX },
                {
                    "type": "array",
                    "items": { "type": "integer", "minimum": 0, "maximum": u32::MAX },
                    "minItems": 1,
                    "uniqueItems": true
                }
            ]
        })
    }
}

fn tokens<E: de::Error>(v: i64) -> Result<u32, E> {
    if v < 0 {
        return Err(E::custom(format!(
            "{v} is not allowed here; a depth is 0 or more tokens"
        )));
    }
    u32::try_from(v).map_err(|_| {
        E::custom(format!(
            "{v} is too large; the most allowed is {}",
            u32::MAX
        ))
    })
}

/// The entries of a swept list, each read as `T` and checked by `check`: distinct, and at
/// least one (`what` names an entry in the message).
fn sweep_list<'de, A, T, V>(
    mut seq: A,
    check: impl Fn(T) -> Result<V, A::Error>,
    what: &str,
) -> Result<Vec<V>, A::Error>
where
    A: SeqAccess<'de>,
    T: Deserialize<'de>,
    V: PartialEq + fmt::Display,
{
    let mut values = Vec::new();
    while let Some(v) = seq.next_element::<T>()? {
        let v = check(v)?;
        if values.contains(&v) {
            return Err(de::Error::custom(format!(
                "{v} appears twice in the list; each value must be distinct"
            )));
        }
        values.push(v);
    }
    if values.is_empty() {
        return Err(de::Error::custom(format!(
            "the list is empty; give at least one {what}"
        )));
    }
    Ok(values)
}

fn positive<E: de::Error>(v: i64) -> Result<u32, E> {
    if v < 1 {
        return Err(E::custom(format!(
            "{v} is not allowed here; use a positive integer (1 or more)"
        )));
    }
    u32::try_from(v).map_err(|_| {
        E::custom(format!(
            "{v} is too large; the most allowed is {}",
            u32::MAX
        ))
    })
}

/// A swept rate: one positive number, a non-empty list of distinct positive numbers
/// (`rate = 2` or `rate = [0.5, 1, 4]`), or `"search"`: bench looks for the highest rate the
/// server sustains within the workload's `slo` (see [`crate::rate_search`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Rates {
    /// The rates to sweep, in the order the suite gave them.
    Fixed(Vec<f64>),
    /// `rate = "search"`.
    Search,
}

/// The word that asks for a rate search.
const SEARCH: &str = "search";

impl Rates {
    /// The rates to sweep in the order the suite gave them; none for a search, whose rates
    /// are chosen while it runs.
    pub fn values(&self) -> &[f64] {
        match self {
            Rates::Fixed(values) => values,
            Rates::Search => &[],
        }
    }

    /// Whether this is `rate = "search"`.
    pub fn is_search(&self) -> bool {
        matches!(self, Rates::Search)
    }
}

impl Serialize for Rates {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Rates::Search => serializer.serialize_str(SEARCH),
            Rates::Fixed(values) => match values.as_slice() {
                [one] => serializer.serialize_f64(*one),
                many => many.serialize(serializer),
            },
        }
    }
}

impl<'de> Deserialize<'de> for Rates {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RatesVisitor;

        impl<'de> Visitor<'de> for RatesVisitor {
            type Value = Rates;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a positive number, a non-empty list of positive numbers, or \"search\"",
                )
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Rates, E> {
                self.visit_f64(v as f64)
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Rates, E> {
                self.visit_f64(v as f64)
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Rates, E> {
                Ok(Rates::Fixed(vec![positive_number(v)?]))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Rates, E> {
                if v == SEARCH {
                    return Ok(Rates::Search);
                }
                Err(E::custom(format!(
                    "`{v}` is not a rate; use requests per second (a number above 0 or a list of them), or \"search\" to find the highest rate that meets `slo`"
                )))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Rates, A::Error> {
                sweep_list(seq, positive_number::<A::Error>, "positive number").map(Rates::Fixed)
            }
        }

        deserializer.deserialize_any(RatesVisitor)
    }
}

impl JsonSchema for Rates {
    fn schema_name() -> Cow<'static, str> {
        "Rates".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "One positive number, a list of distinct positive numbers to sweep over, or \"search\" to find the highest rate that meets the workload's `slo`.",
            "oneOf": [
                { "type": "number", "exclusiveMinimum": 0 },
                {
                    "type": "array",
                    "items": { "type": "number", "exclusiveMinimum": 0 },
                    "minItems": 1,
                    "uniqueItems": true
                },
                { "const": "search" }
            ]
        })
    }
}

/// A finite number above zero.
pub fn positive_number<E: de::Error>(v: f64) -> Result<f64, E> {
    if !(v.is_finite() && v > 0.0) {
        return Err(E::custom(format!(
            "{v} is not allowed here; use a number above 0"
        )));
    }
    Ok(v)
}

/// A finite number of seconds above zero.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, JsonSchema)]
#[schemars(transparent)]
pub struct Seconds(#[schemars(range(min = 0))] pub f64);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        positive_number(f64::deserialize(deserializer)?).map(Seconds)
    }
}

/// An integer that must be at least 1 (repetitions, intervals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[schemars(transparent)]
pub struct Positive(#[schemars(range(min = 1))] pub u32);

impl<'de> Deserialize<'de> for Positive {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(deserializer)?;
        positive(v).map(Positive)
    }
}

/// A name used as an identifier in case ids and file names: letters, digits, `-`, `_`, `.`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, JsonSchema)]
#[schemars(transparent)]
pub struct Name(
    #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"), length(max = 64))] pub String,
);

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        let valid_start = s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
        let valid_rest = s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !valid_start || !valid_rest || s.len() > 64 {
            return Err(de::Error::custom(format!(
                "`{s}` is not a valid name; use 1 to 64 letters, digits, `-`, `_` or `.`, starting with a letter or digit"
            )));
        }
        Ok(Name(s))
    }
}

impl<T: Default> Default for At<T> {
    fn default() -> Self {
        Self::detached(T::default())
    }
}
