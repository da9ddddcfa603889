//! `conversations.csv`: one row per turn of each case of conversations (`turns`), across its
//! complete conversations: TTFT median and 90th percentile, median prompt tokens (history and
//! new message) and median cached prompt tokens. Written only when the run has such cases.

use std::path::Path;

use super::csv_file::CsvFile;
use crate::store::StoreError;
use crate::summary::CaseSummary;

/// Write the turns of `summaries` to `path` (replacing it); nothing when no case has turns.
pub fn write_conversations_csv(path: &Path, summaries: &[CaseSummary]) -> Result<(), StoreError> {
    if summaries.iter().all(|s| s.turns.is_empty()) {
        return Ok(());
    }
    let mut w = CsvFile::create(
        path,
        [
            "case",
            "target",
            "workload",
            "turn",
            "conversations",
            "ttft_p50_s",
            "ttft_p90_s",
            "prompt_tokens_p50",
            "cached_prompt_tokens_p50",
        ],
    )?;
    let number = |v: Option<f64>| v.map_or_else(String::new, |v| v.to_string());
    for s in summaries {
        for t in &s.turns {
            w.row([
                s.case.id.clone(),
                s.case.target.clone(),
                s.case.workload.clone(),
                t.turn.to_string(),
                t.conversations.to_string(),
                number(t.ttft_p50_s),
                number(t.ttft_p90_s),
                number(t.prompt_tokens_p50),
                number(t.cached_prompt_tokens_p50),
            ])?;
        }
    }
    w.finish()
}
