//! The server's routes and auth, answered directly and over a real socket to the Prometheus
//! and HTTP clients the other sources use.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::clock::RunClock;
use crate::power::prometheus::{HttpSettings, PrometheusSource};
use crate::power::replay::ReplaySource;
use crate::power::{PowerError, RailReading, Sample, Scope, Source};

fn token() -> Token {
    Token::new("right-token", "test").unwrap()
}

fn sample() -> Sample {
    Sample {
        t_s: 1.0,
        window_s: 0.1,
        source: "macmon".into(),
        rails: vec![
            RailReading::watts("combined", Scope::CpuGpuAne, 12.5),
            RailReading::watts("sys", Scope::System, 30.25),
        ],
        ..Sample::default()
    }
}

fn get(path: &str, auth: Option<&str>, state: &State) -> Reply {
    respond("GET", path, auth, Some(&token()), state, Instant::now())
}

#[test]
fn no_token_or_a_wrong_one_is_401_and_the_right_one_200() {
    let state = State::new();
    let missing = get("/metrics", None, &state);
    assert_eq!(missing.status, 401);
    assert!(missing.challenge);
    assert!(
        missing.body.contains("missing bearer token"),
        "{}",
        missing.body
    );
    let wrong = get("/metrics", Some("Bearer wrong-token"), &state);
    assert_eq!(wrong.status, 401);
    assert!(wrong.challenge);
    assert!(wrong.body.contains("wrong bearer token"), "{}", wrong.body);
    let right = get("/metrics", Some("Bearer right-token"), &state);
    assert_eq!(right.status, 200);
    assert!(!right.challenge);
    assert_eq!(right.content_type, exposition::CONTENT_TYPE);
    // Without a token configured (loopback), nothing is asked.
    let open = respond("GET", "/", None, None, &state, Instant::now());
    assert_eq!(open.status, 200);
    assert!(open.body.contains("/metrics") && open.body.contains("/json"));
}

#[test]
fn json_is_503_before_the_first_sample_then_the_sample() {
    let auth = Some("Bearer right-token");
    let mut state = State::new();
    let early = get("/json", auth, &state);
    assert_eq!(early.status, 503);
    let body: serde_json::Value = serde_json::from_str(&early.body).unwrap();
    assert!(body["error"].as_str().unwrap().contains("no sample yet"));
    state.push(sample(), Instant::now());
    let reply = get("/json?x=1", auth, &state);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.content_type, "application/json");
    assert_eq!(
        serde_json::from_str::<Sample>(&reply.body).unwrap(),
        sample()
    );
    assert!(!reply.body.contains('\n'), "one line");
}

#[test]
fn unknown_paths_are_404_and_other_methods_405() {
    let auth = Some("Bearer right-token");
    let state = State::new();
    assert_eq!(get("/metricz", auth, &state).status, 404);
    assert_eq!(get("/json/", auth, &state).status, 404);
    let post = respond(
        "POST",
        "/metrics",
        auth,
        Some(&token()),
        &state,
        Instant::now(),
    );
    assert_eq!(post.status, 405);
}

#[test]
fn binding_off_loopback_without_a_token_is_refused() {
    let err = PowerServer::bind("0.0.0.0:0", None).err().expect("refused");
    assert!(matches!(err, ServeError::TokenRequired { .. }), "{err}");
    let err = PowerServer::bind("not an address", None)
        .err()
        .expect("refused");
    assert!(matches!(err, ServeError::Address { .. }), "{err}");
    let server = PowerServer::bind("127.0.0.1:0", None).unwrap();
    assert!(!server.token_required());
    assert_ne!(server.local_addr().port(), 0);
}

/// A looping replay of two samples 20 ms apart, served on a free loopback port with `token`
/// until the returned flag is set.
fn serve(token: Option<Token>) -> (String, Arc<AtomicBool>, std::thread::JoinHandle<Outcome>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("power.jsonl");
    let mut later = sample();
    later.t_s = 1.02;
    let lines = [sample(), later].map(|s| serde_json::to_string(&s).unwrap());
    std::fs::write(&path, lines.join("\n")).unwrap();
    let source: Box<dyn Source> = Box::new(ReplaySource::open(&path, true).unwrap());
    let server = PowerServer::bind("127.0.0.1:0", token).unwrap();
    let url = format!("http://{}", server.local_addr());
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let thread = std::thread::spawn(move || {
        let feed = Feed::start(source, RunClock::start());
        let outcome = server.run(&feed, &flag).unwrap();
        feed.stop();
        drop(dir);
        outcome
    });
    (url, stop, thread)
}

#[test]
fn the_prometheus_source_reads_the_server_with_its_token() {
    let (url, stop, thread) = serve(Some(token()));
    let client = reqwest::blocking::Client::new();
    // The first sample comes at once; wait for it rather than racing it.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = client
            .get(format!("{url}/json"))
            .bearer_auth("right-token")
            .send()
            .unwrap();
        if r.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "no sample served");
        std::thread::sleep(Duration::from_millis(20));
    }
    let refused = client.get(format!("{url}/metrics")).send().unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(
        refused.headers()["www-authenticate"].to_str().unwrap(),
        "Bearer realm=\"bench power serve\""
    );

    let interval = Duration::from_millis(20);
    match PrometheusSource::open_with(&url, Vec::new(), interval, &HttpSettings::default()) {
        Err(PowerError::Unavailable { reason, .. }) => {
            assert!(reason.contains("needs a bearer token"), "{reason}")
        }
        other => panic!("expected a refusal: {other:?}"),
    }
    let wrong = HttpSettings::with_token(Some("wrong".into()));
    match PrometheusSource::open_with(&url, Vec::new(), interval, &wrong) {
        Err(PowerError::Unavailable { reason, .. }) => {
            assert!(reason.contains("refused the bearer token"), "{reason}")
        }
        other => panic!("expected a refusal: {other:?}"),
    }

    let right = HttpSettings::with_token(Some("right-token".into()));
    let mut source = PrometheusSource::open_with(&url, Vec::new(), interval, &right).unwrap();
    let scraped = source.next(&RunClock::start()).unwrap().unwrap();
    let rails: Vec<(&str, Scope, Option<f64>, bool)> = scraped
        .rails
        .iter()
        .map(|r| (r.rail.as_str(), r.scope, r.watts, r.counter_j.is_some()))
        .collect();
    // Scopes come through the labels; the integrated energy becomes each rail's counter.
    assert_eq!(
        rails,
        [
            ("combined", Scope::CpuGpuAne, Some(12.5), true),
            ("sys", Scope::System, Some(30.25), true)
        ]
    );
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(thread.join().unwrap(), Outcome::Stopped);
}
