//! A tmux session driven by a test (the dashboard needs a real terminal): send keys, read
//! the screen, wait for what should appear. Killed however the test ends.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub struct Tmux {
    pub name: String,
}

impl Tmux {
    /// A detached `width`×`height` session named `name` running `cmd` in `dir`.
    pub fn start(name: String, dir: &Path, cmd: &str, width: u16, height: u16) -> Tmux {
        let t = Tmux { name };
        let (w, h) = (width.to_string(), height.to_string());
        t.tmux(&[
            "new-session",
            "-d",
            "-s",
            &t.name,
            "-x",
            &w,
            "-y",
            &h,
            "-c",
            dir.to_str().expect("utf-8 temp dir"),
            cmd,
        ]);
        t.tmux(&["resize-window", "-t", &t.name, "-x", &w, "-y", &h]);
        t
    }

    pub fn tmux(&self, args: &[&str]) -> Output {
        // Each session on a server of its own (-L): tests run in parallel, and a shared server
        // that exits as one test's last session ends makes another test's new-session fail
        // with "server exited unexpectedly".
        let out = Command::new("tmux")
            .args(["-L", &self.name])
            .args(args)
            .output()
            .expect("run tmux");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    pub fn screen(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-t", &self.name]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", self.name.as_str()];
        args.extend(keys);
        self.tmux(&args);
    }

    /// Type text literally (no key-name interpretation).
    pub fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", &self.name, "-l", text]);
    }

    pub fn display(&self, format: &str) -> String {
        let out = self.tmux(&["display-message", "-p", "-t", &self.name, format]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Poll the pane until `pred` holds; panics with the last screen after `limit`.
    pub fn wait_for(&self, what: &str, limit: Duration, pred: impl Fn(&str) -> bool) -> String {
        self.wait_seeing(what, limit, &mut |_| {}, pred)
    }

    /// [`Tmux::wait_for`], passing every screen seen to `seen` (to catch a log line that
    /// scrolls away).
    pub fn wait_seeing(
        &self,
        what: &str,
        limit: Duration,
        seen: &mut impl FnMut(&str),
        pred: impl Fn(&str) -> bool,
    ) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            seen(&s);
            if pred(&s) {
                return s;
            }
            if start.elapsed() > limit {
                panic!("timed out after {limit:?} waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.name, "kill-server"])
            .output();
    }
}

/// Whether tmux is installed.
pub fn available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}
