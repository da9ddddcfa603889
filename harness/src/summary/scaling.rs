//! Cluster scaling: for each case swept over node counts (`nodes = [1, 2, 4]`), throughput,
//! time to first token, speedup over one node and efficiency at each count, with the power it
//! took.
//!
//! Throughput is `output_tps` for load cases and `decode_tps` otherwise (median over
//! repetitions). Speedup at N = throughput at N ÷ throughput at 1; efficiency =
//! throughput at N ÷ (N × throughput at 1), so 1.0 is perfect scaling. Both need the
//! one-node point of the same case; without it they are absent, never guessed.

use serde::Serialize;

use super::CaseSummary;

/// One node count of one swept case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScalingPoint {
    /// The case without its node count (`cluster/short/p64-g32-c1`).
    pub series: String,
    /// Nodes the case's instance runs on.
    pub nodes: u32,
    /// Tokens per second (see the module docs), median.
    pub throughput_tps: Option<f64>,
    /// Time to first token, median seconds.
    pub ttft_s: Option<f64>,
    /// Throughput ÷ throughput on one node.
    pub speedup: Option<f64>,
    /// Speedup ÷ nodes.
    pub efficiency: Option<f64>,
    /// The cluster's average power (every node sampled), median watts.
    pub power_w: Option<f64>,
    /// That power ÷ the nodes sampled, median watts.
    pub power_per_node_w: Option<f64>,
}

fn median(s: &CaseSummary, name: &str) -> Option<f64> {
    s.metric(name).map(|m| m.median)
}

/// The case id without its `-n<nodes>` part: the key of a sweep (`None` off a cluster).
pub fn series_of(s: &CaseSummary) -> Option<String> {
    let nodes = s.case.nodes?;
    let suffix = format!("-n{nodes}");
    Some(
        s.case
            .id
            .strip_suffix(&suffix)
            .unwrap_or(&s.case.id)
            .to_string(),
    )
}

/// Every point of every case measured at two or more node counts, by series then nodes.
pub fn scaling(summaries: &[CaseSummary]) -> Vec<ScalingPoint> {
    let mut points: Vec<ScalingPoint> = summaries
        .iter()
        .filter_map(|s| {
            Some(ScalingPoint {
                series: series_of(s)?,
                nodes: s.case.nodes?,
                throughput_tps: median(s, "output_tps").or_else(|| median(s, "decode_tps")),
                ttft_s: median(s, "ttft_s"),
                speedup: None,
                efficiency: None,
                power_w: median(s, "avg_power_w"),
                power_per_node_w: median(s, "power_per_node_w"),
            })
        })
        .collect();
    points.sort_by(|a, b| a.series.cmp(&b.series).then(a.nodes.cmp(&b.nodes)));
    let counts = |series: &str, points: &[ScalingPoint]| {
        points.iter().filter(|p| p.series == series).count()
    };
    let swept: Vec<ScalingPoint> = points
        .iter()
        .filter(|p| counts(&p.series, &points) >= 2)
        .cloned()
        .collect();
    swept
        .iter()
        .map(|p| {
            let one = swept
                .iter()
                .find(|q| q.series == p.series && q.nodes == 1)
                .and_then(|q| q.throughput_tps)
                .filter(|&t| t > 0.0);
            let speedup = one.zip(p.throughput_tps).map(|(one, t)| t / one);
            ScalingPoint {
                speedup,
                efficiency: speedup.map(|s| s / f64::from(p.nodes)),
                ..p.clone()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Case;
    use crate::stats::bootstrap::BootstrapConfig;
    use crate::stats::Summary;
    use crate::summary::{MetricSummary, RepetitionStats};

    fn summary(nodes: Option<u32>, decode_tps: f64, power_w: f64) -> CaseSummary {
        let mut case = Case::example("cluster", "w", 3);
        case.nodes = nodes;
        if let Some(n) = nodes {
            case.id.push_str(&format!("-n{n}"));
        }
        let metric = |name: &'static str, v: f64| MetricSummary {
            name,
            unit: "",
            better: crate::stats::Better::Higher,
            summary: Summary::of(&[v]).unwrap(),
            repetitions: RepetitionStats::of(vec![v], vec![0], &BootstrapConfig::default()),
        };
        CaseSummary {
            case,
            ok: 1,
            errors: 0,
            errors_by_kind: Default::default(),
            patterns: None,
            flagged: 0,
            short_for_counter: 0,
            estimated_token_counts: 0,
            tool: None,
            metrics: vec![
                metric("decode_tps", decode_tps),
                metric("ttft_s", 0.1),
                metric("avg_power_w", power_w),
            ],
            search: None,
            turns: Vec::new(),
        }
    }

    #[test]
    fn speedup_and_efficiency_are_over_the_one_node_point_of_the_same_case() {
        let points = scaling(&[
            summary(Some(1), 100.0, 40.0),
            summary(Some(2), 180.0, 75.0),
            summary(Some(4), 320.0, 150.0),
            summary(None, 999.0, 1.0),
        ]);
        assert_eq!(points.len(), 3, "the case without nodes is not a sweep");
        assert!(points.iter().all(|p| p.series == "cluster/w/p8-g2-c1"));
        let two = &points[1];
        assert_eq!(two.nodes, 2);
        assert!((two.speedup.unwrap() - 1.8).abs() < 1e-12);
        assert!((two.efficiency.unwrap() - 0.9).abs() < 1e-12);
        assert!((points[2].efficiency.unwrap() - 0.8).abs() < 1e-12);
        assert_eq!(points[2].power_w, Some(150.0));
        assert_eq!(points[0].speedup, Some(1.0));
    }

    #[test]
    fn without_a_one_node_point_there_is_no_speedup() {
        let points = scaling(&[summary(Some(2), 180.0, 75.0), summary(Some(4), 320.0, 1.0)]);
        assert_eq!(points.len(), 2);
        assert!(points
            .iter()
            .all(|p| p.speedup.is_none() && p.efficiency.is_none()));
        assert!(
            scaling(&[summary(Some(2), 180.0, 75.0)]).is_empty(),
            "one count is no sweep"
        );
    }
}
