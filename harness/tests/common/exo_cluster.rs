//! The cluster state a scripted exo API keeps, as a live exo 1.0.71 behaves: an instance
//! placed is ready at once; a removal is applied a moment after the DELETE is answered (here,
//! after the next read of `/state`), and the removed instance's runners stay listed, shutting
//! down, for good (their processes exit within about a second; the state never says they did).

use std::time::Instant;

use serde_json::{json, Value};

/// What the fake cluster holds and was asked.
pub struct FakeCluster {
    /// The `/state` document.
    pub state: Value,
    /// Instances placed, in order.
    pub created: Vec<String>,
    /// Instances removed, in order.
    pub deleted: Vec<String>,
    /// Removed instances still in the state.
    removing: Vec<String>,
    /// Runners of removed instances, and since when they shut down.
    stopping: Vec<(String, Instant)>,
    /// Instances placed within a second of a removal, while its runners still ran.
    pub placed_beside_stopping: usize,
}

impl FakeCluster {
    /// A cluster whose state starts as `state`.
    pub fn new(state: Value) -> Self {
        Self {
            state,
            created: Vec::new(),
            deleted: Vec::new(),
            removing: Vec::new(),
            stopping: Vec::new(),
            placed_beside_stopping: 0,
        }
    }

    /// `GET /state`: the state as it is, then the removals asked for before are applied.
    pub fn read_state(&mut self) -> String {
        let text = self.state.to_string();
        for id in std::mem::take(&mut self.removing) {
            let Some(instance) = self.state["instances"]
                .as_object_mut()
                .and_then(|m| m.remove(&id))
            else {
                continue;
            };
            let now = Instant::now();
            for runner in runners(&instance) {
                self.state["runners"][&runner] = json!({"RunnerShuttingDown": {}});
                self.stopping.push((runner, now));
            }
        }
        text
    }

    /// `POST /instance`: the instance and its runners, ready (`ready` is the runner status
    /// body, as the API generation shows it); its id.
    pub fn place(&mut self, instance: Value, ready: Value) -> String {
        if self
            .stopping
            .iter()
            .any(|(_, since)| since.elapsed().as_millis() < 1000)
        {
            self.placed_beside_stopping += 1;
        }
        let inner = instance
            .as_object()
            .and_then(|o| o.values().next())
            .cloned()
            .unwrap_or_default();
        let id = inner["instanceId"].as_str().unwrap_or_default().to_string();
        for runner in runners(&instance) {
            self.state["runners"][&runner] = json!({ "RunnerReady": ready.clone() });
        }
        self.state["instances"][&id] = instance;
        self.created.push(id.clone());
        id
    }

    /// `DELETE /instance/{id}`: applied after the next read of the state.
    pub fn remove(&mut self, id: &str) {
        self.removing.push(id.to_string());
        self.deleted.push(id.to_string());
    }
}

/// The runner ids of a tagged instance.
fn runners(instance: &Value) -> Vec<String> {
    instance
        .as_object()
        .and_then(|o| o.values().next())
        .and_then(|inner| inner["shardAssignments"]["runnerToShard"].as_object())
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}
