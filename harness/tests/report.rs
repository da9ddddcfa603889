//! `bench report` end to end: two real runs (quickstart-shaped, at the tiny preset) and a copy
//! carrying markup in every string a run holds, rendered into a site and opened in headless
//! Chromium: no console message, no request outside the folder, every chart drawn, every
//! payload shown as text.

use std::path::{Path, PathBuf};

use serde_json::Value;

mod common;
use common::browser::{chromium, Browser};
use common::{bench, read_json, run_suite};

/// Markup and quote-breaking text, as a hostile server or model name could carry.
const PAYLOAD: &str = r#"<script>console.error("xss")</script>"'><img src=x onerror=alert(1)>"#;

fn smoke_suite() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ci/gate-smoke.toml")
}

/// The smoke suite sampling power from a fake exporter whose power swings between 4 and
/// 16 W, so the power chart has something to show.
fn powered_suite(tmp: &Path) -> PathBuf {
    let (url, _) =
        common::exporter::rapl_exporter(usize::MAX, |t| 10.0 * t - 3.0 * (2.0 * t).cos());
    let text = std::fs::read_to_string(smoke_suite()).unwrap().replace(
        "sampler = \"none\"",
        &format!(
            "sampler = \"prometheus\"\nurl = \"{url}\"\n\
             metrics = [\"node_rapl_package_joules_total\"]\ninterval_ms = 20"
        ),
    );
    let path = tmp.join("powered.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Two runs of the smoke suite (the second with power) and a copy of the second with
/// `PAYLOAD` in its strings.
fn runs(tmp: &Path) -> Vec<PathBuf> {
    for suite in [smoke_suite(), powered_suite(tmp)] {
        let out = run_suite(tmp, &suite, &[]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(tmp.join("results"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("manifest.json").is_file())
        .collect();
    dirs.sort();
    let evil = tmp.join("results/evil");
    std::fs::create_dir_all(&evil).unwrap();
    let mut m: Value = read_json(&dirs[1].join("manifest.json"));
    m["run_id"] = format!("evil{PAYLOAD}").into();
    m["environment"]["hostname"] = PAYLOAD.into();
    m["environment"]["cpu_model"] = PAYLOAD.into();
    m["suite"]["parsed"]["suite"]["description"] = PAYLOAD.into();
    m["engines"]["cpu"]["model"]["spec"] = PAYLOAD.into();
    m["power"]["note"] = PAYLOAD.into();
    std::fs::write(evil.join("manifest.json"), m.to_string()).unwrap();
    for file in ["measurements.jsonl", "power.jsonl"] {
        std::fs::copy(dirs[1].join(file), evil.join(file)).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; power: {}; runs {dirs:?}",
                dirs[1].join(file).display(),
                read_json(&dirs[1].join("manifest.json"))["power"]
            )
        });
    }
    dirs.push(evil);
    dirs
}

fn report(tmp: &Path, runs: &[PathBuf]) -> PathBuf {
    let site = tmp.join("site");
    let out = bench()
        .arg("report")
        .args(runs)
        .arg("--out")
        .arg(&site)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    site
}

fn pages(site: &Path) -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(site)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        .collect();
    pages.sort();
    pages
}

#[test]
fn every_string_from_a_run_is_escaped_in_the_html() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = runs(tmp.path());
    let site = report(tmp.path(), &runs);
    let mut seen = 0;
    for page in pages(&site) {
        let html = std::fs::read_to_string(&page).unwrap();
        assert!(
            !html.contains("<script"),
            "{}: a script element",
            page.display()
        );
        assert!(
            !html.contains("<img"),
            "{}: an injected element",
            page.display()
        );
        assert!(
            !html.contains("\"'>"),
            "{}: a quote broke out",
            page.display()
        );
        if html.contains("&lt;script&gt;console.error(&quot;xss&quot;)&lt;/script&gt;") {
            seen += 1;
        }
        assert!(
            html.contains(&format!(
                "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
                bench::report::CONTENT_SECURITY_POLICY
            )),
            "{}: no Content-Security-Policy",
            page.display()
        );
        for sheet in ["<link", "@import", "url(http", "src=\"http"] {
            assert!(!html.contains(sheet), "{}: loads {sheet}", page.display());
        }
    }
    assert!(
        seen >= 2,
        "the payload shows, escaped, on the index and the run's page"
    );
    // Markdown and CSV carry the payload too, made harmless for their own syntax.
    let md = bench()
        .arg("report")
        .arg(&runs[2])
        .args(["--format", "md"])
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(md.contains("&lt;script&gt;"), "{md}");
    assert!(!md.contains("<script"), "{md}");
}

#[test]
fn the_site_renders_in_headless_chromium_with_charts_and_nothing_fetched() {
    let Some(chromium) = chromium() else {
        assert!(
            std::env::var_os("BENCH_REQUIRE_CHROMIUM").is_none(),
            "Chromium is required here (.ci/run installs it); set BENCH_CHROMIUM to its path"
        );
        eprintln!("skipped: no chromium on PATH (set BENCH_CHROMIUM)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let runs = runs(tmp.path());
    let site = report(tmp.path(), &runs);
    let site_url = format!("file://{}", site.canonicalize().unwrap().display());
    let mut browser = Browser::start(&chromium, &tmp.path().join("profile"));
    let shots = std::env::var_os("BENCH_REPORT_SCREENSHOTS").map(PathBuf::from);
    let mut charts = 0;
    for page in pages(&site) {
        let url = format!("file://{}", page.canonicalize().unwrap().display());
        let load = browser.open(&url);
        assert!(load.console.is_empty(), "{url}: {:?}", load.console);
        assert!(load.log.is_empty(), "{url}: {:?}", load.log);
        for request in &load.requests {
            assert!(
                request.starts_with(&site_url),
                "{url} requested {request}, outside the report folder"
            );
        }
        let facts = browser.evaluate(
            "JSON.stringify({scripts: document.scripts.length, \
             text: document.body.innerText, \
             charts: [...document.querySelectorAll('figure svg')].map(s => { \
               const r = s.getBoundingClientRect(); \
               return [r.left + scrollX, r.top + scrollY, r.width, r.height]; })})",
        );
        let facts: Value = serde_json::from_str(facts.as_str().unwrap()).unwrap();
        assert_eq!(facts["scripts"], 0, "{url}");
        assert_policy_obeyed(&mut browser, &url);
        if page.to_string_lossy().contains("evil") {
            assert!(
                facts["text"].as_str().unwrap().contains(PAYLOAD),
                "{url}: the payload is shown as text"
            );
        }
        let png = browser.screenshot();
        if let Some(dir) = &shots {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(
                dir.join(page.file_name().unwrap()).with_extension("png"),
                &png,
            )
            .unwrap();
        }
        let image = decode(&png);
        for rect in facts["charts"].as_array().unwrap() {
            let r: Vec<f64> = rect
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            let coloured = image.coloured_pixels(r[0], r[1], r[2], r[3]);
            assert!(
                coloured >= 150,
                "{url}: the chart at {r:?} is blank ({coloured} coloured pixels)"
            );
            charts += 1;
        }
    }
    // Per run: ttft sweep, throughput, two latency CDFs, steps, phases (and power and energy
    // for the powered ones); speedups on the comparison page.
    assert!(charts >= 20, "only {charts} charts across the site");
}

/// The page's Content-Security-Policy is there and the browser enforces it: a script added to
/// the page does not run and an image from outside is not fetched, each reported as a
/// violation. (The test's own evaluation goes through DevTools, which the policy does not
/// govern.)
fn assert_policy_obeyed(browser: &mut Browser, url: &str) {
    let policy = browser.evaluate(
        "document.querySelector('meta[http-equiv=\"Content-Security-Policy\"]')?.content ?? ''",
    );
    let policy = policy.as_str().unwrap_or_default();
    for directive in ["default-src 'none'", "script-src 'none'", "base-uri 'none'"] {
        assert!(
            policy.contains(directive),
            "{url}: policy {policy:?} lacks {directive}"
        );
    }
    browser.evaluate(
        "window.violations = []; \
         document.addEventListener('securitypolicyviolation', \
           e => window.violations.push(e.effectiveDirective)); \
         const s = document.createElement('script'); \
         s.textContent = 'window.injectedRan = true'; document.body.append(s); \
         const i = document.createElement('img'); \
         i.src = 'http://127.0.0.1:9/outside.png'; document.body.append(i); 1",
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let seen = loop {
        let seen = browser.evaluate(
            "JSON.stringify({ran: window.injectedRan === true, violations: window.violations})",
        );
        let seen: Value = serde_json::from_str(seen.as_str().unwrap()).unwrap();
        if seen["violations"].as_array().map_or(0, Vec::len) >= 2
            || std::time::Instant::now() > deadline
        {
            break seen;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(seen["ran"], false, "{url}: an injected script ran");
    let violations = seen["violations"].to_string();
    assert!(
        violations.contains("script-src") && violations.contains("img-src"),
        "{url}: the policy did not block the injected script and image: {violations}"
    );
}

struct Rgb {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

fn decode(png_bytes: &[u8]) -> Rgb {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let pixels = buf[..info.buffer_size()]
        .chunks(channels)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    Rgb {
        width: info.width as usize,
        height: info.height as usize,
        pixels,
    }
}

impl Rgb {
    /// Pixels in the rectangle whose colour is clearly not grey: drawn series, not text,
    /// axes or background.
    fn coloured_pixels(&self, x: f64, y: f64, w: f64, h: f64) -> usize {
        let (x0, y0) = (x.max(0.0) as usize, y.max(0.0) as usize);
        let x1 = ((x + w) as usize).min(self.width);
        let y1 = ((y + h) as usize).min(self.height);
        let mut n = 0;
        for row in y0..y1 {
            for col in x0..x1 {
                let i = (row * self.width + col) * 3;
                let (r, g, b) = (self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]);
                let max = r.max(g).max(b);
                let min = r.min(g).min(b);
                if max - min > 60 {
                    n += 1;
                }
            }
        }
        n
    }
}
