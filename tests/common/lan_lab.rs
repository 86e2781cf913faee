//! Harness for the LAN-safety lab (`tests/lab/lan_lab.py`): a small namespace LAN with a
//! legitimate gateway (dnsmasq DHCP, radvd) and, on request, a rogue DHCP server, two hosts
//! with one address, a gratuitous-ARP sender claiming the gateway and a rogue IPv6 router.
//!
//! ```ignore
//! let Some(lab) = common::lan_lab::lan_lab_or_skip("t", LanFlags { rogue_dhcp: true, ..LanFlags::default() }) else { return };
//! let out = lab.netdx(&["lan", "--json"]);
//! ```
//!
//! Teardown as for [`super::Lab`]: `Drop`, plus lab.py's janitor watching this process.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;

/// Which trouble the lab carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LanFlags {
    pub rogue_dhcp: bool,
    pub duplicate: bool,
    pub spoof_gateway: bool,
    pub rogue_ra: bool,
    /// The scanner's switch port announces LLDP and CDP every 5 s.
    pub switch: bool,
}

impl LanFlags {
    pub const ALL: LanFlags = LanFlags {
        rogue_dhcp: true,
        duplicate: true,
        spoof_gateway: true,
        rogue_ra: true,
        switch: true,
    };

    fn args(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.rogue_dhcp {
            v.push("--rogue-dhcp");
        }
        if self.duplicate {
            v.push("--duplicate");
        }
        if self.spoof_gateway {
            v.push("--spoof-gateway");
        }
        if self.rogue_ra {
            v.push("--rogue-ra");
        }
        if self.switch {
            v.push("--switch");
        }
        v
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct LanNode {
    pub ip: Ipv4Addr,
    pub mac: String,
    #[serde(default)]
    pub link_local: Option<Ipv6Addr>,
    #[serde(default)]
    pub ns: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DhcpServer {
    pub ip: Ipv4Addr,
    pub mac: String,
    pub dhcp_range: [Ipv4Addr; 2],
    pub router: Ipv4Addr,
    pub dns: Vec<Ipv4Addr>,
    pub domain: String,
    pub lease_s: u32,
    pub leases: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Gateway {
    #[serde(flatten)]
    pub dhcp: DhcpServer,
    pub link_local: Ipv6Addr,
    pub prefix: String,
    pub ra_dns: Ipv6Addr,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Duplicate {
    pub ip: Ipv4Addr,
    pub macs: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RogueRouter {
    pub mac: String,
    pub link_local: Ipv6Addr,
    pub prefix: String,
}

/// What the scanner's switch port announces (LLDP and CDP).
#[derive(Debug, Clone, Deserialize)]
pub struct SwitchTruth {
    pub name: String,
    pub port: String,
    pub port_desc: String,
    pub vlan: u16,
    pub mgmt: Ipv4Addr,
    pub interval_s: f64,
}

/// What lan_lab.py printed: the ground truth.
#[derive(Debug, Clone, Deserialize)]
pub struct LanLabInfo {
    pub name: String,
    pub subnet: String,
    pub iface: String,
    pub all_namespaces: Vec<String>,
    pub scanner: LanNode,
    pub gateway: Gateway,
    pub rogue_dhcp: Option<DhcpServer>,
    pub duplicate: Option<Duplicate>,
    pub spoofer: Option<LanNode>,
    pub rogue_ra: Option<RogueRouter>,
    #[serde(default)]
    pub switch: Option<SwitchTruth>,
}

pub struct LanLab {
    info: LanLabInfo,
    torn_down: bool,
}

const UP_TIMEOUT: Duration = Duration::from_secs(60);
const EXEC_TIMEOUT: Duration = Duration::from_secs(60);

fn lan_lab_py(args: &[&str], limit: Duration) -> Output {
    Command::new("timeout")
        .arg("--kill-after=5")
        .arg(limit.as_secs().to_string())
        .arg(super::python())
        .arg(super::lab_dir().join("lan_lab.py"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("spawn lan_lab.py {args:?}: {e}"))
}

fn have(tool: &str) -> bool {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .any(|d| std::path::Path::new(d).join(tool).exists())
}

/// Root, dnsmasq and radvd, then a fresh LAN lab with `flags`; otherwise a skip through
/// [`super::require`] (a failure under NETDX_REQUIRE_LAB=1).
pub fn lan_lab_or_skip(test: &str, flags: LanFlags) -> Option<LanLab> {
    if !super::require_root(test) {
        return None;
    }
    for tool in ["dnsmasq", "radvd"] {
        if !super::require(test, have(tool), &format!("needs {tool}")) {
            return None;
        }
    }
    Some(LanLab::up(flags))
}

impl LanLab {
    pub fn up(flags: LanFlags) -> LanLab {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "lan-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let owner = std::process::id().to_string();
        let mut args = vec!["up", "--name", &name, "--owner-pid", &owner];
        args.extend(flags.args());
        let started = Instant::now();
        let out = lan_lab_py(&args, UP_TIMEOUT);
        if !out.status.success() {
            let _ = lan_lab_py(&["down", "--name", &name], EXEC_TIMEOUT);
            panic!(
                "lan_lab.py up --name {name} failed ({}):\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let info: LanLabInfo = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("lan_lab.py printed bad JSON: {e}"));
        eprintln!("LAN lab {name} up in {} ms", started.elapsed().as_millis());
        LanLab {
            info,
            torn_down: false,
        }
    }

    pub fn info(&self) -> &LanLabInfo {
        &self.info
    }

    pub fn scanner_ns(&self) -> &str {
        self.info.scanner.ns.as_deref().expect("scanner namespace")
    }

    /// The command running netdx inside the scanner namespace, with an outer time limit.
    pub fn netdx_command(&self, args: &[&str], limit: Duration) -> Command {
        let mut cmd = Command::new("timeout");
        cmd.arg("--kill-after=5")
            .arg(limit.as_secs().max(1).to_string())
            .args(["ip", "netns", "exec", self.scanner_ns()])
            .arg(env!("CARGO_BIN_EXE_netdx"))
            .args(args)
            .stdin(Stdio::null())
            .env("NETDX_CONFIG", "/dev/null");
        cmd
    }

    /// Runs netdx in the scanner namespace (30 s limit: a hung binary fails the test).
    pub fn netdx(&self, args: &[&str]) -> Output {
        let out = self
            .netdx_command(args, Duration::from_secs(30))
            .output()
            .expect("spawn netdx");
        assert!(
            !matches!(out.status.code(), Some(124) | Some(137)),
            "netdx {args:?} timed out:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Runs `argv` in one of this lab's namespaces.
    pub fn exec(&self, ns: &str, argv: &[&str]) -> Output {
        assert!(self.info.all_namespaces.iter().any(|n| n == ns));
        Command::new("timeout")
            .arg(EXEC_TIMEOUT.as_secs().to_string())
            .args(["ip", "netns", "exec", ns])
            .args(argv)
            .stdin(Stdio::null())
            .output()
            .expect("spawn in namespace")
    }

    pub fn down(mut self) {
        self.torn_down = true;
        let out = lan_lab_py(&["down", "--name", &self.info.name], EXEC_TIMEOUT);
        assert!(
            out.status.success(),
            "lan_lab.py down failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for LanLab {
    fn drop(&mut self) {
        if self.torn_down {
            return;
        }
        let out = lan_lab_py(&["down", "--name", &self.info.name], EXEC_TIMEOUT);
        if !out.status.success() {
            let msg = format!(
                "lan_lab.py down --name {} failed: {}",
                self.info.name,
                String::from_utf8_lossy(&out.stderr)
            );
            if std::thread::panicking() {
                eprintln!("{msg}");
            } else {
                panic!("{msg}");
            }
        }
    }
}
