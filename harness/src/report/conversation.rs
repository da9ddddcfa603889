//! What a report shows of conversations (`turns`): the table of each turn's figures and the
//! chart of TTFT against the turn.

use super::figure::{figure, Figure};
use crate::charts::turns::TurnsChart;
use crate::charts::{ChartSize, Point, Series};
use crate::present::{Cell, Table};
use crate::summary::CaseSummary;
use crate::units::significant;

/// Each turn of each case of conversations; `None` when the run has none.
pub fn table(summaries: &[CaseSummary]) -> Option<Table> {
    let mut t = Table::new(
        "Conversations",
        &[
            "case",
            "turn",
            "conversations",
            "TTFT p50",
            "TTFT p90",
            "prompt tokens",
            "cached tokens",
        ],
    );
    let ms = |v: Option<f64>| match v {
        Some(v) => Cell::number(v * 1e3, format!("{} ms", significant(v * 1e3))),
        None => Cell::empty(),
    };
    let count = |v: Option<f64>| match v {
        Some(v) => Cell::number(v, significant(v)),
        None => Cell::empty(),
    };
    for s in summaries {
        for turn in &s.turns {
            t.rows.push(vec![
                Cell::text(&s.case.id),
                Cell::number(f64::from(turn.turn), turn.turn.to_string()),
                Cell::number(turn.conversations as f64, turn.conversations.to_string()),
                ms(turn.ttft_p50_s),
                ms(turn.ttft_p90_s),
                count(turn.prompt_tokens_p50),
                count(turn.cached_prompt_tokens_p50),
            ]);
        }
    }
    (!t.rows.is_empty()).then_some(t)
}

/// TTFT against the turn, a p50 and a p90 line per case; `None` when the run has no
/// conversations.
pub fn figure_of(summaries: &[CaseSummary], size: ChartSize) -> Option<Figure> {
    let mut series = Vec::new();
    for s in summaries.iter().filter(|s| !s.turns.is_empty()) {
        for (name, pick) in [
            (
                "p50",
                (|t| t.ttft_p50_s) as fn(&crate::summary::conversation::TurnSummary) -> Option<f64>,
            ),
            ("p90", |t| t.ttft_p90_s),
        ] {
            let points: Vec<Point> = s
                .turns
                .iter()
                .filter_map(|t| Some(Point::new(f64::from(t.turn), pick(t)?)))
                .collect();
            if !points.is_empty() {
                series.push(Series {
                    label: format!("{} {name}", s.case.id),
                    points,
                });
            }
        }
    }
    if series.is_empty() {
        return None;
    }
    figure(
        TurnsChart {
            title: "Time to first token by conversation turn".into(),
            series,
        }
        .render(size),
        "Time to first token of each turn of a conversation (median and 90th percentile over the case's complete conversations). Each turn resends the whole history, so its prompt grows; a server that serves the history from its prefix cache keeps the line flat, one that prefills it again climbs with the prompt (the conversations table gives the prompt and cached tokens of each turn).",
    )
}
