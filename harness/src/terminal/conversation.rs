//! The `conversation:` lines under the end-of-run table: for each case of conversations, each
//! turn's TTFT (median and 90th percentile), prompt tokens and cached tokens.

use crate::present::{Table, TerminalTable};
use crate::summary::conversation::TurnSummary;
use crate::summary::CaseSummary;
use crate::units::{seconds_fixed as seconds, significant_or};

/// The lines of one case of conversations.
fn lines(id: &str, turns: &[TurnSummary]) -> Vec<String> {
    let conversations = turns.iter().map(|t| t.conversations).max().unwrap_or(0);
    let mut out = vec![format!(
        "conversation: {id}: {} turns, {conversations} complete conversation{} (each turn resends the history)",
        turns.len(),
        if conversations == 1 { "" } else { "s" }
    )];
    let body: Vec<Vec<String>> = turns
        .iter()
        .map(|t| {
            vec![
                t.turn.to_string(),
                seconds(t.ttft_p50_s),
                seconds(t.ttft_p90_s),
                significant_or(t.prompt_tokens_p50, "", "-"),
                significant_or(t.cached_prompt_tokens_p50, "", "-"),
            ]
        })
        .collect();
    let header = ["turn", "ttft p50", "ttft p90", "prompt tokens", "cached"];
    out.extend(
        TerminalTable
            .lines(&Table::of_text(&header, &[0, 1, 2, 3, 4], body))
            .into_iter()
            .map(|l| format!("  {l}")),
    );
    out
}

/// The lines of every case of conversations, or none when the run has none.
pub fn footer(summaries: &[CaseSummary]) -> Option<String> {
    let lines: Vec<String> = summaries
        .iter()
        .filter(|s| !s.turns.is_empty())
        .flat_map(|s| lines(&s.case.id, &s.turns))
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}
