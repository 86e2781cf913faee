//! The session's interface list follows the kernel: a new interface or address is seen at once
//! (not after a cache expires), and without a change the list is not re-read (re-reading opens
//! sockets, which a monitoring round must not).
//!
//! ```text
//!  test (root ns) ─ ip netns add netdx-iw-<pid> (empty: lo only, nothing to send to)
//!        └─► ip netns exec netdx-iw-<pid> <this test binary> --exact ...   NETDX_IW_ROLE=child
//!               child: watch, add a veth pair and an address, watch again
//! ```

mod common;

use std::process::{Command, Stdio};

use netdx::net::arp::ArpChannels;
use netdx::net::sys::iface_watch::IfaceWatch;

const TEST_NAME: &str = "interface_changes_are_seen_at_once";
const ROLE_ENV: &str = "NETDX_IW_ROLE";

fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run ip");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn interface_changes_are_seen_at_once() {
    if std::env::var(ROLE_ENV).as_deref() == Ok("child") {
        return child();
    }
    if !common::require_root(TEST_NAME) {
        return;
    }
    let ns = format!("netdx-iw-{}", std::process::id());
    ip(&["netns", "add", &ns]);
    let out = Command::new("timeout")
        .args(["60", "ip", "netns", "exec", &ns])
        .arg(std::env::current_exe().expect("test binary path"))
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(ROLE_ENV, "child")
        .stdin(Stdio::null())
        .output()
        .expect("run child");
    let _ = Command::new("ip").args(["netns", "del", &ns]).status();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "child failed:\n{text}");
    assert!(text.contains("child done"), "child did not run:\n{text}");
}

/// Inside the empty namespace: only `lo` at first.
fn child() {
    let watch = IfaceWatch::open().expect("netlink route socket");
    assert!(!watch.changed(), "nothing changed yet");
    let arp = ArpChannels::default();
    let names = |arp: &ArpChannels| -> Vec<String> {
        arp.interfaces().iter().map(|i| i.name.clone()).collect()
    };
    assert_eq!(names(&arp), ["lo"]);

    ip(&["link", "add", "iw0", "type", "veth", "peer", "name", "iw1"]);
    assert!(watch.changed(), "a new link must be reported");
    assert!(!watch.changed(), "a change is reported once");
    let seen = names(&arp);
    assert!(seen.contains(&"iw0".to_string()), "new link seen: {seen:?}");

    ip(&["addr", "add", "10.250.0.1/24", "dev", "iw0"]);
    assert!(watch.changed(), "a new address must be reported");
    let iw0 = arp
        .interfaces()
        .iter()
        .find(|i| i.name == "iw0")
        .cloned()
        .expect("iw0 listed");
    assert!(
        iw0.ips.iter().any(|n| n.ip().to_string() == "10.250.0.1"),
        "new address seen at once: {:?}",
        iw0.ips
    );

    // No change: the cached list is the same allocation (not re-read).
    let a = arp.interfaces();
    let b = arp.interfaces();
    assert!(std::sync::Arc::ptr_eq(&a, &b), "unchanged list re-read");
    ip(&["link", "del", "iw0"]);
    let c = arp.interfaces();
    assert!(!std::sync::Arc::ptr_eq(&b, &c), "removed link not noticed");
    assert!(c.iter().all(|i| i.name != "iw0"), "iw0 still listed");
    println!("child done");
}
