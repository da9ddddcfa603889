//! Just enough of the Chrome DevTools Protocol to open a page in headless Chromium and see
//! what a reader's browser would: console messages, exceptions, every request, and a
//! screenshot of the whole page.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// The Chromium binary: `$BENCH_CHROMIUM`, else the first of the usual names on `PATH`.
pub fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("BENCH_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome", "chrome"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// A headless Chromium with one page under remote control; killed on drop.
pub struct Browser {
    child: Child,
    socket: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// Every event received, in order.
    pub events: Vec<Value>,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a page did while it loaded.
#[derive(Debug, Default)]
pub struct PageLoad {
    /// Console messages and exceptions, as text.
    pub console: Vec<String>,
    /// Browser log entries of level warning or error (failed loads, blocked content).
    pub log: Vec<String>,
    /// Every URL the page requested (the page itself included).
    pub requests: Vec<String>,
}

impl Browser {
    /// Start Chromium with the flags the report test asks for and a fresh profile in
    /// `profile`, and attach to its first page.
    pub fn start(binary: &Path, profile: &Path) -> Self {
        let mut child = Command::new(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                // Containers often give /dev/shm only 64 MB, too little for Chromium.
                "--disable-dev-shm-usage",
                "--window-size=1280,900",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        let stderr = child.stderr.take().expect("chromium stderr");
        let mut lines = BufReader::new(stderr).lines();
        let browser_ws = loop {
            let line = lines
                .next()
                .expect("chromium exited before it listened")
                .expect("read chromium stderr");
            if let Some(url) = line.split("DevTools listening on ").nth(1) {
                break url.trim().to_string();
            }
        };
        // Keep draining stderr so Chromium never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let port = browser_ws
            .trim_start_matches("ws://")
            .split(['/', ':'])
            .nth(1)
            .expect("port in the DevTools URL")
            .to_string();
        let list: Value = serde_json::from_str(
            &reqwest::blocking::get(format!("http://127.0.0.1:{port}/json/list"))
                .and_then(|r| r.text())
                .expect("list targets"),
        )
        .expect("targets as JSON");
        let page_ws = list
            .as_array()
            .and_then(|targets| targets.iter().find(|t| t["type"] == "page"))
            .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            .expect("a page target")
            .to_string();
        let (socket, _) = tungstenite::connect(page_ws).expect("connect to the page");
        if let MaybeTlsStream::Plain(stream) = socket.get_ref() {
            stream
                .set_read_timeout(Some(Duration::from_secs(30)))
                .expect("read timeout");
        }
        let mut browser = Self {
            child,
            socket,
            next_id: 0,
            events: Vec::new(),
        };
        for method in [
            "Runtime.enable",
            "Log.enable",
            "Network.enable",
            "Page.enable",
        ] {
            browser.call(method, json!({}));
        }
        browser
    }

    /// Send a command and wait for its result, keeping the events that arrive meanwhile.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let text = json!({"id": id, "method": method, "params": params}).to_string();
        self.socket
            .send(Message::Text(text.into()))
            .expect("send a DevTools command");
        loop {
            let message = self.read();
            if message["id"] == id {
                assert!(
                    message.get("error").is_none(),
                    "{method} failed: {}",
                    message["error"]
                );
                return message["result"].clone();
            }
            self.events.push(message);
        }
    }

    fn read(&mut self) -> Value {
        loop {
            match self.socket.read().expect("read from DevTools") {
                Message::Text(text) => return serde_json::from_str(&text).expect("DevTools JSON"),
                Message::Close(_) => panic!("DevTools closed the connection"),
                _ => continue,
            }
        }
    }

    /// Open `url` and wait for its load event (then a little for late requests).
    pub fn open(&mut self, url: &str) -> PageLoad {
        self.events.clear();
        self.call("Page.navigate", json!({ "url": url }));
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self
            .events
            .iter()
            .any(|e| e["method"] == "Page.loadEventFired")
        {
            assert!(Instant::now() < deadline, "{url} did not load in 30 s");
            let event = self.read();
            self.events.push(event);
        }
        // A round trip through the page flushes events queued behind the load.
        self.evaluate("1");
        let mut load = PageLoad::default();
        for e in &self.events {
            let p = &e["params"];
            match e["method"].as_str() {
                Some("Runtime.consoleAPICalled") => load.console.push(format!(
                    "console.{}: {}",
                    p["type"].as_str().unwrap_or("?"),
                    p["args"]
                )),
                Some("Runtime.exceptionThrown") => load
                    .console
                    .push(format!("exception: {}", p["exceptionDetails"])),
                Some("Log.entryAdded")
                    if matches!(p["entry"]["level"].as_str(), Some("error" | "warning")) =>
                {
                    load.log.push(p["entry"].to_string())
                }
                Some("Network.requestWillBeSent") => load
                    .requests
                    .push(p["request"]["url"].as_str().unwrap_or("").to_string()),
                _ => {}
            }
        }
        load
    }

    /// Evaluate a JavaScript expression in the page (the test's own inspection; report pages
    /// carry no script) and return its value.
    pub fn evaluate(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true }),
        );
        result["result"]["value"].clone()
    }

    /// A PNG screenshot of the whole page at 1 CSS pixel per pixel.
    pub fn screenshot(&mut self) -> Vec<u8> {
        use base64::Engine;
        let metrics = self.call("Page.getLayoutMetrics", json!({}));
        let size = &metrics["cssContentSize"];
        let result = self.call(
            "Page.captureScreenshot",
            json!({
                "format": "png",
                "captureBeyondViewport": true,
                "clip": {
                    "x": 0, "y": 0, "scale": 1,
                    "width": size["width"].as_f64().unwrap_or(1280.0),
                    "height": size["height"].as_f64().unwrap_or(900.0),
                }
            }),
        );
        base64::engine::general_purpose::STANDARD
            .decode(result["data"].as_str().expect("screenshot data"))
            .expect("screenshot as base64")
    }
}
