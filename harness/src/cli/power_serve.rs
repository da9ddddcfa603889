//! `bench power serve`: this machine's power sampler (or a recorded file, replayed) over HTTP.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::clock::RunClock;
use crate::power::replay::ReplaySource;
use crate::power::serve::{self, Feed, Outcome, PowerServer, Token};
use crate::power::Source;

use super::power_source::{interrupted, open_source, read_token_file, SamplerArgs};

/// The environment variable holding the server's token when no --token-file is given.
const TOKEN_ENV: &str = "BENCH_POWER_TOKEN";

/// The long help, with examples.
pub const LONG_ABOUT: &str = "\
Serve this machine's power over HTTP, for a coordinator to scrape a node where it cannot \
sample itself (powermetrics needs root, macmon is not installed there). Until Ctrl-C.

Endpoints:
  GET /metrics  Prometheus text format 0.0.4 of the latest sample:
                bench_power_watts{rail,scope}          gauge, per rail
                bench_energy_joules_total{rail,scope}  counter: the rail's energy counter,
                                                       else power integrated since start
                bench_power_sample_age_seconds, bench_power_samples_total
  GET /json     the latest sample as a power.jsonl line (503 before the first)
  GET /         an index

The first line on stdout is the URL served (useful with --bind 127.0.0.1:0, any free port); \
the rest goes to stderr.

Off loopback every request needs `Authorization: Bearer <token>`: give the token with \
--token-file FILE (first line; keep the file chmod 600) or BENCH_POWER_TOKEN. Without one, \
binding a non-loopback address is refused. A token is also allowed on loopback.

Examples:
  bench power serve                                   # 127.0.0.1:9464, the auto sampler
  openssl rand -hex 32 > ~/.bench-token && chmod 600 ~/.bench-token
  sudo bench power serve --bind 0.0.0.0:9464 --token-file ~/.bench-token --sampler powermetrics
  bench power serve --replay run/power.jsonl --loop   # a recorded capture, over and over

On the coordinator (no --metric needed: the bench_* metrics are recognized):
  bench power record --sampler prometheus --url http://node-3:9464 \\
      --token-file ~/.bench-token --out node-3.jsonl";

/// Arguments of `bench power serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    sampler: SamplerArgs,
    /// Serve the samples of a recorded power JSONL file (a run's power.jsonl, `bench power
    /// record --out`) in real time instead of sampling: the gaps between samples are kept.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["sampler", "url", "metrics"])]
    replay: Option<PathBuf>,
    /// With --replay: start over at the end (energy counters keep rising).
    #[arg(long = "loop", requires = "replay")]
    looping: bool,
    /// The address to listen on; one other machines can reach needs a token.
    #[arg(long, default_value = serve::DEFAULT_BIND, value_name = "ADDR")]
    bind: String,
    /// A file whose first line is the token clients must send as `Authorization: Bearer
    /// <token>` (default: $BENCH_POWER_TOKEN, if set).
    #[arg(long = "token-file", value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// prometheus/macmon --url: a file holding the bearer token to send to that endpoint.
    #[arg(long = "url-token-file", value_name = "FILE")]
    url_token_file: Option<PathBuf>,
}

/// Run `bench power serve`.
pub fn serve(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let token = server_token(args.token_file.as_deref())?;
    let server = PowerServer::bind(&args.bind, token)?;
    let source: Box<dyn Source> = match &args.replay {
        Some(path) => {
            let replay = ReplaySource::open(path, args.looping)?;
            eprintln!("replay: {}", replay.describe());
            if !args.looping {
                eprintln!(
                    "after {:.1} s the last sample stays served (pass --loop to start over)",
                    replay.span_s()
                );
            }
            Box::new(replay)
        }
        None => {
            let url_token = args
                .url_token_file
                .as_deref()
                .map(|p| read_token_file(p).map(|t| t.expose().to_string()))
                .transpose()?;
            open_source(&args.sampler, url_token)?.0
        }
    };
    let addr = server.local_addr();
    eprintln!(
        "serving {} power on http://{addr} (/metrics, /json); {}",
        source.name(),
        if server.token_required() {
            "requests need the bearer token"
        } else {
            "no token required (loopback only)"
        }
    );
    // The URL first on stdout, for scripts and tests that bound port 0.
    println!("http://{addr}");
    let stop = interrupted();
    let feed = Feed::start(source, RunClock::start());
    let outcome = server.run(&feed, &stop);
    feed.stop();
    match outcome.context("the power server stopped")? {
        Outcome::Stopped => {
            eprintln!("stopped");
            Ok(ExitCode::SUCCESS)
        }
        Outcome::SourceFailed(why) => {
            eprintln!("error: sampling failed, so serving stopped: {why}");
            Ok(ExitCode::from(super::EXIT_FAILURES))
        }
    }
}

/// The server's token: --token-file, else BENCH_POWER_TOKEN, else none.
fn server_token(file: Option<&Path>) -> anyhow::Result<Option<Token>> {
    if let Some(path) = file {
        return read_token_file(path).map(Some);
    }
    match std::env::var(TOKEN_ENV) {
        Ok(text) => Ok(Some(Token::new(&text, TOKEN_ENV)?)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            anyhow::bail!("{TOKEN_ENV} is not valid UTF-8")
        }
    }
}
