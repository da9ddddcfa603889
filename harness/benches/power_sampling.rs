//! What power sampling costs bench itself: handling one sample (encode it as a `power.jsonl`
//! line, add it to the energy trace), and cutting one measurement's energy out of an hour of
//! samples. At 10 Hz, the first times 10 is the CPU share of one core that sampling takes
//! (beside the source's own reading: an NVML call, a file read, an HTTP scrape).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};

use bench::power::energy::Trace;
use bench::power::{MeasurementEnergy, Phase, RailReading, Sample, Scope, Thermal};

fn sample(i: usize) -> Sample {
    let t = i as f64 * 0.1;
    Sample {
        t_s: t,
        window_s: 0.1,
        source: "powermetrics".into(),
        rails: vec![
            RailReading::watts("cpu", Scope::Cpu, 4.0 + (i % 7) as f64),
            RailReading::watts("gpu", Scope::Gpu, 20.0 + (i % 5) as f64),
            RailReading::watts("ane", Scope::Ane, 0.0),
            RailReading::watts("combined", Scope::CpuGpuAne, 25.0 + (i % 3) as f64),
        ],
        thermal: Thermal {
            pressure: Some("Nominal".into()),
            clocks_mhz: [("gpu".to_string(), 1398.0)].into(),
            ..Thermal::default()
        },
        ..Sample::default()
    }
}

fn handle_one_sample(c: &mut Criterion) {
    let mut trace = Trace::new();
    let mut line = Vec::with_capacity(512);
    let mut i = 0;
    c.bench_function("handle one sample (jsonl line + trace)", |b| {
        b.iter(|| {
            let s = sample(i);
            i += 1;
            line.clear();
            serde_json::to_writer(&mut line, &s).unwrap();
            line.push(b'\n');
            trace.push(&s);
            black_box(&line);
        })
    });
}

fn energy_of_one_measurement(c: &mut Criterion) {
    let samples: Vec<Sample> = (1..=36_000).map(sample).collect();
    let trace = Trace::from_samples(&samples);
    let phases = [
        Phase {
            name: "total",
            start_s: 1800.0,
            end_s: 1830.0,
        },
        Phase {
            name: "prefill",
            start_s: 1800.0,
            end_s: 1802.0,
        },
        Phase {
            name: "decode",
            start_s: 1802.0,
            end_s: 1830.0,
        },
    ];
    let near = &samples[17_000..19_000];
    c.bench_function(
        "energy of one measurement in an hour of 10 Hz samples",
        |b| b.iter(|| MeasurementEnergy::compute("powermetrics", &trace, near, &phases, None)),
    );
}

criterion_group!(benches, handle_one_sample, energy_of_one_measurement);
criterion_main!(benches);
