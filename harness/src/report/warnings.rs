//! What a reader of a run must not miss: an unfinished run, failed measurements, thermal
//! flags, energy from too few counter updates, token counts that are only estimates, power sampling that failed, outliers, and
//! where a server's own figures differ from bench's.

use crate::store::{RunStatus, StoredRun};
use crate::summary::CaseSummary;
use crate::terminal::end_of_run;

/// Warnings (things that may make figures wrong or incomplete), then notes (context).
pub fn warnings_and_notes(
    run: &StoredRun,
    summaries: &[CaseSummary],
) -> (Vec<String>, Vec<String>) {
    let mut warnings = Vec::new();
    match run.manifest.status {
        RunStatus::Complete => {}
        RunStatus::Incomplete => warnings.push(
            "The run ended with measurements missing or failed; `bench run --resume` finishes it."
                .to_string(),
        ),
        RunStatus::Interrupted => warnings.push(
            "The run was interrupted before it finished; `bench run --resume` finishes it."
                .to_string(),
        ),
        RunStatus::Running => warnings
            .push("The run was still running or was killed when this report was made.".to_string()),
    }
    for s in summaries {
        if s.errors > 0 {
            let kinds = if s.errors_by_kind.is_empty() {
                String::new()
            } else {
                let list: Vec<String> = s
                    .errors_by_kind
                    .iter()
                    .map(|(k, n)| format!("{n} {k}"))
                    .collect();
                format!(" ({})", list.join(", "))
            };
            warnings.push(format!("{}: {} failed{kinds}", s.case.id, s.errors));
        }
        if s.flagged > 0 {
            warnings.push(format!(
                "{}: {} measurement(s) under thermal pressure, throttling or on battery",
                s.case.id, s.flagged
            ));
        }
        if s.short_for_counter > 0 {
            warnings.push(format!(
                "{}: {} measurement(s) spanned fewer than {} updates of the energy counter: their energy is rough (a few %)",
                s.case.id,
                s.short_for_counter,
                crate::power::COUNTER_PERIODS
            ));
        }
    }
    if let Some(lines) = end_of_run::token_count_footer(summaries) {
        warnings.extend(lines.lines().map(str::to_string));
    }
    for failure in &run.manifest.power.failures {
        warnings.push(format!("power sampling: {failure}"));
    }
    let mut notes = Vec::new();
    for lines in [
        end_of_run::outlier_footer(summaries),
        end_of_run::server_footer(summaries),
        end_of_run::tool_footer(summaries),
        end_of_run::load_footer(summaries),
    ]
    .into_iter()
    .flatten()
    {
        notes.extend(lines.lines().map(str::to_string));
    }
    (warnings, notes)
}
