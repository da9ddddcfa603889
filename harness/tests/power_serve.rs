//! `bench power serve` end to end: a recorded file replayed over HTTP with a token, scraped by
//! `bench power record --sampler prometheus` the way a coordinator would; and the refusals
//! (no token off loopback, a client without the token) and the warning for a token file others
//! can read.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::spawned::Running;
use serde_json::Value;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/power/replay_three_rails.jsonl")
}

/// Per rail: (scope, every watt figure of the file).
fn file_rails() -> BTreeMap<String, (String, Vec<f64>)> {
    let mut rails: BTreeMap<String, (String, Vec<f64>)> = BTreeMap::new();
    for line in std::fs::read_to_string(fixture()).unwrap().lines() {
        let sample: Value = serde_json::from_str(line).unwrap();
        for rail in sample["rails"].as_array().unwrap() {
            let entry = rails
                .entry(rail["rail"].as_str().unwrap().to_string())
                .or_insert_with(|| (rail["scope"].as_str().unwrap().to_string(), Vec::new()));
            entry.1.push(rail["watts"].as_f64().unwrap());
        }
    }
    rails
}

fn token_file(dir: &Path, mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(format!("token-{mode:o}"));
    std::fs::write(&path, "e2e-secret-token\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

/// Start `bench power serve ARGS` and wait for the URL it prints first.
fn serve(tmp: &Path, tag: &str, args: &[&str]) -> (Running, String) {
    let mut server = Running::start(tmp, tag, ["power", "serve"].iter().chain(args));
    let stdout = server.stdout.clone();
    server.wait_for(Duration::from_secs(30), "the URL on stdout", || {
        std::fs::read_to_string(&stdout).is_ok_and(|t| t.ends_with('\n'))
    });
    let url = std::fs::read_to_string(&stdout).unwrap().trim().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    (server, url)
}

#[test]
fn a_coordinator_records_the_replayed_watts_with_the_token() {
    let tmp = tempfile::tempdir().unwrap();
    let token = token_file(tmp.path(), 0o600);
    let replay = fixture();
    let (mut server, url) = serve(
        tmp.path(),
        "serve",
        &[
            "--replay",
            replay.to_str().unwrap(),
            "--loop",
            "--bind",
            "127.0.0.1:0",
            "--token-file",
            token.to_str().unwrap(),
        ],
    );
    let started = server.stderr_text();
    assert!(
        started.contains("requests need the bearer token"),
        "{started}"
    );
    assert!(!started.contains("warning"), "mode 600 is fine: {started}");

    // Without the token the scrape is refused, and says why.
    let refused = common::bench()
        .args(["power", "watch", "--sampler", "prometheus", "--url", &url])
        .args(["--duration", "0.2"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(why.contains("needs a bearer token"), "{why}");

    let out = tmp.path().join("scraped.jsonl");
    let record = common::bench()
        .args(["power", "record", "--sampler", "prometheus", "--url", &url])
        .arg("--token-file")
        .arg(&token)
        .args(["--interval-ms", "50", "--duration", "1", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        record.status.success(),
        "{}",
        String::from_utf8_lossy(&record.stderr)
    );
    let expected = file_rails();
    let scraped: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(scraped.len() >= 5, "{} samples", scraped.len());
    for sample in &scraped {
        let rails = sample["rails"].as_array().unwrap();
        let names: Vec<&str> = rails.iter().map(|r| r["rail"].as_str().unwrap()).collect();
        assert_eq!(names.len(), expected.len(), "{sample}");
        for rail in rails {
            let (scope, watts) = &expected[rail["rail"].as_str().unwrap()];
            assert_eq!(rail["scope"].as_str(), Some(scope.as_str()), "{sample}");
            let w = rail["watts"].as_f64().unwrap();
            assert!(watts.contains(&w), "{w} W is none of the file's {watts:?}");
            // Energy comes along: the file's counter for gpu0, the server's integral else.
            assert!(rail["counter_j"].as_f64().is_some(), "{sample}");
        }
    }
    // Ctrl-C stops it cleanly.
    let (status, _) = server.signal_and_wait(libc::SIGINT);
    assert!(status.success(), "{}", server.stderr_text());
    assert!(server.stderr_text().contains("stopped"));
}

#[test]
fn off_loopback_without_a_token_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = common::bench()
        .args(["power", "serve", "--replay"])
        .arg(fixture())
        .args(["--bind", "0.0.0.0:0"])
        .env_remove("BENCH_POWER_TOKEN")
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to serve on 0.0.0.0:0 without a token")
            && err.contains("--token-file"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "nothing served");
}

#[test]
fn a_token_file_others_can_read_is_warned_about() {
    let tmp = tempfile::tempdir().unwrap();
    let token = token_file(tmp.path(), 0o644);
    let replay = fixture();
    let (mut server, _url) = serve(
        tmp.path(),
        "serve-644",
        &[
            "--replay",
            replay.to_str().unwrap(),
            "--bind",
            "127.0.0.1:0",
            "--token-file",
            token.to_str().unwrap(),
        ],
    );
    let err = server.stderr_text();
    assert!(
        err.contains(&format!("{} has mode 644", token.display())) && err.contains("chmod 600"),
        "{err}"
    );
    let (status, _) = server.signal_and_wait(libc::SIGINT);
    assert!(status.success(), "{}", server.stderr_text());
}
