//! Reading a `[[target]]` table: its engine's own keys are gathered under `engine`, so that
//! serde reads them into that engine's variant of [`EngineKeys`] with the span of every key
//! and value intact; a key of another engine, or of none, is refused here, where it is
//! written, naming the engines that take it (or the keys this target may have).
//!
//! Why not `#[serde(tag = "engine")]` or `#[serde(flatten)]`: serde reads an internally
//! tagged or flattened enum by first buffering the table into its own `Content` tree, which
//! has no place for toml's spans, so every value read from the buffer loses its line and
//! column (`toml::Spanned` cannot even be read from it). toml's own form of an enum, a table
//! of one key (`engine = { exo = { nodes = 2 } }`), is read straight from the parse tree.
//! This module rewrites the flat form users write into that one on toml's parse tree
//! ([`toml::de::DeTable`]), before serde runs; the rest is ordinary derived deserialization.

use std::borrow::Cow;
use std::ops::Range;

use serde::de::{self, DeserializeOwned, Visitor};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::target::{
    CandleKeys, CommandKeys, EngineKind, ExoKeys, MfluxKeys, MlxLmKeys, OpenaiKeys, TargetTable,
};

/// Gather the engine keys of each `[[target]]` of `root` (the parsed suite) under its
/// `engine`; the keys that belong to no key set of their target, each with its span and why,
/// in file order. Tables whose `engine` cannot be read are left to serde's own messages.
pub(super) fn regroup(root: &mut DeTable<'_>) -> Vec<(Range<usize>, String)> {
    let mut problems = Vec::new();
    if let Some(DeValue::Array(targets)) = root.get_mut("target").map(Spanned::get_mut) {
        for target in targets.iter_mut() {
            if let DeValue::Table(table) = target.get_mut() {
                regroup_target(table, &mut problems);
            }
        }
    }
    problems.sort_by_key(|(span, _)| span.start);
    problems
}

/// The keys every target has, whatever its engine (`engine` among them).
fn common_keys() -> &'static [&'static str] {
    keys_of::<TargetTable>()
}

/// The keys only `engine` reads: its struct's fields.
fn engine_keys(engine: EngineKind) -> &'static [&'static str] {
    match engine {
        EngineKind::Candle => keys_of::<CandleKeys>(),
        EngineKind::MlxLm => keys_of::<MlxLmKeys>(),
        EngineKind::Exo => keys_of::<ExoKeys>(),
        EngineKind::Openai => keys_of::<OpenaiKeys>(),
        EngineKind::Mflux => keys_of::<MfluxKeys>(),
        EngineKind::Command => keys_of::<CommandKeys>(),
    }
}

/// The engines that read `key`, in documentation order.
fn engines_taking(key: &str) -> Vec<EngineKind> {
    EngineKind::ALL
        .into_iter()
        .filter(|&e| engine_keys(e).contains(&key))
        .collect()
}

fn regroup_target(table: &mut DeTable<'_>, problems: &mut Vec<(Range<usize>, String)>) {
    let common = common_keys();
    let engine = match table.get("engine") {
        Some(value) => match value.get_ref() {
            DeValue::String(name) => EngineKind::from_name(name),
            // toml would read a table as the enum form this module writes; users write a name.
            DeValue::Table(_) => {
                problems.push((
                    value.span(),
                    format!(
                        "`engine` is the engine's name, a string: one of {}",
                        EngineKind::ALL.map(|e| format!("\"{e}\"")).join(", ")
                    ),
                ));
                return;
            }
            _ => None,
        },
        None => None,
    };
    let names: Vec<String> = table
        .keys()
        .map(|key| key.get_ref().to_string())
        .filter(|key| !common.contains(&key.as_str()))
        .collect();
    let Some(engine) = engine else {
        // No engine to judge the other keys by: leave serde to say what is wrong with
        // `engine` (missing, unknown, not a string) rather than that some engine's key is
        // unexpected.
        for name in names.iter().filter(|n| !engines_taking(n).is_empty()) {
            table.remove(name.as_str());
        }
        return;
    };
    let own = engine_keys(engine);
    let mut keys = DeTable::new();
    for name in &names {
        if own.contains(&name.as_str()) {
            if let Some((key, value)) = table.remove_entry(name.as_str()) {
                keys.insert(key, value);
            }
            continue;
        }
        let Some((key, _)) = table.get_key_value(name.as_str()) else {
            continue;
        };
        let takers = engines_taking(name);
        let message = if takers.is_empty() {
            unknown_key(name, common.iter().chain(own))
        } else {
            misplaced_key(name, engine, &takers)
        };
        problems.push((key.span(), message));
    }
    if let Some(value) = table.get_mut("engine") {
        // The enum form takes the span of the engine's name, so that `target.engine.span`
        // points where the user wrote it.
        let span = value.span();
        let mut variant = DeTable::new();
        variant.insert(
            Spanned::new(span.clone(), Cow::Borrowed(engine.as_str())),
            Spanned::new(span.clone(), DeValue::Table(keys)),
        );
        *value = Spanned::new(span, DeValue::Table(variant));
    }
}

/// A key no engine reads, in serde's words for an unknown field, listing the keys this
/// target may have.
fn unknown_key<'a>(key: &str, allowed: impl Iterator<Item = &'a &'static str>) -> String {
    let allowed: Vec<String> = allowed.map(|k| format!("`{k}`")).collect();
    format!(
        "unknown field `{key}`, expected one of {}",
        allowed.join(", ")
    )
}

/// A key of other engines than the target's: which engines take it, and a word on what the
/// target's engine has instead where there is one.
fn misplaced_key(key: &str, engine: EngineKind, takers: &[EngineKind]) -> String {
    let names: Vec<String> = takers
        .iter()
        .map(|e| format!("`engine = \"{e}\"`"))
        .collect();
    let engines = match names.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    };
    let note = match (key, engine) {
        ("url", EngineKind::Candle) => " (the candle engine runs in-process)",
        ("server_device", EngineKind::Candle) => " (the candle engine's is `device`)",
        ("device", EngineKind::MlxLm | EngineKind::Openai) => " (a server's is `server_device`)",
        ("gguf", _) => " (a llama.cpp server, say)",
        _ => "",
    };
    format!("`{key}` is for {engines} targets{note}")
}

/// The keys a derived struct reads. serde_derive hands a struct's field names to
/// `deserialize_struct`; this deserializer keeps them and stops there, so that the keys of
/// each engine are written once, as its struct's fields.
fn keys_of<T: DeserializeOwned>() -> &'static [&'static str] {
    struct Fields<'a>(&'a mut &'static [&'static str]);

    impl<'de> de::Deserializer<'de> for Fields<'_> {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("only a struct's field names are read"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            self.deserialize_any(visitor)
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }

    let mut fields: &'static [&'static str] = &[];
    // The probe always ends in its own error, once the names are kept.
    let _ = T::deserialize(Fields(&mut fields));
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_engine_has_its_keys_and_no_engine_a_common_one() {
        assert_eq!(
            common_keys(),
            ["name", "engine", "model", "dtype", "seed", "task"]
        );
        assert_eq!(engine_keys(EngineKind::Candle), ["device"]);
        assert!(engine_keys(EngineKind::Exo).contains(&"nodes"));
        assert!(engine_keys(EngineKind::Command).is_empty());
        for engine in EngineKind::ALL {
            for key in engine_keys(engine) {
                assert!(!common_keys().contains(key), "{engine}: {key}");
            }
        }
    }

    #[test]
    fn a_key_of_several_engines_names_them_all() {
        assert_eq!(
            misplaced_key(
                "startup_timeout_s",
                EngineKind::Candle,
                &engines_taking("startup_timeout_s")
            ),
            "`startup_timeout_s` is for `engine = \"mlx-lm\"` and `engine = \"exo\"` targets"
        );
        assert_eq!(
            misplaced_key("url", EngineKind::Candle, &engines_taking("url")),
            "`url` is for `engine = \"mlx-lm\"`, `engine = \"exo\"` and `engine = \"openai\"` targets (the candle engine runs in-process)"
        );
    }
}
