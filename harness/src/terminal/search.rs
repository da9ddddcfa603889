//! The `search:` lines under the end-of-run table: for each rate-search case its knee, why
//! each search stopped, and the curve of its probes.

use crate::present::{Table, TerminalTable};
use crate::summary::search::SearchSummary;
use crate::summary::CaseSummary;
use crate::units::{seconds_fixed as seconds, significant, significant_or};

/// The lines of one search case.
fn lines(id: &str, search: &SearchSummary) -> Vec<String> {
    let knee = match search.knee_rps {
        Some(k) => format!("knee {} req/s", significant(k)),
        None => "no rate probed met the target".into(),
    };
    let stops: Vec<&str> = search
        .repetitions
        .iter()
        .map(|r| r.stopped.map_or("unfinished", |s| s.describe()))
        .collect();
    let mut out = vec![format!(
        "search: {id}: {knee} (the highest rate with at least {} of requests within the SLO; {})",
        format_args!("{} %", significant(search.target_attainment * 100.0)),
        stops.join(", ")
    )];
    let body: Vec<Vec<String>> = search
        .curve
        .iter()
        .map(|p| {
            vec![
                format!("{}.{}", p.repetition + 1, p.probe + 1),
                significant_or(Some(p.offered_rps), " req/s", "-"),
                significant_or(p.throughput_rps, " req/s", "-"),
                significant_or(p.output_tps, " tok/s", "-"),
                format!(
                    "{} / {} / {}",
                    seconds(p.ttft_p50_s),
                    seconds(p.ttft_p90_s),
                    seconds(p.ttft_p99_s)
                ),
                format!("{} / {}", seconds(p.e2e_p50_s), seconds(p.e2e_p99_s)),
                format!(
                    "{} %{}",
                    significant(p.attainment * 100.0),
                    if p.passed { "" } else { " (fails)" }
                ),
            ]
        })
        .collect();
    let header = [
        "probe",
        "offered",
        "achieved",
        "output",
        "ttft p50 / p90 / p99",
        "e2e p50 / p99",
        "within SLO",
    ];
    out.extend(
        TerminalTable
            .lines(&Table::of_text(&header, &[1, 2, 3, 4, 5, 6], body))
            .into_iter()
            .map(|l| format!("  {l}")),
    );
    out
}

/// The lines of every search case, or none when the run has none.
pub fn footer(summaries: &[CaseSummary]) -> Option<String> {
    let lines: Vec<String> = summaries
        .iter()
        .filter_map(|s| Some(lines(&s.case.id, s.search.as_ref()?)))
        .flatten()
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_footer_names_the_knee_the_failing_attainment_and_an_unfinished_search() {
        let s = crate::summary::search::tests::two_probe_summary();
        let text = footer(&[s]).unwrap();
        assert!(
            text.contains("search: t/w/p8-g2-c1: knee 10.0 req/s"),
            "{text}"
        );
        assert!(text.contains("25.0 % (fails)"), "{text}");
        assert!(text.contains("unfinished"), "{text}");
    }
}
