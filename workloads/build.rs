//! Records the version of candle-core this crate was built against (from the workspace's
//! Cargo.lock), for run manifests.

fn main() {
    let lock = std::fs::read_to_string("../Cargo.lock").unwrap_or_default();
    let version = lock
        .split("[[package]]")
        .find(|p| p.contains("name = \"candle-core\""))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = ")))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=BENCH_CANDLE_VERSION={version}");
    println!("cargo:rerun-if-changed=../Cargo.lock");
}
