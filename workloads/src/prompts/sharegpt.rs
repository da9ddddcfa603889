//! The ShareGPT JSON layout: one array of entries, each
//! `{"conversations": [{"from": "human", "value": "…"}, {"from": "gpt", "value": "…"}, …]}`
//! (other keys ignored; `max_tokens` on an entry is kept). An entry's prompt is its first
//! user turn (`from` = `human` or `user`); entries with none are skipped and counted, as
//! ShareGPT dumps hold some. serde_json gives no positions of values, so the entries' lines
//! come from a scan of the text for where each top-level element begins.

use serde_json::Value;

use super::item::{max_tokens, prompt_text, DatasetItem};

/// What a ShareGPT entry may hold, for error messages.
const ALLOWED: &str = "a ShareGPT file is a JSON array of {\"conversations\": [{\"from\": \"human\", \"value\": \"<text>\"}, ...]} (a JSON Lines file holds one {\"prompt\": ...} object a line instead)";

/// The prompts of ShareGPT text and the lines of the entries skipped; an error is
/// (line, message).
pub(super) fn read(text: &str) -> Result<(Vec<DatasetItem>, Vec<u32>), (usize, String)> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| (e.line().max(1), format!("not valid JSON ({e}); {ALLOWED}")))?;
    let Value::Array(entries) = value else {
        return Err((1, format!("not a JSON array; {ALLOWED}")));
    };
    let starts = element_starts(text);
    let line_of = |i: usize| {
        starts
            .get(i)
            .map_or(1, |&at| text[..at].matches('\n').count() + 1)
    };
    let mut items = Vec::new();
    let mut skipped = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let line = line_of(i);
        let located = |m: String| (line, format!("entry {}: {m}", i + 1));
        let Some(turns) = entry.get("conversations").and_then(Value::as_array) else {
            return Err(located(format!("no \"conversations\" list; {ALLOWED}")));
        };
        let first_user = turns.iter().find(|t| {
            matches!(
                t.get("from").and_then(Value::as_str),
                Some("human" | "user")
            )
        });
        let Some(turn) = first_user else {
            skipped.push(u32::try_from(line).unwrap_or(u32::MAX));
            continue;
        };
        let value = turn.get("value").unwrap_or(&Value::Null);
        let prompt = prompt_text(value).map_err(|m| {
            located(format!(
                "the first user turn's \"value\": {}",
                m.replace("\"prompt\" is", "it is")
            ))
        })?;
        items.push(DatasetItem {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            prompt,
            max_tokens: max_tokens(entry.get("max_tokens")).map_err(located)?,
        });
    }
    Ok((items, skipped))
}

/// Byte offsets where each element of the top-level JSON array in `text` begins (the text is
/// valid JSON: checked before).
fn element_starts(text: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let (mut depth, mut in_string, mut escaped, mut expecting) = (0usize, false, false, false);
    for (at, c) in text.char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if depth == 1 && expecting && !c.is_whitespace() && c != ']' {
            starts.push(at);
            expecting = false;
        }
        match c {
            '"' => in_string = true,
            '[' | '{' => {
                depth += 1;
                if depth == 1 {
                    expecting = true;
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 1 => expecting = true,
            _ => {}
        }
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"[
  {"id": "a", "conversations": [
      {"from": "human", "value": "What is \"rust\"?"},
      {"from": "gpt", "value": "A metal [and] a language."}]},
  {"id": "b", "conversations": []},
  {"id": "c", "max_tokens": 40, "conversations": [
      {"from": "system", "value": "Be brief."},
      {"from": "user", "value": "Name a river."}]}
]"#;

    #[test]
    fn first_user_turns_are_the_prompts_and_entries_without_one_are_skipped() {
        let (items, skipped) = read(FILE).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!((items[0].line, &*items[0].prompt), (2, "What is \"rust\"?"));
        assert_eq!(
            (items[1].line, &*items[1].prompt, items[1].max_tokens),
            (6, "Name a river.", Some(40))
        );
        assert_eq!(skipped, vec![5]);
    }

    #[test]
    fn a_bad_entry_is_located() {
        let text = "[\n {\"conversations\": []},\n {\"id\": 3}\n]";
        let (line, message) = read(text).unwrap_err();
        assert_eq!(line, 3);
        assert!(
            message.contains("entry 2: no \"conversations\""),
            "{message}"
        );
        let text = "[\n {\"conversations\": [{\"from\": \"human\", \"value\": 7}]}\n]";
        let (line, message) = read(text).unwrap_err();
        assert_eq!(line, 2);
        assert!(message.contains("not a string"), "{message}");
        let (line, _) = read("[\n{\"conversations\": [}\n]").unwrap_err();
        assert_eq!(line, 2);
    }
}
