//! The report's pages keep their bytes: a site made from the stored fixture runs is compared
//! byte for byte with the pages recorded in `tests/fixtures/report/format-1/`, and the
//! published sites under `reports/published/` are made again from their runs under
//! `results/published/` and compared with what was published. How a page is built (string
//! formatting, templates) may change; what a reader gets may not, unless on purpose:
//! `BENCH_BLESS_REPORT=1` records the fixture site anew.
//!
//! The fixture site has the three format-1 runs (text, images, load with a conversation and a
//! failed request) and a fourth made from the text run: a two-node sweep carrying markup in
//! its id, machine, description and case ids, so the page's cluster table and its escaping
//! are held too. The published sites hold comparisons with charts and roofline tables.

use std::path::{Path, PathBuf};

use bench::report::Report;
use bench::stats::bootstrap::BootstrapConfig;
use bench::store::{read_power, StoredRun};

/// Markup and quote-breaking text, as a hostile server or model name could carry.
const PAYLOAD: &str = r#"<b>&amp;</b>"'><img src=x>"#;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A run folder and its power samples, as `bench report` reads them.
fn read(dir: &Path) -> (StoredRun, Vec<bench::power::Sample>) {
    let run = StoredRun::read(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let power = read_power(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    (run, power)
}

/// Every page of a site, by file name.
fn site(report: &Report, out: &Path) -> Vec<(String, Vec<u8>)> {
    let mut pages: Vec<(String, Vec<u8>)> = report
        .write_html(out)
        .unwrap()
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    pages.sort();
    pages
}

/// A page with this build's version where a page names the version that made it, so that a
/// release does not count as a change of the pages.
fn versionless(page: &[u8]) -> String {
    String::from_utf8(page.to_vec()).unwrap().replace(
        concat!("bench ", env!("CARGO_PKG_VERSION")),
        "bench VERSION",
    )
}

/// The first line where two pages part, for the failure message.
fn first_difference(made: &str, expected: &str) -> String {
    let line = made
        .lines()
        .zip(expected.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| made.lines().count().min(expected.lines().count()));
    format!(
        "line {}:\n  made:     {:?}\n  expected: {:?}",
        line + 1,
        made.lines().nth(line).unwrap_or("(end)"),
        expected.lines().nth(line).unwrap_or("(end)")
    )
}

/// The fixture runs' report, with a two-node sweep made from the text run.
fn fixture_report() -> Report {
    let fixtures = manifest_dir().join("tests/fixtures/store/format-1");
    let runs = ["text-power", "images-power", "load-power"]
        .map(|name| read(&fixtures.join(name)))
        .to_vec();
    let mut report = Report::build(runs, &BootstrapConfig::default());
    let mut cluster = report.runs[0].clone();
    let m = &mut cluster.run.manifest;
    m.run_id = format!("cluster{PAYLOAD}");
    m.environment.hostname = PAYLOAD.into();
    m.environment.cpu_model = PAYLOAD.into();
    m.suite.parsed["suite"]["description"] = PAYLOAD.into();
    let one = cluster.summaries[0].clone();
    cluster.summaries = [1, 2]
        .into_iter()
        .map(|nodes| {
            let mut s = one.clone();
            s.case.id = format!("cluster/{PAYLOAD}-n{nodes}");
            s.case.nodes = Some(nodes);
            s
        })
        .collect();
    report.runs.push(cluster);
    report
}

#[test]
fn the_fixture_runs_pages_are_the_recorded_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let pages = site(&fixture_report(), tmp.path());
    let recorded = manifest_dir().join("tests/fixtures/report/format-1");
    if std::env::var_os("BENCH_BLESS_REPORT").is_some() {
        let _ = std::fs::remove_dir_all(&recorded);
        std::fs::create_dir_all(&recorded).unwrap();
        for (name, bytes) in &pages {
            std::fs::write(recorded.join(name), versionless(bytes)).unwrap();
        }
    }
    let mut names: Vec<String> = std::fs::read_dir(&recorded)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let made: Vec<&String> = pages.iter().map(|(n, _)| n).collect();
    assert_eq!(
        made,
        names.iter().collect::<Vec<_>>(),
        "the pages of the site"
    );
    assert!(
        pages.len() == 6,
        "an index, four runs, a comparison: {made:?}"
    );
    for (name, bytes) in &pages {
        let made = versionless(bytes);
        let expected = std::fs::read_to_string(recorded.join(name)).unwrap();
        assert!(
            made == expected,
            "{name}: {}",
            first_difference(&made, &expected)
        );
    }
}

/// The run folder of `id` among the published sets.
fn published_run(id: &str) -> PathBuf {
    let results = manifest_dir().join("../results/published");
    for set in std::fs::read_dir(&results).unwrap() {
        let dir = set.unwrap().path().join(id);
        if dir.join("manifest.json").is_file() {
            return dir;
        }
    }
    panic!("no run {id} under {}", results.display());
}

/// The run ids of a published index page, in its order (the first is the base).
fn indexed_runs(index: &str) -> Vec<String> {
    index
        .split("<a href=\"run-")
        .skip(1)
        .filter_map(|s| s.split_once(".html\">").map(|(_, rest)| rest))
        .filter_map(|s| s.split_once("</a>").map(|(id, _)| id.to_string()))
        .collect()
}

/// The published sites this bench makes again: `h100-2026-12-06` was made by an earlier bench
/// (its pages name a machine without its GPU and an older roofline caption), so it is left out.
const PUBLISHED: [&str; 4] = [
    "h100-2026-12-06b/flux",
    "h100-2026-12-06b/qwen",
    "h100-2026-12-07/flux",
    "h100-2026-12-07/qwen",
];

#[test]
fn the_published_sites_are_made_again_byte_for_byte() {
    for site_dir in PUBLISHED {
        let published = manifest_dir().join("../reports/published").join(site_dir);
        let index = std::fs::read_to_string(published.join("index.html")).unwrap();
        let runs = indexed_runs(&index)
            .iter()
            .map(|id| read(&published_run(id)))
            .collect();
        let report = Report::build(runs, &BootstrapConfig::default());
        let tmp = tempfile::tempdir().unwrap();
        let pages = site(&report, tmp.path());
        let expected = std::fs::read_dir(&published)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().is_file())
            .count();
        assert_eq!(pages.len(), expected, "{}", published.display());
        for (name, bytes) in &pages {
            let made = versionless(bytes);
            let expected = versionless(&std::fs::read(published.join(name)).unwrap());
            assert!(
                made == expected,
                "{}/{name}: {}",
                published.display(),
                first_difference(&made, &expected)
            );
        }
    }
}
