//! A user's prompt file (`prompts = "file"`): JSON Lines or ShareGPT JSON. Any bytes must read
//! as prompts or fail with an error naming a line of the file (or the file as a whole when it
//! is empty), and every prompt read must start on a line of it.

use std::path::Path;

use bench_workloads::prompts::{Dataset, DatasetError};

use crate::corpus;
use crate::engine::{Target, Verdict};

const TOKENS: &[&str] = &[
    "{\"prompt\": \"",
    "\", \"max_tokens\": ",
    "\"max_tokens\": 0",
    "\"max_tokens\": 18446744073709551616",
    "\"max_tokens\": -1",
    "\"max_tokens\": 1.5",
    "\"prompt\": null",
    "\"prompt\": \"\"",
    "}\n",
    "[\n",
    "\n]",
    "{\"conversations\": [",
    "{\"from\": \"human\", \"value\": \"",
    "{\"from\": \"gpt\", \"value\": \"",
    "\"}]}",
    "\\\"",
    "\\u00e9",
    "\u{feff}",
    "\r\n",
];

fn check(input: &[u8]) -> Verdict {
    let lines = input.iter().filter(|&&b| b == b'\n').count() + 1;
    match Dataset::parse(Path::new("p.jsonl"), input.to_vec()) {
        Ok(set) => {
            if set.items.is_empty() {
                return Err("read with no prompt".into());
            }
            match set
                .items
                .iter()
                .find(|i| i.line == 0 || i.line as usize > lines)
            {
                Some(item) => Err(format!("a prompt on line {} of {lines}", item.line)),
                None => Ok(()),
            }
        }
        Err(DatasetError::Invalid { line, message, .. }) if line == 0 || line > lines => {
            Err(format!("an error on line {line} of {lines}: {message}"))
        }
        Err(_) => Ok(()),
    }
}

#[test]
fn prompt_files() {
    Target {
        name: "prompt-file",
        seeds: corpus::written("prompt-file"),
        tokens: TOKENS,
        cases: 30_000,
        check,
    }
    .run();
}
