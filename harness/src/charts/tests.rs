//! Tests shared by all charts: well-formed XML, escaping, determinism, sample output.

use super::*;

/// Parse as XML and return the document text back, panicking with context if malformed.
pub(crate) fn assert_xml(svg: &str) {
    if let Err(e) = roxmltree::Document::parse(svg) {
        panic!("not well-formed XML: {e}\n{}", &svg[..svg.len().min(2000)]);
    }
}

/// Write a sample for people to look at, into the folder named by `CHARTS_SAMPLE_DIR` (only
/// when it is set, so ordinary test runs leave no files behind).
pub(crate) fn write_sample(name: &str, svg: &str) {
    let Some(dir) = std::env::var_os("CHARTS_SAMPLE_DIR") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(format!("{name}.svg")), svg);
}

fn ttft_typical() -> ttft::TtftChart {
    let mk = |label: &str, k: f64| Series {
        label: label.into(),
        points: [128.0, 512.0, 2048.0, 8192.0, 32768.0]
            .iter()
            .map(|&x| {
                let y = k * (0.02 + x * 0.00004 + x * x * 1e-10);
                Point::with_interval(x, y, y * 0.93, y * 1.08)
            })
            .collect(),
    };
    ttft::TtftChart {
        title: "Time to first token — llama-3.1-8b q4".into(),
        series: vec![
            mk("M4 Max (mlx)", 1.0),
            mk("M5 Max (mlx)", 0.45),
            mk("RTX 4090 (cuda)", 0.2),
        ],
    }
}

#[test]
fn ttft_typical_renders() {
    let svg = ttft_typical().render(ChartSize::default()).expect("render");
    assert_xml(&svg);
    write_sample("ttft", &svg);
}

fn bars_typical() -> throughput::BarChart {
    use throughput::{Bar, BarSeries};
    throughput::BarChart {
        title: "Prefill and decode throughput".into(),
        y_label: "throughput (tok/s)".into(),
        categories: vec![
            "llama-3.1-8b q4 · M4 Max".into(),
            "llama-3.1-8b q4 · M5 Max".into(),
            "qwen2.5-32b q8 · M4 Max (a very long case label that must be shortened)".into(),
            "qwen2.5-32b q8 · M5 Max".into(),
        ],
        groups: vec![
            BarSeries {
                label: "prefill tok/s".into(),
                values: vec![
                    Some(Bar::with_interval(812.0, 790.0, 830.0)),
                    Some(Bar::with_interval(1450.0, 1400.0, 1490.0)),
                    Some(Bar::new(210.0)),
                    None,
                ],
            },
            BarSeries {
                label: "decode tok/s".into(),
                values: vec![
                    Some(Bar::with_interval(92.0, 90.0, 95.0)),
                    Some(Bar::with_interval(118.0, 115.0, 121.0)),
                    Some(Bar::new(24.5)),
                    Some(Bar::new(31.0)),
                ],
            },
        ],
    }
}

#[test]
fn bars_typical_renders() {
    let svg = bars_typical().render(ChartSize::default()).expect("render");
    assert_xml(&svg);
    write_sample("throughput", &svg);
}

fn speedup_typical() -> speedup::SpeedupChart {
    let b = |l: &str, v: f64| speedup::SpeedupBar {
        label: l.into(),
        speedup: v,
        low: Some(v * 0.94),
        high: Some(v * 1.05),
    };
    speedup::SpeedupChart {
        title: "M5 Max vs M4 Max — decode throughput".into(),
        base_label: "M4 Max".into(),
        current_label: "M5 Max".into(),
        bars: vec![
            b("llama-3.1-8b q4 decode", 1.28),
            b("llama-3.1-8b q4 prefill", 3.8),
            b("qwen2.5-32b q8 decode", 1.12),
            b("flux-schnell 1024² denoise", 2.4),
            b("whisper-large-v3 encode", 0.82),
            b("tiny model (cpu fallback)", 0.97),
        ],
    }
}

#[test]
fn speedup_typical_renders() {
    let svg = speedup_typical()
        .render(ChartSize::default())
        .expect("render");
    assert_xml(&svg);
    assert!(svg.contains("×3.8"));
    write_sample("speedup", &svg);
}

/// Deterministic pseudo-random latencies: log-normal-ish around `median` seconds.
pub(crate) fn latencies(n: usize, median: f64, seed: u64) -> Vec<f64> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            // xorshift64*, then a sum of uniforms as a rough normal.
            let mut z = 0.0;
            for _ in 0..4 {
                x ^= x >> 12;
                x ^= x << 25;
                x ^= x >> 27;
                z += (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64;
            }
            median * ((z - 2.0) * 0.9).exp()
        })
        .collect()
}

fn cdf_typical() -> latency::CdfChart {
    latency::CdfChart {
        title: "Time to first token under load".into(),
        x_label: "time to first token".into(),
        series: vec![
            latency::CdfSeries {
                label: "M4 Max, 4 clients".into(),
                values: latencies(4000, 0.180, 1),
            },
            latency::CdfSeries {
                label: "M5 Max, 4 clients".into(),
                values: latencies(4000, 0.095, 2),
            },
            latency::CdfSeries {
                label: "M5 Max, 16 clients".into(),
                values: latencies(4000, 0.41, 3),
            },
        ],
    }
}

#[test]
fn cdf_typical_renders() {
    let svg = cdf_typical().render(ChartSize::default()).expect("render");
    assert_xml(&svg);
    write_sample("latency_cdf", &svg);
}

fn box_typical() -> latency::BoxChart {
    latency::BoxChart {
        title: "Inter-token latency per case".into(),
        y_label: "inter-token latency".into(),
        boxes: vec![
            latency::BoxSeries {
                label: "llama-8b · M4 Max".into(),
                values: latencies(3000, 0.011, 4),
            },
            latency::BoxSeries {
                label: "llama-8b · M5 Max".into(),
                values: latencies(3000, 0.0085, 5),
            },
            latency::BoxSeries {
                label: "qwen-32b · M4 Max".into(),
                values: latencies(3000, 0.041, 6),
            },
            latency::BoxSeries {
                label: "qwen-32b · M5 Max".into(),
                values: latencies(3000, 0.032, 7),
            },
        ],
    }
}

#[test]
fn box_typical_renders() {
    let svg = box_typical().render(ChartSize::default()).expect("render");
    assert_xml(&svg);
    write_sample("latency_box", &svg);
}

/// A trace of `secs` seconds at 10 Hz with idle / prefill / decode phases.
pub(crate) fn power_chart(secs: f64) -> power::PowerChart {
    use power::{PhaseSpan, RailSeries};
    let cycle = 60.0;
    let phase_at = |t: f64| {
        let c = t % cycle;
        if c < 10.0 {
            "idle"
        } else if c < 14.0 {
            "prefill"
        } else if c < 52.0 {
            "decode"
        } else {
            "idle"
        }
    };
    let noise = latencies((secs * 10.0) as usize, 1.0, 9);
    let mut gpu = Vec::new();
    let mut cpu = Vec::new();
    let mut all = Vec::new();
    for (i, n) in noise.iter().enumerate() {
        let t = i as f64 / 10.0;
        let (g, c) = match phase_at(t) {
            "idle" => (1.5, 2.0),
            "prefill" => (38.0, 6.0),
            _ => (21.0, 4.5),
        };
        let g = g * (0.85 + 0.15 * n);
        let c = c * (0.9 + 0.1 * n);
        gpu.push((t, g));
        cpu.push((t, c));
        all.push((t, g + c + 0.4));
    }
    let mut phases = Vec::new();
    let mut start = 0.0;
    let mut t = 0.0;
    while t < secs {
        let next = t + 0.1;
        if next >= secs || phase_at(next) != phase_at(t) {
            phases.push(PhaseSpan {
                label: phase_at(t).into(),
                start_s: start,
                end_s: next,
            });
            start = next;
        }
        t = next;
    }
    power::PowerChart {
        title: "Power during llama-3.1-8b q4 decode, M5 Max".into(),
        rails: vec![
            RailSeries {
                label: "combined (cpu+gpu+ane)".into(),
                points: all,
            },
            RailSeries {
                label: "gpu".into(),
                points: gpu,
            },
            RailSeries {
                label: "cpu".into(),
                points: cpu,
            },
        ],
        phases,
        energy_note: vec![
            ("prefill".into(), 305.0),
            ("decode".into(), 1920.0),
            ("idle".into(), 61.5),
            ("total".into(), 2286.5),
        ],
    }
}

#[test]
fn power_typical_renders() {
    let svg = power_chart(120.0)
        .render(ChartSize::default())
        .expect("render");
    assert_xml(&svg);
    write_sample("power", &svg);
}

fn energy_typical() -> energy::EnergyChart {
    use throughput::{Bar, BarSeries};
    energy::EnergyChart {
        title: "Energy per output token".into(),
        per: energy::EnergyPer::OutputToken,
        categories: vec![
            "llama-3.1-8b q4".into(),
            "qwen2.5-32b q8".into(),
            "mistral-7b f16".into(),
        ],
        groups: vec![
            BarSeries {
                label: "M4 Max".into(),
                values: vec![
                    Some(Bar::with_interval(0.31, 0.29, 0.33)),
                    Some(Bar::with_interval(1.42, 1.35, 1.5)),
                    Some(Bar::new(0.55)),
                ],
            },
            BarSeries {
                label: "M5 Max".into(),
                values: vec![
                    Some(Bar::with_interval(0.22, 0.21, 0.24)),
                    Some(Bar::with_interval(1.05, 0.98, 1.1)),
                    None,
                ],
            },
        ],
    }
}

#[test]
fn energy_typical_renders() {
    let svg = energy_typical()
        .render(ChartSize::default())
        .expect("render");
    assert_xml(&svg);
    assert!(svg.contains("energy per output token (J/token)"));
    write_sample("energy", &svg);
}

fn steps_typical() -> diffusion::StepChart {
    let mk = |label: &str, base: f64, first: f64| Series {
        label: label.into(),
        points: (0..28)
            .map(|i| {
                let y = if i == 0 {
                    first
                } else {
                    base * (1.0 + 0.01 * f64::from(i % 3))
                };
                Point::with_interval(f64::from(i), y, y * 0.96, y * 1.05)
            })
            .collect(),
    };
    diffusion::StepChart {
        title: "FLUX.1-schnell 1024×1024 — time per denoising step".into(),
        series: vec![mk("M4 Max", 1.9, 3.1), mk("M5 Max", 0.82, 1.6)],
    }
}

fn breakdown_typical() -> diffusion::PhaseBreakdown {
    let c = |l: &str, t: f64, d: f64, v: f64| {
        (
            l.to_string(),
            vec![
                ("text encode".to_string(), t),
                ("denoise".to_string(), d),
                ("VAE decode".to_string(), v),
            ],
        )
    };
    diffusion::PhaseBreakdown {
        title: "Where the time goes — one 1024×1024 image".into(),
        cases: vec![
            c("FLUX.1-schnell · M4 Max", 0.9, 7.6, 1.4),
            c("FLUX.1-schnell · M5 Max", 0.5, 3.3, 0.7),
            c("SDXL-turbo · M4 Max", 0.3, 1.2, 0.6),
            c("SDXL-turbo · M5 Max", 0.2, 0.5, 0.3),
        ],
    }
}

#[test]
fn diffusion_typical_renders() {
    let svg = steps_typical()
        .render(ChartSize::default())
        .expect("render");
    assert_xml(&svg);
    write_sample("diffusion_steps", &svg);
    let svg = breakdown_typical()
        .render(ChartSize::default())
        .expect("render");
    assert_xml(&svg);
    write_sample("diffusion_phases", &svg);
}

fn scaling_typical() -> scaling::ScalingChart {
    let nodes = [1.0, 2.0, 4.0, 8.0];
    let tp = |label: &str, per: f64, eff: f64| Series {
        label: label.into(),
        points: nodes
            .iter()
            .map(|&n: &f64| {
                let y = per * n * eff.powf(n.log2());
                Point::with_interval(n, y, y * 0.95, y * 1.04)
            })
            .collect(),
    };
    let pw = |label: &str, per: f64| Series {
        label: label.into(),
        points: nodes
            .iter()
            .map(|&n| Point::new(n, per * n + 12.0))
            .collect(),
    };
    scaling::ScalingChart {
        title: "Cluster scaling — llama-3.1-70b q4, tensor parallel".into(),
        series: vec![
            tp("M4 Max nodes (TB5)", 9.5, 0.9),
            tp("M5 Max nodes (TB5)", 14.0, 0.93),
        ],
        power: vec![
            pw("M4 Max nodes (TB5)", 78.0),
            pw("M5 Max nodes (TB5)", 84.0),
        ],
    }
}

#[test]
fn scaling_typical_renders() {
    let svg = scaling_typical()
        .render(ChartSize::default())
        .expect("render");
    assert_xml(&svg);
    write_sample("scaling", &svg);
}

// ---------------------------------------------------------------------------------------
// Hostile and degenerate input, for every chart.

const EVIL_TITLE: &str = "<script>alert(1)</script> & \"' onload=\"x";
const EVIL_LABEL: &str =
    "\"' onload=\"x <script>alert(1)</script>\u{0}\u{1b}[31m\u{FFFF} \"#010203\" \"#010211\"";

/// Value sets every chart must survive: empty, NaN, one value, zeros and negatives where a
/// log axis would otherwise be chosen, infinities, extremes, constants, and many values.
fn value_sets() -> Vec<Vec<f64>> {
    vec![
        vec![],
        vec![f64::NAN, f64::NAN],
        vec![5.0],
        vec![0.0, 1.0, 1000.0],
        vec![-5.0, 0.01, 100.0],
        vec![f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 2.0],
        vec![1e308, -1e308, 1e-308, 5e-324],
        vec![0.0, 0.0, 0.0],
        vec![1.0, 1.0, 1.0],
        vec![1e-9, 2e-9, 1e9],
        (1..5000).map(f64::from).collect(),
    ]
}

fn xy_series(label: &str, vals: &[f64]) -> Vec<Series> {
    let pts =
        |f: &dyn Fn(usize, f64) -> Point| vals.iter().enumerate().map(|(i, &v)| f(i, v)).collect();
    vec![
        Series {
            label: label.into(),
            points: pts(&|i, v| Point::with_interval(i as f64 + 1.0, v, v * 0.9, v * 1.1)),
        },
        Series {
            label: format!("{label} 2"),
            points: pts(&|i, v| Point {
                x: v,
                y: i as f64 + 1.0,
                low: Some(f64::NAN),
                high: Some(v),
            }),
        },
    ]
}

fn bar_chart(title: &str, label: &str, vals: &[f64]) -> throughput::BarChart {
    use throughput::{Bar, BarSeries};
    throughput::BarChart {
        title: title.into(),
        y_label: label.into(),
        categories: vals
            .iter()
            .take(40)
            .map(|v| format!("{label} {v}"))
            .collect(),
        groups: vec![
            BarSeries {
                label: label.into(),
                values: vals
                    .iter()
                    .map(|&v| Some(Bar::with_interval(v, v * 0.9, v * 1.1)))
                    .collect(),
            },
            BarSeries {
                label: String::new(),
                values: vals
                    .iter()
                    .map(|&v| (v > 1.0).then(|| Bar::new(v)))
                    .collect(),
            },
        ],
    }
}

/// Every chart kind rendered from one value set with the given title and label.
fn render_all(
    title: &str,
    label: &str,
    vals: &[f64],
) -> Vec<(&'static str, Result<String, ChartError>)> {
    let size = ChartSize::default();
    let cdf = latency::CdfChart {
        title: title.into(),
        x_label: label.into(),
        series: vec![
            latency::CdfSeries {
                label: label.into(),
                values: vals.to_vec(),
            },
            latency::CdfSeries {
                label: String::new(),
                values: Vec::new(),
            },
        ],
    };
    let boxes = latency::BoxChart {
        title: title.into(),
        y_label: label.into(),
        boxes: vec![
            latency::BoxSeries {
                label: label.into(),
                values: vals.to_vec(),
            },
            latency::BoxSeries {
                label: label.into(),
                values: vec![],
            },
        ],
    };
    let pw = power::PowerChart {
        title: title.into(),
        rails: vec![power::RailSeries {
            label: label.into(),
            points: vals
                .iter()
                .enumerate()
                .map(|(i, &v)| (i as f64 * 0.1, v))
                .collect(),
        }],
        phases: vals
            .iter()
            .take(50)
            .map(|&v| power::PhaseSpan {
                label: label.into(),
                start_s: v,
                end_s: v * 0.5,
            })
            .collect(),
        energy_note: vals
            .iter()
            .take(5)
            .map(|&v| (label.to_string(), v))
            .collect(),
    };
    let sp = speedup::SpeedupChart {
        title: title.into(),
        base_label: label.into(),
        current_label: label.into(),
        bars: vals
            .iter()
            .take(200)
            .map(|&v| speedup::SpeedupBar {
                label: label.into(),
                speedup: v,
                low: Some(v * 0.9),
                high: Some(f64::NAN),
            })
            .collect(),
    };
    let br = diffusion::PhaseBreakdown {
        title: title.into(),
        cases: vals
            .iter()
            .take(200)
            .map(|&v| {
                (
                    label.to_string(),
                    vec![(label.to_string(), v), ("denoise".to_string(), v * 2.0)],
                )
            })
            .collect(),
    };
    let energy = energy::EnergyChart {
        title: title.into(),
        per: energy::EnergyPer::Image,
        categories: vec![label.into()],
        groups: bar_chart(title, label, vals).groups,
    };
    vec![
        (
            "ttft",
            ttft::TtftChart {
                title: title.into(),
                series: xy_series(label, vals),
            }
            .render(size),
        ),
        ("bars", bar_chart(title, label, vals).render(size)),
        ("energy", energy.render(size)),
        ("speedup", sp.render(size)),
        ("cdf", cdf.render(size)),
        ("box", boxes.render(size)),
        ("power", pw.render(size)),
        (
            "steps",
            diffusion::StepChart {
                title: title.into(),
                series: xy_series(label, vals),
            }
            .render(size),
        ),
        ("breakdown", br.render(size)),
        (
            "scaling",
            scaling::ScalingChart {
                title: title.into(),
                series: xy_series(label, vals),
                power: xy_series(label, vals),
            }
            .render(size),
        ),
    ]
}

#[test]
fn every_chart_survives_degenerate_values() {
    for vals in value_sets() {
        for (name, svg) in render_all("degenerate", "case", &vals) {
            let svg = svg.unwrap_or_else(|e| panic!("{name} {vals:?}: {e}"));
            assert_xml(&svg);
            assert!(svg.len() < 200_000, "{name}: {} bytes", svg.len());
        }
    }
}

#[test]
fn every_chart_escapes_hostile_labels() {
    for (name, svg) in render_all(EVIL_TITLE, EVIL_LABEL, &[1.0, 2.0, 3.5]) {
        let svg = svg.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_xml(&svg);
        assert!(!svg.contains("<script"), "{name} has a raw <script");
        assert!(
            !svg.contains("onload=\""),
            "{name} has a raw onload attribute"
        );
        assert!(
            svg.contains("&lt;script&gt;"),
            "{name} lost the escaped title"
        );
        assert!(!svg.contains("&amp;lt;"), "{name} double-escaped");
        // Sentinel colours typed into a label stay text: the rewrite only touches attributes.
        assert!(
            svg.contains("&quot;#010211&quot;"),
            "{name} rewrote a label"
        );
        // The document parses and the hostile text survives as text.
        let doc = roxmltree::Document::parse(&svg).expect("xml");
        let title = doc
            .descendants()
            .find(|n| n.has_tag_name("title"))
            .and_then(|n| n.text());
        assert_eq!(title, Some(EVIL_TITLE), "{name}");
    }
}

#[test]
fn every_chart_is_deterministic() {
    let vals: Vec<f64> = (1..300).map(|i| f64::from(i).sqrt()).collect();
    let a = render_all("t", "l", &vals);
    let b = render_all("t", "l", &vals);
    for ((name, x), (_, y)) in a.into_iter().zip(b) {
        assert_eq!(x.expect("render"), y.expect("render"), "{name}");
    }
}

#[test]
fn huge_labels_are_cut() {
    let big = "label ".repeat(200_000);
    for (name, svg) in render_all(&big, &big, &[1.0, 2.0]) {
        let svg = svg.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_xml(&svg);
        assert!(svg.len() < 60_000, "{name}: {} bytes", svg.len());
    }
}

#[test]
fn log_axes_fall_back_to_linear() {
    let t = |vals: &[f64]| {
        ttft::TtftChart {
            title: "t".into(),
            series: vec![Series {
                label: "a".into(),
                points: vals
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| Point::new((i + 1) as f64 * 10.0, v))
                    .collect(),
            }],
        }
        .render(ChartSize::default())
        .expect("render")
    };
    assert!(t(&[0.01, 1.0, 10.0]).contains("time to first token (s, log scale)"));
    assert!(t(&[0.0, 1.0, 10.0]).contains("time to first token (s)"));
    assert!(t(&[-0.01, 1.0, 10.0]).contains("time to first token (s)"));
}

#[test]
fn sizes_outside_the_range_are_errors() {
    for (w, h) in [(0, 0), (199, 420), (720, 9000)] {
        let r = ttft_typical().render(ChartSize {
            width: w,
            height: h,
        });
        assert!(matches!(r, Err(ChartError::Size { .. })), "{w}x{h}");
    }
    for (w, h) in [(200, 200), (8000, 8000)] {
        for (name, svg) in render_all(
            "small",
            "a rather long label for a small chart",
            &[1.0, 2.0],
        ) {
            let _ = (w, h);
            assert_xml(&svg.unwrap_or_else(|e| panic!("{name}: {e}")));
        }
        assert_xml(
            &ttft_typical()
                .render(ChartSize {
                    width: w,
                    height: h,
                })
                .expect("render"),
        );
    }
}

#[test]
fn root_is_responsive_accessible_and_themeable() {
    let svg = ttft_typical().render(ChartSize::default()).expect("render");
    let doc = roxmltree::Document::parse(&svg).expect("xml");
    let root = doc.root_element();
    assert_eq!(root.attribute("role"), Some("img"));
    assert_eq!(root.attribute("viewBox"), Some("0 0 720 420"));
    assert_eq!(root.attribute("width"), Some("100%"));
    assert_eq!(root.attribute("height"), None);
    let first: Vec<&str> = root
        .children()
        .filter(|n| n.is_element())
        .take(2)
        .map(|n| n.tag_name().name())
        .collect();
    assert_eq!(first, ["title", "desc"]);
    // No theme-dependent colour is hard-coded: text and axes are currentColor, no background.
    for n in doc.descendants().filter(|n| n.has_tag_name("text")) {
        assert_eq!(n.attribute("fill"), Some("currentColor"));
    }
    assert!(!svg.contains("#0102"), "a sentinel colour survived");
    assert!(!svg.contains("#FFFFFF") && !svg.contains("#000000"));
    assert!(svg.contains("stroke-dasharray"));
}

// ---------------------------------------------------------------------------------------
// Size and speed with large inputs (assert time only in optimised builds).

#[test]
fn million_sample_cdf_is_small_and_fast() {
    let values = latencies(1_000_000, 0.05, 42);
    let chart = latency::CdfChart {
        title: "10⁶ samples".into(),
        x_label: "inter-token latency".into(),
        series: vec![
            latency::CdfSeries {
                label: "a".into(),
                values: values.clone(),
            },
            latency::CdfSeries {
                label: "b".into(),
                values: values.iter().map(|v| v * 1.7).collect(),
            },
        ],
    };
    let t = std::time::Instant::now();
    let svg = chart.render(ChartSize::default()).expect("render");
    let el = t.elapsed();
    println!(
        "cdf 2 x 10^6 samples: {:.3} s, {} bytes",
        el.as_secs_f64(),
        svg.len()
    );
    assert_xml(&svg);
    assert!(svg.len() < 200_000, "{} bytes", svg.len());
    if !cfg!(debug_assertions) {
        assert!(el.as_secs_f64() < 2.0);
    }
    write_sample("latency_cdf_1e6", &svg);

    let boxes = latency::BoxChart {
        title: "10⁶ samples".into(),
        y_label: "inter-token latency".into(),
        boxes: vec![latency::BoxSeries {
            label: "a".into(),
            values,
        }],
    };
    let t = std::time::Instant::now();
    let svg = boxes.render(ChartSize::default()).expect("render");
    let el = t.elapsed();
    println!(
        "box 10^6 samples: {:.3} s, {} bytes",
        el.as_secs_f64(),
        svg.len()
    );
    assert_xml(&svg);
    assert!(svg.len() < 200_000, "{} bytes", svg.len());
    if !cfg!(debug_assertions) {
        assert!(el.as_secs_f64() < 2.0);
    }
}

#[test]
fn hour_long_power_trace_is_small_and_fast() {
    let chart = power_chart(3600.0);
    let samples: usize = chart.rails.iter().map(|r| r.points.len()).sum();
    let t = std::time::Instant::now();
    let svg = chart.render(ChartSize::default()).expect("render");
    let el = t.elapsed();
    println!(
        "power {} rails x {} samples, {} phases: {:.3} s, {} bytes",
        chart.rails.len(),
        samples / chart.rails.len(),
        chart.phases.len(),
        el.as_secs_f64(),
        svg.len()
    );
    assert_xml(&svg);
    assert!(svg.len() < 200_000, "{} bytes", svg.len());
    if !cfg!(debug_assertions) {
        assert!(el.as_secs_f64() < 2.0);
    }
    write_sample("power_1h", &svg);
}

#[test]
fn edge_samples_for_review() {
    let all = render_all(EVIL_TITLE, EVIL_LABEL, &[0.0, 1.0, 1000.0]);
    for (name, svg) in all {
        write_sample(&format!("edge_hostile_{name}"), &svg.expect("render"));
    }
    for (name, svg) in render_all("empty", "case", &[]) {
        write_sample(&format!("edge_empty_{name}"), &svg.expect("render"));
    }
    let small = ChartSize {
        width: 240,
        height: 200,
    };
    write_sample(
        "edge_small_bars",
        &bars_typical().render(small).expect("render"),
    );
    write_sample(
        "edge_small_ttft",
        &ttft_typical().render(small).expect("render"),
    );
}

#[test]
fn many_categories_stay_bounded() {
    let vals: Vec<f64> = (1..=3000).map(f64::from).collect();
    let mut bars = bar_chart("many", "case", &vals);
    bars.categories = vals.iter().map(|v| format!("case number {v}")).collect();
    let svg = bars.render(ChartSize::default()).expect("render");
    assert_xml(&svg);
    assert!(svg.len() < 1_500_000, "{} bytes", svg.len());
    write_sample("edge_many_bars", &svg);
    let sp = speedup::SpeedupChart {
        title: "many".into(),
        base_label: "a".into(),
        current_label: "b".into(),
        bars: vals
            .iter()
            .map(|v| speedup::SpeedupBar {
                label: format!("case {v}"),
                speedup: 0.5 + v / 3000.0,
                low: None,
                high: None,
            })
            .collect(),
    };
    let svg = sp.render(ChartSize::default()).expect("render");
    assert_xml(&svg);
    write_sample("edge_many_speedup", &svg);
}
