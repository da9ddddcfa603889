//! Each kind of suite mistake gives its own message, naming file, line, column and key.

use std::path::Path;

use bench::plan::Plan;
use bench::suite::{self, SuiteError};

const GOOD: &str = r#"[suite]
name = "s"
repetitions = 2
warmup = 1

[[target]]
name = "cpu"
engine = "candle"
model = "synth:tiny"

[[workload]]
name = "w"
kind = "llm"
prompt_tokens = [16, 32]
gen_tokens = 4
"#;

/// The single problem of `source`, with its line, column and key.
fn problem(source: &str) -> (usize, usize, Option<String>, String, String) {
    let err =
        suite::parse(source, Path::new("suites/x.toml")).expect_err("the suite must be rejected");
    let text = err.to_string();
    let SuiteError::Invalid(problems) = err else {
        panic!("not a located error: {text}")
    };
    let p = &problems[0];
    let loc = p.location.clone().expect("a location");
    (loc.line, loc.column, loc.key, p.message.clone(), text)
}

#[test]
fn the_good_suite_parses_and_expands() {
    let s = suite::parse(GOOD, Path::new("x.toml")).unwrap();
    let plan = Plan::expand(&s);
    assert_eq!(plan.cases.len(), 2);
    assert_eq!(plan.measured_runs(), 4);
    assert_eq!(plan.total_runs(), 6);
}

#[test]
fn unknown_key_names_the_key_and_what_is_allowed() {
    let src = GOOD.replace("warmup = 1", "warmpu = 1");
    let (line, col, key, msg, text) = problem(&src);
    assert_eq!((line, col), (4, 1), "{text}");
    assert_eq!(key.as_deref(), Some("suite.warmpu"), "{text}");
    assert!(msg.contains("unknown field `warmpu`"), "{text}");
    assert!(
        msg.contains("repetitions") && msg.contains("warmup"),
        "{text}"
    );
    assert!(
        text.starts_with("suites/x.toml:4:1: key `suite.warmpu`:"),
        "{text}"
    );
    assert!(text.contains("4 | warmpu = 1"), "{text}");
}

#[test]
fn wrong_type_points_at_the_value() {
    let src = GOOD.replace("repetitions = 2", "repetitions = \"two\"");
    let (line, col, key, msg, text) = problem(&src);
    assert_eq!((line, col), (3, 15), "{text}");
    assert_eq!(key.as_deref(), Some("suite.repetitions"), "{text}");
    assert!(msg.contains("invalid type: string \"two\""), "{text}");
}

#[test]
fn zero_repetitions_is_impossible() {
    let src = GOOD.replace("repetitions = 2", "repetitions = 0");
    let (line, col, key, msg, text) = problem(&src);
    assert_eq!((line, col), (3, 15), "{text}");
    assert_eq!(key.as_deref(), Some("suite.repetitions"));
    assert!(msg.contains("positive integer"), "{text}");
}

#[test]
fn a_grid_entry_of_zero_is_named_in_its_array_of_tables() {
    let src = GOOD.replace("prompt_tokens = [16, 32]", "prompt_tokens = [16, 0]");
    let (line, _, key, msg, text) = problem(&src);
    assert_eq!(line, 14, "{text}");
    assert_eq!(key.as_deref(), Some("workload[0].prompt_tokens"), "{text}");
    assert!(msg.contains("0 is not allowed"), "{text}");
}

#[test]
fn empty_and_repeated_grids_are_rejected() {
    let (_, _, _, msg, _) =
        problem(&GOOD.replace("prompt_tokens = [16, 32]", "prompt_tokens = []"));
    assert!(msg.contains("empty"), "{msg}");
    let (_, _, _, msg, _) =
        problem(&GOOD.replace("prompt_tokens = [16, 32]", "prompt_tokens = [16, 16]"));
    assert!(msg.contains("appears twice"), "{msg}");
}

#[test]
fn unknown_engine_lists_the_engines() {
    let src = GOOD.replace("engine = \"candle\"", "engine = \"vllm\"");
    let (line, col, key, msg, text) = problem(&src);
    assert_eq!((line, col), (8, 10), "{text}");
    assert_eq!(key.as_deref(), Some("target[0].engine"));
    assert!(msg.contains("unknown variant `vllm`"), "{text}");
    assert!(msg.contains("candle") && msg.contains("mlx-lm"), "{text}");
}

#[test]
fn an_engine_not_in_this_build_says_so() {
    let src = GOOD.replace("engine = \"candle\"", "engine = \"command\"");
    let (line, _, _, msg, text) = problem(&src);
    assert_eq!(line, 8, "{text}");
    assert!(msg.contains("not available in this version"), "{text}");
    assert!(
        msg.contains("\"candle\", \"mlx-lm\", \"exo\", \"openai\", \"mflux\""),
        "{text}"
    );
}

#[test]
fn exo_keys_belong_to_exo_targets() {
    let src = GOOD.replace(
        "model = \"synth:tiny\"",
        "model = \"synth:tiny\"\nnodes = 2",
    );
    let (_, _, key, msg, text) = problem(&src);
    assert_eq!(key.as_deref(), Some("target[0].nodes"), "{text}");
    assert!(msg.contains("`engine = \"exo\"`"), "{text}");
    for (line, key) in [
        ("settle_s = 20", "target[0].settle_s"),
        ("startup_timeout_s = 60", "target[0].startup_timeout_s"),
    ] {
        let src = GOOD.replace(
            "model = \"synth:tiny\"",
            &format!("model = \"synth:tiny\"\n{line}"),
        );
        let (_, _, found, msg, text) = problem(&src);
        assert_eq!(found.as_deref(), Some(key), "{text}");
        assert!(msg.contains("`engine = \"exo\"`"), "{text}");
    }
}

#[test]
fn unknown_synth_preset_lists_presets() {
    let src = GOOD.replace("synth:tiny", "synth:llama-70b");
    let (line, col, key, msg, text) = problem(&src);
    assert_eq!((line, col), (9, 9), "{text}");
    assert_eq!(key.as_deref(), Some("target[0].model"));
    assert!(msg.contains("qwen3-0.6b"), "{text}");
}

#[test]
fn duplicate_names_point_at_the_second() {
    let src = format!(
        "{GOOD}\n[[workload]]\nname = \"w\"\nkind = \"llm\"\nprompt_tokens = 8\ngen_tokens = 2\n"
    );
    let (line, _, key, msg, text) = problem(&src);
    assert_eq!(line, 18, "{text}");
    assert_eq!(key.as_deref(), Some("workload[1].name"));
    assert!(msg.contains("already used on line 12"), "{text}");
}

#[test]
fn missing_required_key() {
    let src = GOOD.replace("model = \"synth:tiny\"\n", "");
    let (_, _, _, msg, text) = problem(&src);
    assert!(msg.contains("missing field `model`"), "{text}");
}

#[test]
fn concurrency_above_one_on_the_in_process_engine() {
    let src = GOOD.replace("gen_tokens = 4", "gen_tokens = 4\nconcurrency = [1, 4]");
    let (line, col, key, msg, text) = problem(&src);
    assert_eq!((line, col), (16, 15), "{text}");
    assert_eq!(key.as_deref(), Some("workload[0].concurrency"));
    assert!(msg.contains("one request at a time"), "{text}");
}

#[test]
fn bad_names_and_toml_syntax() {
    let (_, _, _, msg, _) = problem(&GOOD.replace("name = \"cpu\"", "name = \"a b\""));
    assert!(msg.contains("not a valid name"), "{msg}");
    let (line, _, _, _, text) = problem(&GOOD.replace("gen_tokens = 4", "gen_tokens = = 4"));
    assert_eq!(line, 15, "{text}");
}

#[test]
fn a_key_past_tomls_dotted_key_limit_is_placed_on_its_line() {
    // toml gives no span for its limit of 80 parts in a dotted key (found by the fuzz test);
    // the problem used to have no location at all.
    let long_key = vec!["a"; 90].join(".");
    let src = GOOD.replace("gen_tokens = 4", &format!("gen_tokens = 4\n{long_key} = 1"));
    let (line, col, _, msg, text) = problem(&src);
    assert_eq!((line, col), (16, 1), "{text}");
    assert!(msg.contains("recursion limit"), "{text}");
    assert!(text.starts_with("suites/x.toml:16:1: "), "{text}");
}

#[test]
fn the_exo_sampler_needs_an_exo_api_to_read() {
    let src = format!("{GOOD}\n[power]\nsampler = \"exo\"\n");
    let (line, _, key, msg, text) = problem(&src);
    assert_eq!(line, 18, "{text}");
    assert_eq!(key.as_deref(), Some("power.sampler"));
    assert!(msg.contains("give [power] a `url`"), "{text}");
    let with_url = format!("{GOOD}\n[power]\nsampler = \"exo\"\nurl = \"http://studio-1:52415\"\n");
    assert!(suite::parse(&with_url, Path::new("suites/x.toml")).is_ok());
}

#[test]
fn cluster_power_nodes_are_checked_where_they_are_written() {
    let node = |name: &str, sampler: &str, url: &str| {
        format!("\n[[power.nodes]]\nname = \"{name}\"\nsampler = \"{sampler}\"\n{url}")
    };
    let a = node(
        "a",
        "prometheus",
        "url = \"http://10.0.0.1:9464/metrics\"\n",
    );
    // The same node twice, and two nodes on one endpoint.
    let src = format!("{GOOD}{a}{a}");
    let (line, _, key, msg, text) = problem(&src);
    assert_eq!(
        (line, key.as_deref()),
        (23, Some("power.nodes[1].name")),
        "{text}"
    );
    assert!(msg.contains("listed twice"), "{text}");
    let b = node(
        "b",
        "prometheus",
        "url = \"http://10.0.0.1:9464/metrics\"\n",
    );
    let (line, _, _, msg, text) = problem(&format!("{GOOD}{a}{b}"));
    assert_eq!(line, 25, "{text}");
    assert!(msg.contains("same endpoint as node `a`"), "{text}");
    // A sampler that needs an endpoint, without one.
    let (line, _, _, msg, text) = problem(&format!("{GOOD}{}", node("c", "macmon", "")));
    assert_eq!(line, 19, "{text}");
    assert!(msg.contains("needs `url`"), "{text}");
    // A suite-wide sampler beside the nodes.
    let (_, _, _, msg, text) = problem(&format!("{GOOD}\n[power]\nsampler = \"nvml\"\n{a}"));
    assert!(msg.contains("leave `sampler` and `url` out"), "{text}");
    // A sampler nodes cannot have.
    let (_, _, key, msg, text) = problem(&format!("{GOOD}{}", node("d", "nvml", "")));
    assert_eq!(key.as_deref(), Some("power.nodes[0].sampler"), "{text}");
    assert!(msg.contains("prometheus"), "{text}");
    // Well formed.
    let ok = format!("{GOOD}{a}{}", node("b", "none", ""));
    assert!(suite::parse(&ok, Path::new("suites/x.toml")).is_ok());
}

#[test]
fn power_keys_belong_to_their_samplers() {
    let prometheus_without_metrics = format!(
        "{GOOD}\n[power]\nsampler = \"prometheus\"\nurl = \"http://127.0.0.1:9400/metrics\"\n"
    );
    let (line, _, key, msg, text) = problem(&prometheus_without_metrics);
    assert_eq!(
        (line, key.as_deref()),
        (18, Some("power.sampler")),
        "{text}"
    );
    assert!(msg.contains("needs `metrics`"), "{text}");

    let url_on_nvml = format!("{GOOD}\n[power]\nsampler = \"nvml\"\nurl = \"http://x:1\"\n");
    let (line, _, key, msg, text) = problem(&url_on_nvml);
    assert_eq!((line, key.as_deref()), (19, Some("power.url")), "{text}");
    assert!(msg.contains("not by \"nvml\""), "{text}");

    let https = format!("{GOOD}\n[power]\nsampler = \"macmon\"\nurl = \"https://mac:9090\"\n");
    let (_, _, key, msg, text) = problem(&https);
    assert_eq!(key.as_deref(), Some("power.url"), "{text}");
    assert!(msg.contains("plain HTTP"), "{text}");

    let good = format!(
        "{GOOD}\n[power]\nsampler = \"prometheus\"\nurl = \"http://gpu:9400/metrics\"\nmetrics = [\"DCGM_FI_DEV_POWER_USAGE\"]\n"
    );
    suite::parse(&good, Path::new("x.toml")).unwrap();
}

#[test]
fn the_schema_is_derived_and_rejects_unknown_keys() {
    let schema = suite::json_schema();
    let text = schema.to_string();
    assert!(text.contains("\"additionalProperties\":false"), "{text}");
    assert!(text.contains("prompt_tokens"));
    assert!(text.contains("mlx-lm"));
}

#[test]
fn the_shipped_suites_are_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for name in [
        "suites/quickstart.toml",
        "suites/mlx-lm-serving.toml",
        "harness/tests/suites/tiny.toml",
    ] {
        suite::load(&root.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    // The GPU suites are valid but for the GPU backend this build may lack.
    for (name, backend) in [
        ("suites/flux-dev-1024.toml", "built without Metal"),
        ("suites/gpu-qwen.toml", "built without CUDA"),
        ("suites/gpu-flux.toml", "built without CUDA"),
    ] {
        match suite::load(&root.join(name)) {
            Ok(_) => {}
            Err(SuiteError::Invalid(problems)) => {
                for p in problems {
                    assert!(p.message.contains(backend), "{name}: {}", p.message);
                }
            }
            Err(e) => panic!("{name}: {e}"),
        }
    }
}

#[test]
fn the_in_process_engine_refuses_every_load_key() {
    for key in [
        "rate = 2",
        "requests = 5",
        "duration_s = 3",
        "warmup_requests = 1",
    ] {
        let src = GOOD.replace("gen_tokens = 4", &format!("gen_tokens = 4\n{key}"));
        let (line, _, at, msg, text) = problem(&src);
        assert_eq!(line, 16, "{text}");
        let name = key.split(' ').next().unwrap();
        assert_eq!(
            at.as_deref(),
            Some(format!("workload[0].{name}").as_str()),
            "{text}"
        );
        assert!(msg.contains("need a server engine"), "{text}");
    }
}

fn openai() -> String {
    GOOD.replace(
        "engine = \"candle\"\nmodel = \"synth:tiny\"",
        "engine = \"openai\"\nmodel = \"synth:tiny\"\nurl = \"http://127.0.0.1:8080\"",
    )
}

#[test]
fn load_patterns_expand_into_cases_with_their_rate_and_cap() {
    let src = openai().replace(
        "gen_tokens = 4",
        "gen_tokens = 4\nrate = [0.5, 2]\nconcurrency = [1, 8]\narrival = \"constant\"\nduration_s = 30",
    );
    let s = suite::parse(&src, Path::new("x.toml")).unwrap();
    let plan = Plan::expand(&s);
    let ids: Vec<&str> = plan.cases.iter().map(|c| c.id.as_str()).collect();
    assert!(ids.contains(&"cpu/w/p16-g4-r0.5-c1"), "{ids:?}");
    assert!(ids.contains(&"cpu/w/p32-g4-r2-c8"), "{ids:?}");
    assert_eq!(plan.cases.len(), 8);
    let pattern = *plan.cases[0].load().unwrap();
    assert_eq!(
        pattern.stop,
        bench_workloads::load::Stop::DurationS(30.0),
        "{pattern:?}"
    );
    // A closed loop of 4 with no count gets 10 requests per worker.
    let src = openai().replace("gen_tokens = 4", "gen_tokens = 4\nconcurrency = 4");
    let plan = Plan::expand(&suite::parse(&src, Path::new("x.toml")).unwrap());
    assert_eq!(
        plan.cases[0].load().unwrap().stop,
        bench_workloads::load::Stop::Requests(40)
    );
    // One request at a time with no load key stays one request per repetition.
    let plan = Plan::expand(&suite::parse(&openai(), Path::new("x.toml")).unwrap());
    assert!(plan.cases[0].load().is_none());
}

#[test]
fn load_keys_that_contradict_each_other_are_named() {
    let with = |keys: &str| openai().replace("gen_tokens = 4", &format!("gen_tokens = 4\n{keys}"));
    let (_, _, key, msg, text) = problem(&with("rate = 2\nrequests = 10\nduration_s = 5"));
    assert_eq!(key.as_deref(), Some("workload[0].duration_s"), "{text}");
    assert!(msg.contains("either `requests` or `duration_s`"), "{text}");
    let (_, _, key, msg, text) = problem(&with("concurrency = 2\narrival = \"poisson\""));
    assert_eq!(key.as_deref(), Some("workload[0].arrival"), "{text}");
    assert!(msg.contains("only applies with a `rate`"), "{text}");
    let (_, _, key, msg, text) = problem(&with("rate = 2\narrival = \"constant\"\nseed = 3"));
    assert_eq!(key.as_deref(), Some("workload[0].seed"), "{text}");
    assert!(msg.contains("poisson"), "{text}");
    let (_, _, key, msg, text) = problem(&with("rate = [1, -2]"));
    assert_eq!(key.as_deref(), Some("workload[0].rate"), "{text}");
    assert!(msg.contains("above 0"), "{text}");
    let (_, _, _, msg, text) = problem(&with("rate = 1\narrival = \"bursty\""));
    assert!(
        msg.contains("poisson") && msg.contains("constant"),
        "{text}"
    );
}

#[test]
fn an_openai_target_needs_an_http_url() {
    let openai = openai();
    suite::parse(&openai, Path::new("x.toml")).unwrap();
    let (_, _, key, msg, text) = problem(&openai.replace(
        "url = \"http://127.0.0.1:8080\"",
        "url = \"https://api.example\"",
    ));
    assert_eq!(key.as_deref(), Some("target[0].url"), "{text}");
    assert!(msg.contains("plain HTTP"), "{text}");
}

#[test]
fn a_workload_runs_only_on_the_targets_it_names() {
    let two = GOOD.replace(
        "[[workload]]",
        "[[target]]\nname = \"other\"\nengine = \"candle\"\nmodel = \"synth:tiny\"\n\n[[workload]]",
    );
    let every = Plan::expand(&suite::parse(&two, Path::new("x.toml")).unwrap());
    assert_eq!(every.cases.len(), 4);
    let named = two.replace("gen_tokens = 4", "gen_tokens = 4\ntargets = [\"other\"]");
    let plan = Plan::expand(&suite::parse(&named, Path::new("x.toml")).unwrap());
    assert_eq!(plan.cases.len(), 2);
    assert!(plan.cases.iter().all(|c| c.target == "other"));

    let wrong = two.replace("gen_tokens = 4", "gen_tokens = 4\ntargets = [\"gpu\"]");
    let (line, col, _, msg, text) = problem(&wrong);
    assert_eq!((line, col), (21, 11), "{text}");
    assert!(
        msg.contains("`gpu`") && msg.contains("targets: cpu, other"),
        "{text}"
    );
}

#[test]
fn slo_bounds_are_named_and_positive() {
    let good = GOOD.replace(
        "gen_tokens = 4",
        "gen_tokens = 4\nslo = { ttft_s = 0.5, tpot_s = 0.05 }",
    );
    let plan = Plan::expand(&suite::parse(&good, Path::new("x.toml")).unwrap());
    let slo = plan.cases[0]
        .text()
        .and_then(|t| t.slo)
        .expect("the case carries the workload's slo");
    assert_eq!(slo.ttft_s, Some(0.5));

    let typo = GOOD.replace("gen_tokens = 4", "gen_tokens = 4\nslo = { ttft = 0.5 }");
    let (line, _, _, msg, text) = problem(&typo);
    assert_eq!(line, 16, "{text}");
    assert!(
        msg.contains("unknown field `ttft`") && msg.contains("ttfat_s"),
        "{text}"
    );

    let negative = GOOD.replace("gen_tokens = 4", "gen_tokens = 4\nslo = { e2e_s = -1 }");
    let (line, _, _, msg, text) = problem(&negative);
    assert_eq!(line, 16, "{text}");
    assert!(msg.contains("positive number of seconds"), "{text}");
}

#[test]
fn depth_is_swept_for_candle_and_servers_and_refused_for_exo() {
    let deep = GOOD.replace("gen_tokens = 4", "gen_tokens = 4\ndepth = [0, 64]");
    let plan = Plan::expand(&suite::parse(&deep, Path::new("x.toml")).unwrap());
    let ids: Vec<&str> = plan.cases.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "cpu/w/p16-g4-c1",
            "cpu/w/p16-g4-d64-c1",
            "cpu/w/p32-g4-c1",
            "cpu/w/p32-g4-d64-c1"
        ]
    );
    assert_eq!(plan.cases[1].stored_params().depth, 64);

    let server = deep.replace(
        "engine = \"candle\"",
        "engine = \"openai\"\nurl = \"http://127.0.0.1:8080\"",
    );
    assert!(suite::parse(&server, Path::new("x.toml")).is_ok());
    let exo = deep.replace(
        "engine = \"candle\"",
        "engine = \"exo\"\nurl = \"http://127.0.0.1:52415\"",
    );
    let (line, _, _, msg, text) = problem(&exo);
    assert_eq!(line, 17, "{text}");
    assert!(
        msg.contains("candle, openai and mlx-lm engines") && msg.contains("`exo`"),
        "{text}"
    );
}

#[test]
fn a_thermal_wait_needs_a_sampler_that_reads_pressure() {
    let src = GOOD.replace("warmup = 1", "warmup = 1\nwait_thermal = \"nominal\"")
        + "\n[power]\nsampler = \"none\"\n";
    let (line, _, key, msg, text) = problem(&src);
    assert_eq!(
        (line, key.as_deref()),
        (5, Some("suite.wait_thermal")),
        "{text}"
    );
    assert!(msg.contains("powermetrics"), "{text}");
    let src = GOOD.replace("warmup = 1", "warmup = 1\nwait_thermal_max_s = 60");
    let (_, _, key, msg, text) = problem(&src);
    assert_eq!(key.as_deref(), Some("suite.wait_thermal_max_s"), "{text}");
    assert!(msg.contains("not set"), "{text}");
    let ok = GOOD.replace(
        "warmup = 1",
        "warmup = 1\ncooldown_s = 30\nwait_thermal = \"nominal\"\nwait_thermal_max_s = 120",
    );
    assert!(suite::parse(&ok, Path::new("suites/x.toml")).is_ok());
}

#[test]
fn a_rate_search_expands_into_one_case_with_its_budget() {
    let src = openai().replace(
        "gen_tokens = 4",
        "gen_tokens = 4\nrate = \"search\"\nslo = { ttft_s = 0.5 }\nsearch_max_requests = 500\nsearch_start_rps = 4",
    );
    let plan = Plan::expand(&suite::parse(&src, Path::new("x.toml")).unwrap());
    let ids: Vec<&str> = plan.cases.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["cpu/w/p16-g4-rsearch", "cpu/w/p32-g4-rsearch"]);
    let case = &plan.cases[0];
    let spec = case.text().and_then(|t| t.search).expect("a search case");
    assert_eq!(
        (
            spec.target_attainment,
            spec.start_rps,
            spec.max_requests,
            spec.max_s
        ),
        (0.9, 4.0, 500, 300.0),
        "defaults for what the suite left out"
    );
    assert_eq!(
        spec.requests, None,
        "10 seconds' worth at each probe's rate"
    );
    assert_eq!(
        case.stored_params().rate_rps,
        None,
        "each probe has its own rate"
    );
    assert_eq!(case.load().unwrap().arrival.rate(), Some(4.0));
}

#[test]
fn rate_search_mistakes_are_located_and_say_what_is_allowed() {
    let with = |keys: &str| openai().replace("gen_tokens = 4", &format!("gen_tokens = 4\n{keys}"));
    let (line, col, key, msg, text) = problem(&with("rate = \"search\""));
    assert_eq!((line, col), (17, 8), "{text}");
    assert_eq!(key.as_deref(), Some("workload[0].rate"), "{text}");
    assert!(msg.contains("give one, e.g. slo = {"), "{text}");

    let (_, _, key, msg, text) = problem(&with(
        "rate = \"search\"\nslo = { e2e_s = 1.0 }\ntarget_attainment = 1.5",
    ));
    assert_eq!(
        key.as_deref(),
        Some("workload[0].target_attainment"),
        "{text}"
    );
    assert!(msg.contains("above 0 and at most 1"), "{text}");
    let (_, _, key, _, text) = problem(&with(
        "rate = \"search\"\nslo = { e2e_s = 1.0 }\ntarget_attainment = 0",
    ));
    assert_eq!(
        key.as_deref(),
        Some("workload[0].target_attainment"),
        "{text}"
    );
    // 1 is allowed: every request must meet the SLO.
    suite::parse(
        &with("rate = \"search\"\nslo = { e2e_s = 1.0 }\ntarget_attainment = 1"),
        Path::new("x.toml"),
    )
    .unwrap();

    for key_name in ["search_max_requests = 100", "target_attainment = 0.5"] {
        let (_, _, key, msg, text) = problem(&with(&format!("rate = 2\n{key_name}")));
        let name = key_name.split(' ').next().unwrap();
        assert_eq!(key, Some(format!("workload[0].{name}")), "{text}");
        assert!(msg.contains("add `rate = \"search\"`"), "{text}");
    }

    let (_, _, key, msg, text) = problem(&with(
        "rate = \"search\"\nslo = { e2e_s = 1.0 }\nduration_s = 30",
    ));
    assert_eq!(key.as_deref(), Some("workload[0].duration_s"), "{text}");
    assert!(msg.contains("sizes each probe by `requests`"), "{text}");

    let (_, _, key, msg, text) = problem(&with(
        "rate = \"search\"\nslo = { e2e_s = 1.0 }\nsearch_start_rps = -2",
    ));
    assert_eq!(
        key.as_deref(),
        Some("workload[0].search_start_rps"),
        "{text}"
    );
    assert!(msg.contains("above 0"), "{text}");

    let (_, _, key, msg, text) = problem(&with("rate = \"fast\""));
    assert_eq!(key.as_deref(), Some("workload[0].rate"), "{text}");
    assert!(msg.contains("\"search\""), "{text}");
}

#[test]
fn the_in_process_engine_cannot_be_searched() {
    let src = GOOD.replace(
        "gen_tokens = 4",
        "gen_tokens = 4\nrate = \"search\"\nslo = { ttft_s = 0.5 }",
    );
    let err = suite::parse(&src, Path::new("suites/x.toml")).unwrap_err();
    let SuiteError::Invalid(problems) = &err else {
        panic!("not a located error: {err}")
    };
    assert_eq!(problems.len(), 1, "one message, the search's: {err}");
    let (line, col, key, msg, text) = problem(&src);
    assert_eq!((line, col), (16, 8), "{text}");
    assert_eq!(key.as_deref(), Some("workload[0].rate"), "{text}");
    assert!(
        msg.contains("candle engine") && msg.contains("target cpu") && msg.contains("\"openai\""),
        "{text}"
    );
}

#[test]
fn prompt_keys_are_located_and_say_what_is_allowed() {
    let with = |lengths: &str| GOOD.replace("prompt_tokens = [16, 32]", lengths);
    // Line 14 is the workload's `prompt_tokens`.
    let (line, _, key, msg, text) =
        problem(&with("prompt_tokens = { dist = \"normal\", mean = 5 }"));
    assert_eq!(line, 14, "{text}");
    assert_eq!(key.as_deref(), Some("workload[0].prompt_tokens"), "{text}");
    assert!(
        msg.contains("`normal` is not a length distribution"),
        "{text}"
    );
    assert!(msg.contains("dist = \"uniform\", min = 128"), "{text}");
    let (_, _, _, msg, text) = problem(&with(
        "prompt_tokens = { dist = \"uniform\", min = 9, max = 3 }",
    ));
    assert!(msg.contains("give 1 ≤ `min` ≤ `max`"), "{text}");
    let (_, _, _, msg, text) =
        problem(&with("prompt_tokens = { dist = \"lognormal\", mean = 64 }"));
    assert!(msg.contains("needs `sd`"), "{text}");
    let (_, _, _, msg, text) = problem(&with(
        "prompt_tokens = { dist = \"lognormal\", mean = 64, sd = 8, min = 2 }",
    ));
    assert!(
        msg.contains("`min` is not a key of dist = \"lognormal\""),
        "{text}"
    );
    let (_, _, _, msg, text) = problem(&with(
        "prompt_tokens = { dist = \"uniform\", min = 1, max = 2, colour = 3 }",
    ));
    assert!(msg.contains("unknown field `colour`"), "{text}");

    // Both sources, an order without a file, a seed that draws nothing.
    let (_, _, key, msg, text) = problem(&with("prompt_tokens = 16\nprompts = \"p.jsonl\""));
    assert_eq!(key.as_deref(), Some("workload[0].prompt_tokens"), "{text}");
    assert!(msg.contains("not both"), "{text}");
    let (_, _, key, msg, text) = problem(&with("prompt_tokens = 16\nprompt_order = \"random\""));
    assert_eq!(key.as_deref(), Some("workload[0].prompt_order"), "{text}");
    assert!(msg.contains("add `prompts = \"file.jsonl\"`"), "{text}");
    let (_, _, key, msg, text) = problem(&with("prompt_tokens = 16\nseed = 4"));
    assert_eq!(key.as_deref(), Some("workload[0].seed"), "{text}");
    assert!(
        msg.contains("prompt lengths drawn from a distribution"),
        "{text}"
    );
    let (_, _, _, msg, text) = problem(&with(""));
    assert!(msg.contains("needs `prompt_tokens`"), "{text}");
    assert!(msg.contains("or `prompts`"), "{text}");

    // What is allowed parses, and expands into one case of its own id.
    for (keys, id) in [
        (
            "prompt_tokens = { dist = \"lognormal\", mean = 64, sd = 8 }\nseed = 2",
            "cpu/w/plognormal-m64-sd8-g4-c1",
        ),
        (
            "prompt_tokens = { dist = \"uniform\", min = 8, max = 64 }",
            "cpu/w/puniform-8-64-g4-c1",
        ),
        (
            "prompt_tokens = { dist = \"fixed\", tokens = 16 }",
            "cpu/w/p16-g4-c1",
        ),
        (
            "prompts = \"p.jsonl\"\nprompt_order = \"random\"\nseed = 1",
            "cpu/w/pfile-g4-c1",
        ),
    ] {
        let s = suite::parse(&with(keys), Path::new("x.toml")).unwrap();
        let plan = Plan::expand(&s);
        assert_eq!(plan.cases.len(), 1, "{keys}");
        assert_eq!(plan.cases[0].id, id);
    }
}

#[test]
fn server_keys_are_for_servers_and_server_device_for_this_machine() {
    for (line, key, says) in [
        (
            "server_device = \"cuda\"",
            "target[0].server_device",
            "`engine = \"openai\"`",
        ),
        (
            "gguf = \"m.gguf\"",
            "target[0].gguf",
            "`engine = \"openai\"`",
        ),
    ] {
        let src = GOOD.replace(
            "model = \"synth:tiny\"",
            &format!("model = \"synth:tiny\"\n{line}"),
        );
        let (_, _, found, msg, text) = problem(&src);
        assert_eq!(found.as_deref(), Some(key), "{text}");
        assert!(msg.contains(says), "{text}");
    }
    let remote = GOOD.replace(
        "engine = \"candle\"",
        "engine = \"openai\"\nurl = \"http://10.0.0.7:8080\"\nserver_device = \"cuda\"",
    );
    let (_, _, found, msg, text) = problem(&remote);
    assert_eq!(found.as_deref(), Some("target[0].server_device"), "{text}");
    assert!(msg.contains("10.0.0.7"), "{text}");
}

#[test]
fn turns_make_one_case_of_conversations_with_its_own_id() {
    let chat = GOOD.replace("gen_tokens = 4", "gen_tokens = 4\nturns = 3");
    let plan = Plan::expand(&suite::parse(&chat, Path::new("x.toml")).unwrap());
    let ids: Vec<&str> = plan.cases.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["cpu/w/p16-g4-t3-c1", "cpu/w/p32-g4-t3-c1"]);
    assert_eq!(plan.cases[0].stored_params().turns, 3);
}

#[test]
fn turns_that_make_no_sense_are_located_errors() {
    let at_turns = |extra: &str, engine: &str| {
        let src = GOOD
            .replace(
                "gen_tokens = 4",
                &format!("gen_tokens = 4\nturns = 2\n{extra}"),
            )
            .replace("engine = \"candle\"", engine);
        problem(&src)
    };
    let server = "engine = \"openai\"\nurl = \"http://127.0.0.1:8080\"";

    let (line, _, _, msg, text) =
        problem(&GOOD.replace("gen_tokens = 4", "gen_tokens = 4\nturns = 0"));
    assert_eq!(line, 16, "{text}");
    assert!(msg.contains("positive integer"), "{text}");

    for (extra, says) in [
        ("concurrency = 4", "load patterns"),
        ("rate = [2.0]", "load patterns"),
        ("rate = \"search\"\nslo = { ttft_s = 1.0 }", "rate search"),
        ("depth = [64]", "`depth`"),
    ] {
        let (line, _, _, msg, text) = at_turns(extra, server);
        assert_eq!(line, 17, "{extra}: {text}");
        assert!(
            msg.contains("`turns`") && msg.contains(says),
            "{extra}: {text}"
        );
    }
    let (line, _, _, msg, text) =
        at_turns("", "engine = \"exo\"\nurl = \"http://127.0.0.1:52415\"");
    assert_eq!(line, 17, "{text}");
    assert!(
        msg.contains("`exo`") && msg.contains("conversations"),
        "{text}"
    );
    // Depth 0 is no depth.
    let src = GOOD
        .replace("gen_tokens = 4", "gen_tokens = 4\nturns = 2\ndepth = [0]")
        .replace("engine = \"candle\"", server);
    assert!(suite::parse(&src, Path::new("x.toml")).is_ok());
}

#[test]
fn keys_of_other_engines_are_each_located_and_name_the_engines_that_take_them() {
    // Lines 10 and 11, after the candle target's `model`.
    let src = GOOD.replace(
        "model = \"synth:tiny\"",
        "model = \"synth:tiny\"\ntimeout_s = 30\nsharding = \"tensor\"",
    );
    let err = suite::parse(&src, Path::new("suites/x.toml")).unwrap_err();
    let text = err.to_string();
    let SuiteError::Invalid(problems) = &err else {
        panic!("not a located error: {text}")
    };
    assert_eq!(problems.len(), 2, "{text}");
    assert!(
        text.contains("suites/x.toml:10:1: key `target[0].timeout_s`: `timeout_s` is for `engine = \"mlx-lm\"`, `engine = \"exo\"` and `engine = \"openai\"` targets"),
        "{text}"
    );
    assert!(
        text.contains("suites/x.toml:11:1: key `target[0].sharding`: `sharding` is for `engine = \"exo\"` targets"),
        "{text}"
    );
    let (_, _, key, msg, text) = problem(&GOOD.replace(
        "model = \"synth:tiny\"",
        "model = \"synth:tiny\"\nurl = \"http://127.0.0.1:8080\"",
    ));
    assert_eq!(key.as_deref(), Some("target[0].url"), "{text}");
    assert!(msg.contains("the candle engine runs in-process"), "{text}");
}

#[test]
fn an_unknown_target_key_lists_the_keys_of_the_targets_engine() {
    let src = GOOD.replace(
        "model = \"synth:tiny\"",
        "model = \"synth:tiny\"\ndevcie = \"cpu\"",
    );
    let (line, col, key, msg, text) = problem(&src);
    assert_eq!((line, col), (10, 1), "{text}");
    assert_eq!(key.as_deref(), Some("target[0].devcie"), "{text}");
    assert_eq!(
        msg,
        "unknown field `devcie`, expected one of `name`, `engine`, `model`, `dtype`, `seed`, `task`, `device`"
    );
}

#[test]
fn values_of_an_engines_own_keys_are_located_as_before() {
    // Line 9 is `nodes`, moved into the exo variant: its value keeps its place.
    let exo = GOOD.replace("engine = \"candle\"", "engine = \"exo\"\nnodes = [2, 0]");
    let (line, col, key, msg, text) = problem(&exo);
    assert_eq!((line, col), (9, 9), "{text}");
    assert_eq!(key.as_deref(), Some("target[0].nodes"), "{text}");
    assert!(msg.contains("0 is not allowed"), "{text}");
    let mflux = GOOD.replace("engine = \"candle\"", "engine = \"mflux\"\nquantize = 7");
    let (line, col, _, msg, text) = problem(&mflux);
    assert_eq!((line, col), (9, 12), "{text}");
    assert!(msg.contains("allowed: 3, 4, 5, 6, 8"), "{text}");
    let (line, col, _, msg, text) =
        problem(&openai().replace("url = ", "api = \"chatty\"\nurl = "));
    assert_eq!((line, col), (10, 7), "{text}");
    assert!(msg.contains("unknown variant `chatty`"), "{text}");
    // A table where the engine's name belongs.
    let (line, _, key, msg, text) =
        problem(&GOOD.replace("engine = \"candle\"", "engine = { candle = {} }"));
    assert_eq!(line, 8, "{text}");
    assert_eq!(key.as_deref(), Some("target[0].engine"), "{text}");
    assert!(msg.contains("the engine's name, a string"), "{text}");
}

#[test]
fn a_parsed_target_is_written_flat_with_its_engines_keys() {
    let s = suite::parse(&openai(), Path::new("x.toml")).unwrap();
    let json = serde_json::to_value(&s.targets[0]).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "name": "cpu",
            "engine": "openai",
            "model": "synth:tiny",
            "seed": 0,
            "url": "http://127.0.0.1:8080",
            "api": "chat",
            "timeout_s": 120,
        })
    );
    let s = suite::parse(GOOD, Path::new("x.toml")).unwrap();
    let json = serde_json::to_value(&s.targets[0]).unwrap();
    assert_eq!(json["engine"], "candle");
    assert_eq!(json["device"], "cpu");
}
