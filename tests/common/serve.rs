//! What the `netdx serve` lab tests and bench share: the agent in the scanner namespace, any
//! daemon started in a lab namespace (Prometheus, blackbox_exporter), and a small client of
//! Prometheus's HTTP API that runs curl inside the namespace Prometheus listens in.
//!
//! ```text
//!   test ──► Agent::start ──► timeout … ip netns exec <scanner> netdx serve …   (127.0.0.1:9430)
//!        ──► Prometheus::start ──► InNs: timeout … ip netns exec <ns> prometheus …
//!        ──► prom.query("…") ──► ip netns exec <ns> curl -G --data-urlencode query=… /api/v1/query
//! ```

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Lab;

/// The agent (`netdx serve` in the scanner namespace), killed if a test panics before it
/// stops it.
pub struct Agent {
    pub child: Child,
    pub log: PathBuf,
}

impl Agent {
    /// Starts `netdx <args>` with stderr in `dir/serve.log`.
    pub fn start(lab: &Lab, args: &[&str], dir: &Path) -> Agent {
        let log = dir.join("serve.log");
        let err = File::create(&log).expect("log file");
        let child = lab
            .netdx_command(args, Duration::from_secs(300))
            .stdout(Stdio::null())
            .stderr(Stdio::from(err))
            .spawn()
            .expect("spawn netdx serve");
        Agent { child, log }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Wait until the log says `needle` (or panic after `limit`, with the log).
    pub fn wait_log(&self, needle: &str, limit: Duration) {
        let start = Instant::now();
        while start.elapsed() < limit {
            if self.log().contains(needle) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("log never said {needle:?}:\n{}", self.log());
    }

    /// The pid of netdx itself: the child of `timeout` (`ip netns exec` execs it).
    pub fn pid(&self) -> String {
        child_of(self.child.id()).expect("netdx runs")
    }

    /// Send `sig` (HUP, TERM) to netdx itself. Not through `timeout`: it would forward the
    /// signal twice and arm its --kill-after timer.
    pub fn signal(&self, sig: &str) {
        let netdx = self.pid();
        let st = Command::new("kill")
            .args(["-s", sig, &netdx])
            .status()
            .expect("kill");
        assert!(st.success(), "kill -s {sig}");
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The first child of `pid` (what `timeout` runs), once it exists.
fn child_of(pid: u32) -> Option<String> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        if let Ok(children) = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            && let Some(c) = children.split_whitespace().next()
        {
            return Some(c.to_string());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// A process started in a lab namespace under `timeout`, stopped (SIGTERM to the process
/// itself, then SIGKILL) when dropped, so nothing outlives the test.
pub struct InNs {
    pub child: Child,
}

impl InNs {
    /// `argv` in namespace `ns`, stdout and stderr in `log`, at most `limit` long.
    pub fn start(ns: &str, argv: &[&str], log: &Path, limit: Duration) -> InNs {
        let out = File::create(log).expect("log");
        let child = Command::new("timeout")
            .args(["--kill-after=5", &limit.as_secs().max(1).to_string()])
            .args(["ip", "netns", "exec", ns])
            .args(argv)
            .stdin(Stdio::null())
            .stdout(Stdio::from(out.try_clone().expect("log fd")))
            .stderr(Stdio::from(out))
            .spawn()
            .expect("spawn");
        InNs { child }
    }

    /// The pid of the daemon itself (the child of `timeout`).
    pub fn pid(&self) -> Option<String> {
        child_of(self.child.id())
    }
}

impl Drop for InNs {
    fn drop(&mut self) {
        let pid = self.child.id();
        if let Ok(children) = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")) {
            for c in children.split_whitespace() {
                let _ = Command::new("kill").args(["-s", "TERM", c]).status();
            }
        }
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One sample of an instant vector: its labels and value.
#[derive(Debug, Clone)]
pub struct Sample {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, name: &str) -> &str {
        self.labels.get(name).map_or("", String::as_str)
    }
}

/// One entry of `/api/v1/alerts`.
#[derive(Debug, Clone)]
pub struct Alert {
    pub labels: BTreeMap<String, String>,
    /// `pending` or `firing`.
    pub state: String,
    /// When the rule's expression first held for this series (Unix seconds).
    pub active_at: f64,
}

impl Alert {
    pub fn name(&self) -> &str {
        self.label("alertname")
    }

    pub fn label(&self, name: &str) -> &str {
        self.labels.get(name).map_or("", String::as_str)
    }
}

/// A Prometheus server in a lab namespace, with its TSDB in a directory of the test's.
pub struct Prometheus {
    pub server: InNs,
    ns: String,
    listen: String,
    log: PathBuf,
}

impl Prometheus {
    /// Writes `config` to `dir/prometheus-<port>.yml` and starts Prometheus on
    /// 127.0.0.1:`port` in `ns`; returns once it says it is ready (or panics after 30 s).
    pub fn start(lab: &Lab, ns: &str, config: &str, dir: &Path, port: u16) -> Prometheus {
        let file = dir.join(format!("prometheus-{port}.yml"));
        std::fs::write(&file, config).expect("prometheus config");
        let tsdb = dir.join(format!("tsdb-{port}"));
        let log = dir.join(format!("prometheus-{port}.log"));
        let listen = format!("127.0.0.1:{port}");
        let server = InNs::start(
            ns,
            &[
                "prometheus",
                &format!("--config.file={}", file.display()),
                &format!("--storage.tsdb.path={}", tsdb.display()),
                &format!("--web.listen-address={listen}"),
            ],
            &log,
            Duration::from_secs(900),
        );
        let prom = Prometheus {
            server,
            ns: ns.to_string(),
            listen,
            log,
        };
        let start = Instant::now();
        loop {
            let out = lab.exec(
                &prom.ns,
                &[
                    "curl",
                    "-s",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code}",
                    "-m",
                    "2",
                    &format!("http://{}/-/ready", prom.listen),
                ],
            );
            if out.stdout == b"200" {
                return prom;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "prometheus not ready in 30 s:\n{}",
                prom.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// GET `path` of the HTTP API with URL-encoded `params`; Null when it does not answer JSON.
    pub fn api(&self, lab: &Lab, path: &str, params: &[(&str, &str)]) -> Value {
        let url = format!("http://{}{path}", self.listen);
        let pairs: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut argv = vec!["curl", "-s", "-G", "-m", "5"];
        for p in &pairs {
            argv.extend(["--data-urlencode", p.as_str()]);
        }
        argv.push(&url);
        let out = lab.exec(&self.ns, &argv);
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    /// An instant query now; panics when Prometheus says it failed (a bad query is a bug of
    /// the test, not a state to wait out).
    pub fn query(&self, lab: &Lab, promql: &str) -> Vec<Sample> {
        let v = self.api(lab, "/api/v1/query", &[("query", promql)]);
        assert_eq!(v["status"], "success", "query {promql}: {v}");
        v["data"]["result"]
            .as_array()
            .map(|r| {
                r.iter()
                    .map(|s| Sample {
                        labels: string_map(&s["metric"]),
                        value: s["value"][1]
                            .as_str()
                            .and_then(|x| x.parse().ok())
                            .unwrap_or(f64::NAN),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The pending and firing alerts now (resolved ones are not listed).
    pub fn alerts(&self, lab: &Lab) -> Vec<Alert> {
        let v = self.api(lab, "/api/v1/alerts", &[]);
        assert_eq!(v["status"], "success", "alerts: {v}");
        v["data"]["alerts"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| Alert {
                        labels: string_map(&x["labels"]),
                        state: x["state"].as_str().unwrap_or("").to_string(),
                        active_at: x["activeAt"].as_str().map_or(f64::NAN, rfc3339_secs),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn string_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// Unix seconds of an RFC 3339 time as Prometheus writes it (NaN if it is not one).
fn rfc3339_secs(s: &str) -> f64 {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_or(f64::NAN, |t| t.unix_timestamp_nanos() as f64 / 1e9)
}

/// Unix seconds now.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64()
}
