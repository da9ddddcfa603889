//! Conversations (`turns`): which turns count (those of conversations that ran to their last
//! turn, the latest attempt of each repetition), and the figures of each turn across the
//! case's conversations: how TTFT grows as the history does.

use serde::Serialize;

use crate::plan::Case;
use crate::stats::quantile_sorted;
use crate::store::{Record, Status};

/// One turn of a case's conversations, across its complete conversations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TurnSummary {
    /// The turn, from 1.
    pub turn: u32,
    /// Complete conversations with a value for this turn.
    pub conversations: usize,
    /// Median time to first token, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttft_p50_s: Option<f64>,
    /// 90th percentile of the time to first token, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttft_p90_s: Option<f64>,
    /// Median prompt tokens sent: the history and the new message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_tokens_p50: Option<f64>,
    /// Median of the tokens the server said it took from its cache (absent where it said
    /// nothing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cached_prompt_tokens_p50: Option<f64>,
}

/// The turns of `case`'s complete conversations, by repetition then turn: for each
/// repetition, the latest attempt whose every turn up to the last is `ok`. Turns of
/// conversations cut short are left out.
pub fn complete<'a>(case: &Case, records: &'a [Record]) -> Vec<&'a Record> {
    let turns = case.text().map_or(0, |t| t.params.turns);
    let mut attempts: Vec<(u32, &str)> = records
        .iter()
        .filter(|r| r.header.case == case.id && r.status == Status::Ok)
        .filter_map(|r| {
            let c = r.conversation.as_ref()?;
            (c.turn >= turns).then_some((r.header.repetition, c.started_at.as_str()))
        })
        .collect();
    attempts.sort();
    // The latest complete attempt of each repetition (RFC 3339 times sort as text).
    attempts.reverse();
    attempts.dedup_by_key(|(rep, _)| *rep);
    attempts.reverse();
    let mut kept: Vec<&Record> = attempts
        .iter()
        .flat_map(|&(rep, started)| {
            records.iter().filter(move |r| {
                r.header.case == case.id
                    && r.header.repetition == rep
                    && r.status == Status::Ok
                    && r.conversation
                        .as_ref()
                        .is_some_and(|c| c.started_at == started)
            })
        })
        .collect();
    kept.sort_by_key(|r| {
        (
            r.header.repetition,
            r.conversation.as_ref().map_or(0, |c| c.turn),
        )
    });
    // An attempt missing a turn (a store written by hand, a torn file) does not count.
    let mut per_repetition: std::collections::BTreeMap<u32, usize> = Default::default();
    for r in &kept {
        *per_repetition.entry(r.header.repetition).or_default() += 1;
    }
    kept.retain(|r| per_repetition.get(&r.header.repetition) == Some(&(turns as usize)));
    kept
}

/// The figures of each turn of `case` over its complete conversations.
pub fn per_turn(case: &Case, records: &[Record]) -> Vec<TurnSummary> {
    let kept = complete(case, records);
    (1..=case.text().map_or(0, |t| t.params.turns))
        .map(|turn| {
            let of_turn: Vec<&Record> = kept
                .iter()
                .copied()
                .filter(|r| r.conversation.as_ref().is_some_and(|c| c.turn == turn))
                .collect();
            let values = |f: fn(&Record) -> Option<f64>| -> Vec<f64> {
                let mut v: Vec<f64> = of_turn
                    .iter()
                    .filter_map(|r| f(r))
                    .filter(|x| x.is_finite())
                    .collect();
                v.sort_by(f64::total_cmp);
                v
            };
            let at = |v: &[f64], q: f64| (!v.is_empty()).then(|| quantile_sorted(v, q));
            let ttft = values(|r| r.metrics.text.as_ref().and_then(|m| m.ttft_s));
            let prompt = values(|r| Some(r.prompt_tokens as f64));
            let cached = values(|r| r.metrics.text.as_ref().and_then(|m| m.cached_prompt_tokens));
            TurnSummary {
                turn,
                conversations: of_turn.len(),
                ttft_p50_s: at(&ttft, 0.5),
                ttft_p90_s: at(&ttft, 0.9),
                prompt_tokens_p50: at(&prompt, 0.5),
                cached_prompt_tokens_p50: at(&cached, 0.5),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Case;

    fn turn(case: &Case, rep: u32, turn: u32, started: &str, ttft: f64, ok: bool) -> Record {
        let mut r =
            Record::failed(case, rep, started.into(), 0.0, "x".into()).with_turn(turn, started);
        if ok {
            r.status = Status::Ok;
            r.error = None;
            r.metrics.text.get_or_insert_default().ttft_s = Some(ttft);
            r.prompt_tokens = u64::from(turn) * 100;
        }
        r
    }

    fn case() -> Case {
        let mut c = Case::example("t", "chat", 2);
        c.text_mut().params.turns = 2;
        c
    }

    #[test]
    fn a_conversation_cut_short_is_left_out_and_its_rerun_counts() {
        let c = case();
        let records = vec![
            // Repetition 0: cut after turn 1, then rerun whole.
            turn(&c, 0, 1, "2026-01-01T00:00:00Z", 9.0, true),
            turn(&c, 0, 1, "2026-01-01T00:01:00Z", 1.0, true),
            turn(&c, 0, 2, "2026-01-01T00:01:00Z", 2.0, true),
            // Repetition 1: its second turn failed.
            turn(&c, 1, 1, "2026-01-01T00:02:00Z", 1.0, true),
            turn(&c, 1, 2, "2026-01-01T00:02:00Z", 0.0, false),
        ];
        let kept = complete(&c, &records);
        assert_eq!(kept.len(), 2);
        assert!(kept.iter().all(|r| r.header.repetition == 0
            && r.metrics.text.as_ref().and_then(|m| m.ttft_s) != Some(9.0)));
        let turns = per_turn(&c, &records);
        assert_eq!(turns.len(), 2);
        assert_eq!(turns[0].ttft_p50_s, Some(1.0));
        assert_eq!(turns[1].ttft_p50_s, Some(2.0));
        assert_eq!(turns[1].prompt_tokens_p50, Some(200.0));
        assert_eq!(turns[1].cached_prompt_tokens_p50, None);
        assert_eq!(turns[1].conversations, 1);
    }
}
