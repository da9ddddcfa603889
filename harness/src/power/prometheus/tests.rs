use std::time::{Duration, Instant};

use super::http::test_server::{self, Then};
use super::*;

/// dcgm-exporter 3.x with the default counters on a two-GPU host: labels as it emits them
/// (`gpu`, `UUID`, `pci_bus_id`, `device`, `modelName`, `Hostname`, driver version), values
/// as it prints them (`%f` floats, integer counters). GPU 1's memory temperature is DCGM's
/// integer "blank".
const DCGM: &str = r#"# HELP DCGM_FI_DEV_SM_CLOCK SM clock frequency (in MHz).
# TYPE DCGM_FI_DEV_SM_CLOCK gauge
DCGM_FI_DEV_SM_CLOCK{gpu="0",UUID="GPU-2948068a-d3bd-fe5c-48c7-3b9ad325276d",pci_bus_id="00000000:07:00.0",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-7",DCGM_FI_DRIVER_VERSION="550.54.15"} 1980
DCGM_FI_DEV_SM_CLOCK{gpu="1",UUID="GPU-ac37caa9-f740-a02b-0ac6-5958644edaa9",pci_bus_id="00000000:0F:00.0",device="nvidia1",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-7",DCGM_FI_DRIVER_VERSION="550.54.15"} 345
# HELP DCGM_FI_DEV_MEM_CLOCK Memory clock frequency (in MHz).
# TYPE DCGM_FI_DEV_MEM_CLOCK gauge
DCGM_FI_DEV_MEM_CLOCK{gpu="0",UUID="GPU-2948068a-d3bd-fe5c-48c7-3b9ad325276d",pci_bus_id="00000000:07:00.0",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-7",DCGM_FI_DRIVER_VERSION="550.54.15"} 2619
DCGM_FI_DEV_MEM_CLOCK{gpu="1",UUID="GPU-ac37caa9-f740-a02b-0ac6-5958644edaa9",pci_bus_id="00000000:0F:00.0",device="nvidia1",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-7",DCGM_FI_DRIVER_VERSION="550.54.15"} 2619
# HELP DCGM_FI_DEV_MEMORY_TEMP Memory temperature (in C).
# TYPE DCGM_FI_DEV_MEMORY_TEMP gauge
DCGM_FI_DEV_MEMORY_TEMP{gpu="0",UUID="GPU-2948068a-d3bd-fe5c-48c7-3b9ad325276d",pci_bus_id="00000000:07:00.0",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-7",DCGM_FI_DRIVER_VERSION="550.54.15"} 41
DCGM_FI_DEV_MEMORY_TEMP{gpu="1",UUID="GPU-ac37caa9-f740-a02b-0ac6-5958644edaa9",pci_bus_id="00000000:0F:00.0",device="nvidia1",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-7",DCGM_FI_DRIVER_VERSION="550.54.15"} 9223372036854775794
# HELP DCGM_FI_DEV_GPU_TEMP GPU temperature (in C).
# TYPE DCGM_FI_DEV_GPU_TEMP gauge
DCGM_FI_DEV_GPU_TEMP{gpu="0",UUID="GPU-2948068a-d3bd-fe5c-48c7-3b9ad325276d",pci_bus_id="00000000:07:00.0",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-7",DCGM_FI_DRIVER_VERSION="550.54.15"} 61
DCGM_FI_DEV_GPU_TEMP{gpu="1",UUID="GPU-ac37caa9-f740-a02b-0ac6-5958644edaa9",pci_bus_id="00000000:0F:00.0",device="nvidia1",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-7",DCGM_FI_DRIVER_VERSION="550.54.15"} 33
# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).
# TYPE DCGM_FI_DEV_POWER_USAGE gauge
DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-2948068a-d3bd-fe5c-48c7-3b9ad325276d",pci_bus_id="00000000:07:00.0",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-7",DCGM_FI_DRIVER_VERSION="550.54.15"} 612.345000
DCGM_FI_DEV_POWER_USAGE{gpu="1",UUID="GPU-ac37caa9-f740-a02b-0ac6-5958644edaa9",pci_bus_id="00000000:0F:00.0",device="nvidia1",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-7",DCGM_FI_DRIVER_VERSION="550.54.15"} 71.250000
# HELP DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION Total energy consumption since boot (in mJ).
# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter
DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{gpu="0",UUID="GPU-2948068a-d3bd-fe5c-48c7-3b9ad325276d",pci_bus_id="00000000:07:00.0",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-7",DCGM_FI_DRIVER_VERSION="550.54.15"} 7299606661
DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{gpu="1",UUID="GPU-ac37caa9-f740-a02b-0ac6-5958644edaa9",pci_bus_id="00000000:0F:00.0",device="nvidia1",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-7",DCGM_FI_DRIVER_VERSION="550.54.15"} 1834221007
# HELP DCGM_FI_DEV_CLOCK_THROTTLE_REASONS Current clock throttle reasons.
# TYPE DCGM_FI_DEV_CLOCK_THROTTLE_REASONS gauge
DCGM_FI_DEV_CLOCK_THROTTLE_REASONS{gpu="0",UUID="GPU-2948068a-d3bd-fe5c-48c7-3b9ad325276d",pci_bus_id="00000000:07:00.0",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-7",DCGM_FI_DRIVER_VERSION="550.54.15"} 4
DCGM_FI_DEV_CLOCK_THROTTLE_REASONS{gpu="1",UUID="GPU-ac37caa9-f740-a02b-0ac6-5958644edaa9",pci_bus_id="00000000:0F:00.0",device="nvidia1",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-7",DCGM_FI_DRIVER_VERSION="550.54.15"} 1
"#;

/// node_exporter 1.x `rapl` collector on a two-socket Xeon: one metric per zone name, labels
/// `index` (the zone's number) and `path` (its powercap folder), joules as `%g`-style floats.
const NODE_RAPL: &str = r#"# HELP node_rapl_dram_joules_total Current RAPL dram value in joules
# TYPE node_rapl_dram_joules_total counter
node_rapl_dram_joules_total{index="0",path="/sys/class/powercap/intel-rapl:0:0"} 42733.469825
node_rapl_dram_joules_total{index="1",path="/sys/class/powercap/intel-rapl:1:0"} 40123.5
# HELP node_rapl_package_joules_total Current RAPL package value in joules
# TYPE node_rapl_package_joules_total counter
node_rapl_package_joules_total{index="0",path="/sys/class/powercap/intel-rapl:0"} 106211.839852
node_rapl_package_joules_total{index="1",path="/sys/class/powercap/intel-rapl:1"} 1.0234567e+05
# HELP node_scrape_collector_success node_exporter: Whether a collector succeeded.
# TYPE node_scrape_collector_success gauge
node_scrape_collector_success{collector="rapl"} 1
"#;

fn rail<'a>(sample: &'a Sample, name: &str) -> &'a RailReading {
    sample
        .rails
        .iter()
        .find(|r| r.rail == name)
        .unwrap_or_else(|| panic!("no rail {name} in {:?}", sample.rails))
}

use crate::power::testing::close;

#[test]
fn infer_knows_the_exporters() {
    let one = |name: &str| {
        let specs = MetricSpec::infer(name);
        assert_eq!(specs.len(), 1, "{name}: {specs:?}");
        let s = specs.into_iter().next().unwrap();
        (s.unit, s.scope, s.rail)
    };
    assert_eq!(
        one("DCGM_FI_DEV_POWER_USAGE"),
        (Unit::Watts, Scope::GpuBoard, "gpu{gpu}".into())
    );
    assert_eq!(
        one("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"),
        (Unit::Millijoules, Scope::GpuBoard, "gpu{gpu}".into())
    );
    assert_eq!(
        one("node_rapl_package_joules_total"),
        (Unit::Joules, Scope::Package, "package-{index}".into())
    );
    assert_eq!(
        one("node_rapl_dram_joules_total"),
        (Unit::Joules, Scope::Dram, "dram-{index}".into())
    );
    assert_eq!(one("node_rapl_psys_joules_total").1, Scope::Platform);
    assert_eq!(one("node_rapl_mmio_joules_total").1, Scope::Other);
    for (name, rail, scope) in [
        ("macmon_cpu_power_watts", "cpu", Scope::Cpu),
        ("macmon_gpu_power_watts", "gpu", Scope::Gpu),
        ("macmon_ane_power_watts", "ane", Scope::Ane),
        ("macmon_all_power_watts", "combined", Scope::CpuGpuAne),
        ("macmon_sys_power_watts", "sys", Scope::System),
        ("macmon_ram_power_watts", "ram", Scope::Dram),
        ("macmon_gpu_ram_power_watts", "gpu_ram", Scope::Other),
    ] {
        assert_eq!(one(name), (Unit::Watts, scope, rail.into()), "{name}");
    }
    assert_eq!(
        one("kepler_node_cpu_watts"),
        (Unit::Watts, Scope::Other, "kepler_node_cpu".into())
    );
    assert_eq!(one("pdu_outlet_energy_joules_total").0, Unit::Joules);
    assert_eq!(one("some_energy_joules").0, Unit::Joules);
    assert_eq!(one("scaph_host_energy_microjoules").0, Unit::Microjoules);
    assert_eq!(one("board_power_milliwatts").0, Unit::Milliwatts);
    assert!(MetricSpec::infer("scaph_host_power_microwatts").is_empty());
    assert!(MetricSpec::infer("DCGM_FI_DEV_GPU_TEMP").is_empty());
    assert!(MetricSpec::infer("_watts").is_empty());

    // The zone-label form: one spec per zone.
    let zones = MetricSpec::infer("node_rapl_joules_total");
    assert_eq!(zones.len(), 5);
    assert_eq!(zones[1].labels["rapl_zone"], "dram");
    assert_eq!(zones[1].scope, Scope::Dram);
}

#[test]
fn dcgm_power_and_energy_share_one_rail_per_gpu() {
    let points = parse_exposition(DCGM).unwrap();
    let specs = MetricSpec::detect(&points);
    let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "DCGM_FI_DEV_POWER_USAGE",
            "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"
        ]
    );
    let sample = to_sample(&points, &specs, 12.5, 0.0);
    assert_eq!((sample.t_s, sample.window_s), (12.5, 0.0));
    assert_eq!(sample.source, "prometheus");
    assert_eq!(sample.rails.len(), 2);
    let gpu0 = rail(&sample, "gpu0");
    assert_eq!(gpu0.scope, Scope::GpuBoard);
    assert_eq!(gpu0.watts, Some(612.345));
    assert!(close(gpu0.counter_j.unwrap(), 7_299_606.661));
    let gpu1 = rail(&sample, "gpu1");
    assert_eq!(gpu1.watts, Some(71.25));
    assert!(close(gpu1.counter_j.unwrap(), 1_834_221.007));

    let t = &sample.thermal;
    assert_eq!(t.temps_c.len(), 2);
    assert_eq!((t.temps_c["gpu0"], t.temps_c["gpu1"]), (61.0, 33.0));
    assert_eq!(t.clocks_mhz["gpu0_sm"], 1980.0);
    assert_eq!(t.clocks_mhz["gpu1_sm"], 345.0);
    assert_eq!(t.clocks_mhz["gpu1_mem"], 2619.0);
    assert_eq!(t.throttle, ["gpu0:sw_power_cap", "gpu1:gpu_idle"]);
    assert_eq!(t.flags(), ["throttle:gpu0:sw_power_cap"]);
}

#[test]
fn dcgm_blank_values_are_no_reading() {
    let text = DCGM.replace("612.345000", "140737488355328.000000");
    let points = parse_exposition(&text).unwrap();
    let sample = to_sample(&points, &MetricSpec::detect(&points), 0.0, 0.0);
    let gpu0 = rail(&sample, "gpu0");
    assert_eq!(gpu0.watts, None);
    assert!(gpu0.counter_j.is_some());
    // Rails keep their names when a neighbour's reading is blank.
    assert_eq!(rail(&sample, "gpu1").watts, Some(71.25));
}

#[test]
fn node_exporter_rapl_zones_by_socket() {
    let points = parse_exposition(NODE_RAPL).unwrap();
    let specs = MetricSpec::detect(&points);
    assert_eq!(specs.len(), 2);
    let sample = to_sample(&points, &specs, 1.0, 0.0);
    let names: Vec<&str> = sample.rails.iter().map(|r| r.rail.as_str()).collect();
    assert_eq!(names, ["dram-0", "dram-1", "package-0", "package-1"]);
    assert_eq!(rail(&sample, "dram-0").scope, Scope::Dram);
    assert_eq!(rail(&sample, "dram-0").counter_j, Some(42733.469825));
    assert_eq!(rail(&sample, "package-1").scope, Scope::Package);
    assert_eq!(rail(&sample, "package-1").counter_j, Some(102345.67));
    assert!(sample.rails.iter().all(|r| r.watts.is_none()));
    assert!(sample.thermal.is_empty());
}

#[test]
fn node_exporter_duplicate_zone_indexes_and_the_zone_label_form() {
    // procfs numbers zones by name, so the MMIO copy of package 0 also has index 0.
    let text = "node_rapl_package_joules_total{index=\"0\",path=\"/sys/class/powercap/intel-rapl-mmio:0\"} 10\n\
                node_rapl_package_joules_total{index=\"0\",path=\"/sys/class/powercap/intel-rapl:0\"} 11\n";
    let points = parse_exposition(text).unwrap();
    let sample = to_sample(&points, &MetricSpec::detect(&points), 0.0, 0.0);
    let names: Vec<&str> = sample.rails.iter().map(|r| r.rail.as_str()).collect();
    assert_eq!(
        names,
        ["package-0-intel-rapl-mmio:0", "package-0-intel-rapl:0"]
    );

    // `--collector.rapl.enable-zone-label`.
    let text = "# TYPE node_rapl_joules_total counter\n\
                node_rapl_joules_total{index=\"0\",path=\"/sys/class/powercap/intel-rapl:0\",rapl_zone=\"package\"} 100.5\n\
                node_rapl_joules_total{index=\"0\",path=\"/sys/class/powercap/intel-rapl:0:0\",rapl_zone=\"core\"} 60.25\n\
                node_rapl_joules_total{index=\"0\",path=\"/sys/class/powercap/intel-rapl:0:1\",rapl_zone=\"uncore\"} 3\n";
    let points = parse_exposition(text).unwrap();
    let specs = MetricSpec::detect(&points);
    assert_eq!(specs.len(), 3, "only zones present: {specs:?}");
    let sample = to_sample(&points, &specs, 0.0, 0.0);
    let got: Vec<(&str, Scope, Option<f64>)> = sample
        .rails
        .iter()
        .map(|r| (r.rail.as_str(), r.scope, r.counter_j))
        .collect();
    assert_eq!(
        got,
        [
            ("package-0", Scope::Package, Some(100.5)),
            ("core-0", Scope::Core, Some(60.25)),
            ("uncore-0", Scope::Uncore, Some(3.0)),
        ]
    );
}

#[test]
fn macmon_serve_metrics_fixture() {
    let text = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/apple/macmon_serve_metrics_prometheus_readme_example.txt"
    ));
    let points = parse_exposition(text).unwrap();
    let specs = MetricSpec::detect(&points);
    assert_eq!(specs.len(), 1);
    let sample = to_sample(&points, &specs, 0.0, 0.0);
    assert_eq!(sample.rails, [RailReading::watts("cpu", Scope::Cpu, 8.42)]);
    assert_eq!(sample.thermal.temps_c["cpu_avg"], 47.3);
    assert_eq!(sample.thermal.clocks_mhz["ecpu"], 1100.0);
    assert_eq!(sample.thermal.temps_c.len(), 1);
    assert_eq!(sample.thermal.clocks_mhz.len(), 1);

    // No SMC reading: macmon writes 0, which is no reading.
    let text = "macmon_sys_power_watts{chip=\"Apple M3 Pro\"} 0\n\
                macmon_all_power_watts{chip=\"Apple M3 Pro\"} 0\n\
                macmon_gpu_temp_celsius{chip=\"Apple M3 Pro\"} 0\n";
    let points = parse_exposition(text).unwrap();
    let sample = to_sample(&points, &MetricSpec::detect(&points), 0.0, 0.0);
    assert_eq!(
        sample.rails,
        [RailReading::watts("combined", Scope::CpuGpuAne, 0.0)]
    );
    assert!(sample.thermal.is_empty());
}

#[test]
fn user_specs_filter_by_escaped_labels_and_name_rails_apart() {
    let text = r#"# TYPE pdu_outlet_watts gauge
pdu_outlet_watts{rack="r1",outlet="1",desc="GPU box \"A\""} 350
pdu_outlet_watts{rack="r1",outlet="2",desc="C:\\boxes\nB"} 120.5
pdu_outlet_watts{rack="r2",outlet="1",desc="other"} NaN
pdu_energy_millijoules_total{rack="r1"} 5000
"#;
    let points = parse_exposition(text).unwrap();
    let rack1 = MetricSpec::new("pdu_outlet_watts", Unit::Watts, Scope::System, "pdu")
        .with_label("rack", "r1");
    let sample = to_sample(&points, std::slice::from_ref(&rack1), 0.0, 0.0);
    let got: Vec<(&str, Option<f64>)> = sample
        .rails
        .iter()
        .map(|r| (r.rail.as_str(), r.watts))
        .collect();
    // `desc` and `outlet` both differ; names take both, in label order.
    assert_eq!(
        got,
        [
            ("pdu-GPU_box_\"A\"-1", Some(350.0)),
            ("pdu-C:\\boxes_B-2", Some(120.5))
        ]
    );

    // Exact match on an unescaped value picks one series.
    let one = rack1.clone().with_label("desc", "C:\\boxes\nB");
    let sample = to_sample(&points, &[one], 0.0, 0.0);
    assert_eq!(
        sample.rails,
        [RailReading::watts("pdu", Scope::System, 120.5)]
    );

    // A template names rails by label; NaN is no reading.
    let by_outlet = MetricSpec::new(
        "pdu_outlet_watts",
        Unit::Watts,
        Scope::Other,
        "{rack}/outlet{outlet}",
    );
    let sample = to_sample(&points, &[by_outlet], 0.0, 0.0);
    let names: Vec<&str> = sample.rails.iter().map(|r| r.rail.as_str()).collect();
    assert_eq!(names, ["r1/outlet1", "r1/outlet2"]);

    // Two gauges on one rail name: the second is set apart, not merged.
    let energy = MetricSpec::new(
        "pdu_energy_millijoules_total",
        Unit::Millijoules,
        Scope::System,
        "pdu",
    );
    let again = MetricSpec::new("pdu_outlet_watts", Unit::Watts, Scope::System, "pdu")
        .with_label("outlet", "2");
    let sample = to_sample(
        &points,
        &[rack1.with_label("outlet", "1"), energy, again],
        0.0,
        0.0,
    );
    let got: Vec<(&str, Option<f64>, Option<f64>)> = sample
        .rails
        .iter()
        .map(|r| (r.rail.as_str(), r.watts, r.counter_j))
        .collect();
    assert_eq!(
        got,
        [
            ("pdu", Some(350.0), Some(5.0)),
            ("pdu-2", Some(120.5), None)
        ]
    );
}

fn failed(result: Result<Option<Sample>, PowerError>) -> String {
    match result {
        Err(PowerError::Failed { reason, .. }) => reason,
        other => panic!("expected Failed, got {other:?}"),
    }
}

fn unavailable(result: Result<PrometheusSource, PowerError>) -> String {
    match result {
        Err(PowerError::Unavailable { reason, .. }) => reason,
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[test]
fn source_scrapes_continues_counters_across_resets_then_fails() {
    // The exporter restarts between the second and third scrape: its counter starts over.
    let restarted = DCGM
        .replace("7299606661", "1000")
        .replace("1834221007", "2000");
    let bumped = DCGM
        .replace("7299606661", "7299616661")
        .replace("1834221007", "1834222007");
    let url = test_server::start(
        vec![
            (200, DCGM.into()),
            (200, DCGM.into()),
            (200, bumped),
            (200, restarted),
        ],
        Then::Close,
    );
    let clock = RunClock::start();
    let mut source = PrometheusSource::open_names(
        &url,
        &[
            "DCGM_FI_DEV_POWER_USAGE",
            "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
        ],
        Duration::from_millis(50),
    )
    .unwrap();
    assert_eq!(source.url(), format!("{url}/metrics"));
    let description = source.describe();
    assert!(
        description.contains("DCGM_FI_DEV_POWER_USAGE (W, gpu-board) as gpu0, gpu1"),
        "{description}"
    );
    let a = source.next(&clock).unwrap().unwrap();
    let b = source.next(&clock).unwrap().unwrap();
    let c = source.next(&clock).unwrap().unwrap();
    assert!(a.t_s < b.t_s && b.t_s < c.t_s);
    assert_eq!(a.window_s, 0.0);
    assert_eq!(a.host, None);
    assert_eq!(rail(&a, "gpu0").watts, Some(612.345));
    let j = |s: &Sample, r: &str| rail(s, r).counter_j.unwrap();
    assert!(close(j(&a, "gpu0"), 7_299_606.661));
    assert!(close(j(&b, "gpu0") - j(&a, "gpu0"), 10.0));
    // After the restart: +1 J (from 0 to 1000 mJ), never backwards.
    assert!(close(j(&c, "gpu0") - j(&b, "gpu0"), 1.0));
    assert!(close(j(&c, "gpu1") - j(&b, "gpu1"), 2.0));
    let reason = failed(source.next(&clock));
    assert!(reason.contains("stopped answering"), "{reason}");
}

#[test]
fn source_fails_when_the_endpoint_hangs() {
    let url = test_server::start(vec![(200, NODE_RAPL.into())], Then::Hang);
    let clock = RunClock::start();
    let mut source = PrometheusSource::open_with_timeout(
        &format!("{url}/metrics"),
        Vec::new(),
        Duration::from_millis(50),
        Duration::from_millis(300),
    )
    .unwrap();
    assert_eq!(source.specs().len(), 2);
    let started = Instant::now();
    let reason = failed(source.next(&clock));
    assert!(reason.contains("stopped answering"), "{reason}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn open_says_what_is_wrong() {
    let interval = Duration::from_secs(1);
    // A spec that matches nothing names the power-like metrics there are.
    let url = test_server::start(vec![(200, DCGM.into())], Then::Close);
    let reason = unavailable(PrometheusSource::open_names(
        &url,
        &["node_rapl_package_joules_total"],
        interval,
    ));
    assert!(
        reason.contains("no series for `node_rapl_package_joules_total`")
            && reason.contains("DCGM_FI_DEV_POWER_USAGE, DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"),
        "{reason}"
    );
    // A label filter that matches nothing is named too.
    let url = test_server::start(vec![(200, DCGM.into())], Then::Close);
    let spec = MetricSpec::new("DCGM_FI_DEV_POWER_USAGE", Unit::Watts, Scope::GpuBoard, "g")
        .with_label("gpu", "7");
    let reason = unavailable(PrometheusSource::open(&url, vec![spec], interval));
    assert!(
        reason.contains("`DCGM_FI_DEV_POWER_USAGE`{gpu=\"7\"}"),
        "{reason}"
    );

    // Nothing known, and nothing asked for.
    let scaphandre = "# TYPE scaph_host_power_microwatts gauge\n\
                      scaph_host_power_microwatts 12000000\n\
                      process_cpu_seconds_total 3.5\n";
    let url = test_server::start(vec![(200, scaphandre.into())], Then::Close);
    let reason = unavailable(PrometheusSource::open(&url, Vec::new(), interval));
    assert!(reason.contains("scaph_host_power_microwatts"), "{reason}");
    assert!(!reason.contains("process_cpu"), "{reason}");

    // A name whose unit cannot be told.
    let reason = unavailable(PrometheusSource::open_names(
        "127.0.0.1:1",
        &["scaph_host_power_microwatts"],
        interval,
    ));
    assert!(reason.contains("cannot tell the unit"), "{reason}");

    // Down, not the format, https.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let reason = unavailable(PrometheusSource::open(
        &format!("http://127.0.0.1:{port}/metrics"),
        Vec::new(),
        interval,
    ));
    assert!(reason.contains("cannot scrape"), "{reason}");
    let url = test_server::start(vec![(200, "<html>login</html>".into())], Then::Close);
    let reason = unavailable(PrometheusSource::open(&url, Vec::new(), interval));
    assert!(reason.contains("line 1"), "{reason}");
    let url = test_server::start(vec![(404, "not found".into())], Then::Close);
    let reason = unavailable(PrometheusSource::open(&url, Vec::new(), interval));
    assert!(reason.contains("HTTP 404"), "{reason}");
    let reason = unavailable(PrometheusSource::open(
        "https://gpu-host:9400/metrics",
        Vec::new(),
        interval,
    ));
    assert!(reason.contains("no TLS"), "{reason}");
}

#[test]
fn specs_read_from_a_suite_file_shape() {
    let spec: MetricSpec = serde_json::from_str(
        r#"{"name": "pdu_watts", "labels": {"outlet": "3"}, "unit": "milliwatts",
            "scope": "system", "rail": "wall"}"#,
    )
    .unwrap();
    assert_eq!(spec.unit, Unit::Milliwatts);
    assert_eq!(spec.labels["outlet"], "3");
    let points = parse_exposition("pdu_watts{outlet=\"3\"} 250000\n").unwrap();
    let sample = to_sample(&points, &[spec], 0.0, 0.0);
    assert_eq!(
        sample.rails,
        [RailReading::watts("wall", Scope::System, 250.0)]
    );
}

#[test]
fn bench_power_serve_metrics_are_detected_with_their_scopes() {
    // As `bench power serve` writes them: a rail with power only, one with a counter too, and
    // the bookkeeping series that are no rail.
    let text = r#"# HELP bench_power_watts Power per rail, watts, in the latest sample.
# TYPE bench_power_watts gauge
bench_power_watts{rail="combined",scope="cpu-gpu-ane"} 12.5
bench_power_watts{rail="gpu0",scope="gpu-board"} 300
# TYPE bench_energy_joules_total counter
bench_energy_joules_total{rail="combined",scope="cpu-gpu-ane"} 42
bench_energy_joules_total{rail="gpu0",scope="gpu-board"} 5000.25
bench_energy_joules_total{rail="pkg",scope="package"} 7
# TYPE bench_power_sample_age_seconds gauge
bench_power_sample_age_seconds 0.1
# TYPE bench_power_samples_total counter
bench_power_samples_total 17
"#;
    let points = parse_exposition(text).unwrap();
    let specs = MetricSpec::detect(&points);
    assert!(specs
        .iter()
        .all(|s| s.name == "bench_power_watts" || s.name == "bench_energy_joules_total"));
    let sample = to_sample(&points, &specs, 1.0, 0.0);
    let rails: Vec<(&str, Scope, Option<f64>, Option<f64>)> = sample
        .rails
        .iter()
        .map(|r| (r.rail.as_str(), r.scope, r.watts, r.counter_j))
        .collect();
    assert_eq!(
        rails,
        [
            ("combined", Scope::CpuGpuAne, Some(12.5), Some(42.0)),
            ("gpu0", Scope::GpuBoard, Some(300.0), Some(5000.25)),
            ("pkg", Scope::Package, None, Some(7.0)),
        ]
    );
}

#[test]
fn a_401_says_whether_a_token_is_missing_or_refused() {
    let interval = Duration::from_secs(1);
    let url = test_server::start(vec![(401, "missing bearer token".into())], Then::Close);
    let reason = unavailable(PrometheusSource::open(&url, Vec::new(), interval));
    assert!(
        reason.contains("needs a bearer token") && reason.contains("--token-file"),
        "{reason}"
    );
    let url = test_server::start(vec![(401, "wrong bearer token".into())], Then::Close);
    let settings = HttpSettings::with_token(Some("guess".into()));
    let reason = unavailable(PrometheusSource::open_with(
        &url,
        Vec::new(),
        interval,
        &settings,
    ));
    assert!(reason.contains("refused the bearer token"), "{reason}");
    assert!(
        !format!("{settings:?}").contains("guess"),
        "the token stays out of Debug"
    );
}
