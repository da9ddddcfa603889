//! The `mlx-lm` engine: bench starts `mlx_lm.server` for the target's model on a free loopback
//! port, waits until it answers, measures it through the [`openai`](super::openai) engine, and
//! stops it when done (also when bench fails or is interrupted: the server is killed and
//! reaped on drop; a second interrupt kills it before bench exits, and on Linux the kernel
//! kills it if bench dies; see [`crate::children`]).

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::mlx_benchmark;
use super::openai::{Api, OpenAiEngine, OpenAiOptions};
use crate::children::{self, Managed, OnInterrupt};
use crate::engine::{
    EngineInfo, LlmEngine, LlmMeasurement, LlmPatternRequest, LlmRequest, ServesPatterns,
};
use crate::load::{LoadPattern, LoadTimeline};
use crate::model::ResolvedModel;
use crate::own_benchmark::ToolBenchmark;
use crate::Error;

/// How bench runs mlx-lm.
#[derive(Debug, Clone)]
pub struct MlxLmOptions {
    /// The endpoint requests go to.
    pub api: Api,
    /// The Python that has mlx-lm (`python3`, or a venv's `bin/python`).
    pub python: String,
    /// Longest wait for the server to load the model and listen.
    pub startup_timeout: Duration,
    /// Longest wait for each response and each piece of a stream.
    pub timeout: Duration,
    /// Also run `mlx_lm.benchmark` on each single-request case (see [`mlx_benchmark`]).
    ///
    /// [`mlx_benchmark`]: super::mlx_benchmark
    pub benchmark: bool,
}

/// `mlx_lm.server`, started and stopped by bench.
pub struct MlxLmEngine {
    inner: OpenAiEngine,
    info: EngineInfo,
    python: String,
    version: String,
    model_dir: std::path::PathBuf,
    benchmark: bool,
    // Declared last: dropped after the engine that talks to it. `None` once stopped so that
    // mlx_lm.benchmark does not share the machine's memory with an idle server.
    server: Option<ServerProcess>,
}

/// The server's process: killed and reaped when dropped.
struct ServerProcess {
    child: Child,
    /// Registered while it runs; `None` once out of the registry, before it is reaped.
    managed: Option<Managed>,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        self.managed = None;
        let _ = self.child.wait();
    }
}

/// The server's stderr during start-up, in a temporary file removed when start-up ends, however
/// it ends (a failure quotes its tail first).
struct StartupLog(std::path::PathBuf);

impl Drop for StartupLog {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl MlxLmEngine {
    /// Start `mlx_lm.server` on the model folder in `resolved` and connect to it.
    pub fn start(
        spec: &str,
        resolved: &ResolvedModel,
        options: &MlxLmOptions,
    ) -> Result<Self, Error> {
        let started = Instant::now();
        let version = mlx_lm_version(&options.python)?;
        let port = free_port()?;
        let log = StartupLog(tempfile_path(port));
        let stderr = std::fs::File::create(&log.0).map_err(|e| {
            Error::process(
                format!("{} -m mlx_lm.server", options.python),
                format!("cannot create {}: {e}", log.0.display()),
            )
        })?;
        let child = children::prepare(&mut Command::new(&options.python))
            .args(["-m", "mlx_lm.server", "--model"])
            .arg(&resolved.dir)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|e| {
                Error::process(
                    format!("{} -m mlx_lm.server", options.python),
                    format!("cannot start `{} -m mlx_lm.server`: {e}", options.python),
                )
            })?;
        // Finished in order on an interrupt: requests in flight end first, then the drop.
        let managed = Some(children::register(&child, OnInterrupt::Finish));
        let mut server = ServerProcess { child, managed };
        wait_until_listening(&mut server, port, options.startup_timeout, &log.0)?;
        let url = format!("http://127.0.0.1:{port}");
        let inner = OpenAiEngine::open(
            spec,
            resolved,
            OpenAiOptions {
                api: options.api,
                url: url.clone(),
                // mlx_lm.server serves the model it was started with under its path.
                served_model: resolved.dir.display().to_string(),
                api_key: None,
                timeout: options.timeout,
            },
        )?;
        let mut info = inner.info().clone();
        info.engine = "mlx-lm";
        info.versions.push(("mlx-lm".into(), version.clone()));
        info.device = format!(
            "mlx_lm.server started by bench at {url} ({})",
            options.python
        );
        info.open_s = started.elapsed().as_secs_f64();
        drop(log);
        Ok(Self {
            inner,
            info,
            python: options.python.clone(),
            version,
            model_dir: resolved.dir.clone(),
            benchmark: options.benchmark,
            server: Some(server),
        })
    }
}

impl LlmEngine for MlxLmEngine {
    fn info(&self) -> &EngineInfo {
        &self.info
    }

    fn generate(&mut self, request: &LlmRequest) -> Result<LlmMeasurement, Error> {
        self.inner.generate(request)
    }

    fn count_tokens(&self, text: &str) -> Option<usize> {
        self.inner.count_tokens(text)
    }

    fn pattern_server(&mut self) -> Option<&mut dyn ServesPatterns> {
        Some(self)
    }

    fn own_benchmark(
        &mut self,
        request: &LlmRequest,
        trials: u32,
    ) -> Option<Result<ToolBenchmark, Error>> {
        if !self.benchmark {
            return None;
        }
        let Some(prompt_tokens) = request.prompt_tokens() else {
            return Some(Err(Error::Config(
                "mlx_lm.benchmark runs prompts of one length; a dataset's prompts are not its work"
                    .into(),
            )));
        };
        // Every case of the target has run: free the server's memory first.
        self.server = None;
        Some(mlx_benchmark::run(
            &self.python,
            &self.version,
            &self.model_dir,
            prompt_tokens,
            request.gen_tokens,
            trials,
        ))
    }
}

impl ServesPatterns for MlxLmEngine {
    fn serve_pattern(
        &mut self,
        requests: &[LlmRequest],
        pattern: &LoadPattern,
        sink: &mut dyn FnMut(LlmPatternRequest),
    ) -> Result<LoadTimeline, Error> {
        self.inner.serve_pattern(requests, pattern, sink)
    }
}

/// mlx-lm's version, which also checks that the Python has it.
fn mlx_lm_version(python: &str) -> Result<String, Error> {
    let out = children::output(
        Command::new(python).args(["-c", "import mlx_lm; print(mlx_lm.__version__)"]),
        OnInterrupt::Kill,
    )
    .map_err(|e| Error::process(python, format!("cannot run `{python}`: {e}")))?;
    if !out.status.success() && crate::cancel::is_requested() {
        return Err(Error::Interrupted);
    }
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().last().unwrap_or_default();
        return Err(Error::NotAvailable(format!(
            "`{python}` has no mlx-lm ({last}); install it with `pip install mlx-lm`, or name another Python in the target's `python`"
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn free_port() -> Result<u16, Error> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Error::process("mlx_lm.server", format!("no free loopback port: {e}")))
}

fn tempfile_path(port: u16) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "bench-mlx-lm-server-{}-{port}.log",
        std::process::id()
    ))
}

fn wait_until_listening(
    server: &mut ServerProcess,
    port: u16,
    timeout: Duration,
    log: &Path,
) -> Result<(), Error> {
    let deadline = Instant::now() + timeout;
    loop {
        if crate::cancel::is_requested() {
            return Err(Error::Interrupted);
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            return Err(Error::process(
                "mlx_lm.server",
                format!(
                    "mlx_lm.server exited ({status}) before it listened: {}",
                    log_tail(log)
                ),
            ));
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Error::process(
                "mlx_lm.server",
                format!(
                    "mlx_lm.server did not listen within {:.0} s: {}",
                    timeout.as_secs_f64(),
                    log_tail(log)
                ),
            ));
        }
        crate::cancel::sleep(Duration::from_millis(200));
    }
}

/// The last lines of the server's stderr, for error messages.
fn log_tail(log: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(log) {
        let _ = f.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().rev().take(5).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
}
