use std::collections::VecDeque;
use std::time::Duration;

use super::*;
use crate::power::energy::Trace;
use crate::power::{MeasurementEnergy, Phase};

/// A node's source that answers from a script: `Some(w)` a reading of `w` W on `sys` (or on a
/// counter rail, for counter nodes), `None` an error.
struct Scripted {
    answers: VecDeque<Option<f64>>,
    counter: bool,
}

impl Source for Scripted {
    fn name(&self) -> &'static str {
        "scripted"
    }
    fn describe(&self) -> String {
        "scripted".into()
    }
    fn next(&mut self, clock: &RunClock) -> Result<Option<Sample>, PowerError> {
        match self.answers.pop_front() {
            None => Ok(None),
            Some(None) => Err(PowerError::Failed {
                source_name: "scripted",
                reason: "connection refused".into(),
            }),
            Some(Some(value)) => Ok(Some(Sample {
                t_s: clock.now_s(),
                source: "scripted".into(),
                rails: vec![if self.counter {
                    RailReading {
                        rail: "pkg".into(),
                        scope: Scope::Package,
                        watts: None,
                        counter_j: Some(value),
                    }
                } else {
                    RailReading::watts("sys", Scope::System, value)
                }],
                ..Sample::default()
            })),
        }
    }
}

fn member(node: &str, answers: &[Option<f64>], counter: bool) -> Member {
    Member {
        node: Some(node.into()),
        nodes: vec![node.into()],
        source: Box::new(Scripted {
            answers: answers.iter().copied().collect(),
            counter,
        }),
    }
}

fn run(mut cluster: ClusterSource, ticks: usize) -> Vec<Sample> {
    let clock = RunClock::start();
    (0..ticks)
        .map(|_| cluster.next(&clock).unwrap().unwrap())
        .collect()
}

fn rail<'a>(sample: &'a Sample, name: &str) -> Option<&'a RailReading> {
    sample.rails.iter().find(|r| r.rail == name)
}

#[test]
fn the_total_is_the_sum_of_every_node_on_each_tick() {
    let cluster = ClusterSource::new(
        vec![
            member("a", &[Some(10.0), Some(12.0)], false),
            member("b", &[Some(30.0), Some(31.0)], false),
        ],
        Duration::from_millis(5),
        &[],
    );
    let samples = run(cluster, 2);
    for (sample, want) in samples.iter().zip([40.0, 43.0]) {
        assert_eq!(rail(sample, CLUSTER_RAIL).unwrap().watts, Some(want));
        assert_eq!(rail(sample, CLUSTER_RAIL).unwrap().scope, Scope::Cluster);
        assert!(rail(sample, "a/sys").is_some() && rail(sample, "b/sys").is_some());
        assert_eq!(sample.scrapes.len(), 2);
        assert!(sample.scrapes.iter().all(|s| s.error.is_none()));
    }
}

#[test]
fn a_node_that_does_not_answer_is_a_gap_in_its_rails_and_in_the_total() {
    let cluster = ClusterSource::new(
        vec![
            member("a", &[Some(10.0); 6], false),
            member(
                "b",
                &[Some(20.0), Some(20.0), None, None, Some(20.0), Some(20.0)],
                false,
            ),
        ],
        Duration::from_millis(20),
        &[],
    );
    let samples = run(cluster, 6);
    let silent = &samples[2];
    assert_eq!(rail(silent, CLUSTER_RAIL).unwrap().watts, None);
    assert_eq!(
        rail(silent, "b/sys").unwrap().watts,
        None,
        "b's rail is a gap"
    );
    assert_eq!(rail(silent, "a/sys").unwrap().watts, Some(10.0));
    let b = silent.scrapes.iter().find(|s| s.node == "b").unwrap();
    assert!(b.error.as_deref().unwrap().contains("connection refused"));

    // Energy: the window before the gap has the sum; one across it has no total, says why,
    // and keeps node a's figure.
    let trace = Trace::from_samples(&samples);
    let t = |i: usize| samples[i].t_s;
    let before = [Phase {
        name: "total",
        start_s: t(0),
        end_s: t(1),
    }];
    let e = MeasurementEnergy::compute("cluster", &trace, &samples, &before, None).unwrap();
    assert_eq!(e.headline, CLUSTER_RAIL);
    let total = e.headline_phase("total").unwrap();
    assert!((total.avg_w - 30.0).abs() < 1e-6, "{total:?}");
    assert_eq!(total.peak_w, Some(30.0));
    assert!(e.gaps.is_empty());

    let across = [Phase {
        name: "total",
        start_s: t(1),
        end_s: t(5),
    }];
    let e = MeasurementEnergy::compute("cluster", &trace, &samples, &across, None).unwrap();
    assert!(e.headline_phase("total").is_none(), "no total across a gap");
    assert!(
        e.gaps.iter().any(|g| g.starts_with("b/sys: no reading")),
        "{:?}",
        e.gaps
    );
    assert!(e.gaps.iter().any(|g| g.starts_with("cluster: no reading")));
    let a = &e.rails["a/sys"].phases["total"];
    assert!((a.avg_w - 10.0).abs() < 1e-6);
}

#[test]
fn a_node_that_never_answers_again_leaves_the_others_figures_and_names_the_gap() {
    let cluster = ClusterSource::new(
        vec![
            member("a", &[Some(10.0); 5], false),
            member("b", &[Some(20.0), Some(20.0), None, None, None], false),
        ],
        Duration::from_millis(20),
        &[],
    );
    let samples = run(cluster, 5);
    let trace = Trace::from_samples(&samples);
    let within = [Phase {
        name: "total",
        start_s: samples[3].t_s,
        end_s: samples[4].t_s,
    }];
    let e = MeasurementEnergy::compute("cluster", &trace, &samples, &within, None)
        .expect("node a's figures are kept");
    assert!(e.headline_phase("total").is_none());
    assert!(
        e.gaps.iter().any(|g| g.starts_with("b/sys")),
        "{:?}",
        e.gaps
    );
    assert!((e.rails["a/sys"].phases["total"].avg_w - 10.0).abs() < 1e-6);
}

#[test]
fn a_counter_only_node_adds_the_power_its_counter_shows() {
    // b's counter rises 50 J per tick; its power is that over the time between readings.
    let cluster = ClusterSource::new(
        vec![
            member("a", &[Some(10.0); 3], false),
            member("b", &[Some(0.0), Some(50.0), Some(100.0)], true),
        ],
        Duration::from_millis(50),
        &[],
    );
    let samples = run(cluster, 3);
    assert_eq!(
        rail(&samples[0], CLUSTER_RAIL).unwrap().watts,
        None,
        "no power before two counter readings"
    );
    let w = rail(&samples[2], CLUSTER_RAIL).unwrap().watts.unwrap();
    // 50 J over about 50 ms: about 1000 W, plus a's 10 W.
    assert!(w > 10.0 + 400.0 && w < 10.0 + 2000.0, "{w}");
    assert!(rail(&samples[2], "b/pkg").unwrap().counter_j.is_some());
}

#[test]
fn exo_state_gives_one_rail_per_node_and_unique_names() {
    let state: serde_json::Value = serde_json::json!({
        "topology": {"nodes": ["id-1", "id-2"]},
        "nodeIdentities": {
            "id-1": {"friendlyName": "host"},
            "id-2": {"friendlyName": "host"}
        },
        "nodeSystem": {
            "id-1": {"sysPower": 41.5, "temp": 50.0},
            "id-2": {"sysPower": 38.0}
        }
    });
    let cluster = bench_workloads::serving::exo::state::Cluster::from_state(&state);
    let names = exo::node_names(&cluster);
    assert_eq!(
        names,
        [
            ("id-1".into(), "id-1".into()),
            ("id-2".into(), "id-2".into())
        ],
        "a shared hostname falls back to exo's ids"
    );
    let sample = exo::sample_of(&state, &names, 1.0);
    assert_eq!(rail(&sample, "id-1/sys").unwrap().watts, Some(41.5));
    assert_eq!(rail(&sample, "id-2/sys").unwrap().scope, Scope::System);
    assert_eq!(sample.thermal.temps_c["id-1/gpu"], 50.0);
}
