//! The `scaling:` lines under the end-of-run table: per case swept over node counts, each
//! count's throughput, speedup, efficiency and cluster power.

use crate::summary::scaling::ScalingPoint;
use crate::units::significant_or;

/// One line per node count, or none when no case was swept.
pub fn footer(points: &[ScalingPoint]) -> Option<String> {
    let lines: Vec<String> = points
        .iter()
        .map(|p| {
            format!(
                "scaling: {} on {} node(s): {} tok/s, speedup {}, efficiency {}, cluster {} ({} per node)",
                p.series,
                p.nodes,
                significant_or(p.throughput_tps, "", "–"),
                significant_or(p.speedup, "×", "–"),
                significant_or(p.efficiency.map(|e| e * 100.0), " %", "–"),
                significant_or(p.power_w, " W", "–"),
                significant_or(p.power_per_node_w, " W", "–"),
            )
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_without_a_one_node_base_shows_dashes_not_numbers() {
        let point = ScalingPoint {
            series: "c/w/p8-g2-c1".into(),
            nodes: 2,
            throughput_tps: Some(180.0),
            ttft_s: Some(0.1),
            speedup: None,
            efficiency: None,
            power_w: Some(75.0),
            power_per_node_w: Some(37.5),
        };
        let text = footer(&[point]).unwrap();
        assert!(text.contains("180 tok/s"), "{text}");
        assert!(text.contains("speedup –, efficiency –"), "{text}");
        assert!(text.contains("cluster 75.0 W (37.5 W per node)"), "{text}");
        assert!(footer(&[]).is_none());
    }
}
