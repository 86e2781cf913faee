//! Least privilege: once the session has opened every socket that needs a privilege, the
//! process gives up what it no longer needs, before it parses a single byte from the network
//! (trippy drops its effective set at the same point; we go further):
//!
//! ```text
//!  open privileged sockets ─► drop_privileges() ─► start the receive loops
//!    (raw, ICMP, AF_PACKET)     bounding, ambient, inheritable: cleared
//!                               no_new_privs: set (no exec can gain anything back)
//!                               via sudo: groups, gid, uid of the invoking user
//!                               permitted = effective = what `Retain` names (usually nothing)
//! ```
//!
//! Capabilities are a property of each *thread*, so the drop must run while the process has
//! exactly one thread; [`drop_privileges`] refuses otherwise rather than leave a capable thread
//! behind (every thread started later inherits the reduced sets).

use std::collections::HashSet;
use std::ffi::{CString, OsStr};
use std::path::PathBuf;
use std::sync::OnceLock;

use caps::{CapSet, Capability};
use nix::unistd::{Gid, Uid, User};

/// What stays after the drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retain {
    /// Nothing: every socket the job will use is open already.
    Nothing,
    /// `CAP_NET_RAW` in the permitted and effective sets, nothing else: for jobs that open
    /// raw or AF_PACKET sockets later (an interface that appears, a LAN check, an IPv6 link
    /// sweep, a traceroute from the dashboard).
    NetRaw,
    /// `CAP_NET_RAW` and `CAP_NET_BIND_SERVICE`: for the LAN checks, whose DHCP probe binds
    /// UDP port 68 on the interface (see [`crate::net::lan::dhcp`]) when they run.
    NetRawAndBind,
}

impl Retain {
    fn set(self) -> HashSet<Capability> {
        match self {
            Retain::Nothing => HashSet::new(),
            Retain::NetRaw => HashSet::from([Capability::CAP_NET_RAW]),
            Retain::NetRawAndBind => {
                HashSet::from([Capability::CAP_NET_RAW, Capability::CAP_NET_BIND_SERVICE])
            }
        }
    }

    /// The `CapEff`/`CapPrm` mask in `/proc/<pid>/status` after the drop.
    pub fn mask(self) -> u64 {
        self.set().iter().map(|c| c.bitmask()).fold(0, |a, b| a | b)
    }
}

/// The user who ran `sudo netdx ...`, whom the process becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoker {
    pub uid: u32,
    pub gid: u32,
}

/// The invoking user when started as root by sudo: real uid 0 and numeric `SUDO_UID` and
/// `SUDO_GID` naming someone else. `sudo` run by root itself (`SUDO_UID=0`) has no one to
/// drop to; a malformed variable is an error, not a reason to stay root.
pub fn invoker_from(
    real_uid: u32,
    sudo_uid: Option<&OsStr>,
    sudo_gid: Option<&OsStr>,
) -> Result<Option<Invoker>, PrivilegeError> {
    if real_uid != 0 {
        return Ok(None);
    }
    let parse = |name: &'static str, v: &OsStr| {
        v.to_str()
            .and_then(|s| s.parse::<u32>().ok())
            .ok_or_else(|| PrivilegeError::SudoVariable(name, v.to_string_lossy().into_owned()))
    };
    match (sudo_uid, sudo_gid) {
        (Some(u), Some(g)) => {
            let (uid, gid) = (parse("SUDO_UID", u)?, parse("SUDO_GID", g)?);
            Ok((uid != 0).then_some(Invoker { uid, gid }))
        }
        (None, None) => Ok(None),
        (Some(_), None) => Err(PrivilegeError::SudoVariable("SUDO_GID", "(unset)".into())),
        (None, Some(_)) => Err(PrivilegeError::SudoVariable("SUDO_UID", "(unset)".into())),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PrivilegeError {
    #[error("{0} is {1:?}, not a numeric id")]
    SudoVariable(&'static str, String),
    #[error(
        "cannot drop privileges while {0} threads run (capabilities are per thread); this is a bug"
    )]
    Threads(usize),
    #[error("cannot set no_new_privs: {0}")]
    NoNewPrivs(nix::Error),
    #[error("cannot drop capabilities: {0}")]
    Caps(#[from] caps::errors::CapsError),
    #[error("cannot become uid {uid} gid {gid} (the user who ran sudo): {source}")]
    Switch {
        uid: u32,
        gid: u32,
        source: nix::Error,
    },
    #[error(
        "cannot write the report to {dir} as uid {uid} (netdx dropped root to the user who ran sudo): {source}; choose a directory that user can write"
    )]
    ReportDir {
        dir: PathBuf,
        uid: u32,
        source: std::io::Error,
    },
    #[error("cannot read /proc/self/status: {0}")]
    Status(std::io::Error),
    #[error("after dropping privileges {what} is {found:#x}, expected {expected:#x}")]
    Verify {
        what: &'static str,
        found: u64,
        expected: u64,
    },
}

/// What the drop did, for the start-up log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// The permitted set before the drop (`0`: the process had nothing to give up).
    pub had: u64,
    pub retained: Retain,
    /// The user the process became (sudo), with that user's home directory.
    pub user: Option<(Invoker, Option<PathBuf>)>,
}

impl Dropped {
    /// One line for stderr saying what was given up, or `None` when there was nothing to
    /// give up (an unprivileged user: nothing changed, nothing to say).
    pub fn summary(&self) -> Option<String> {
        if self.had == 0 && self.user.is_none() {
            return None;
        }
        let kept = match self.retained {
            Retain::Nothing => "no capability kept",
            Retain::NetRaw => "kept cap_net_raw only (for sockets opened later)",
            Retain::NetRawAndBind => {
                "kept cap_net_raw and cap_net_bind_service only (for the LAN checks' sockets)"
            }
        };
        Some(match &self.user {
            Some((w, _)) => format!(
                "sockets open; privileges dropped: {kept}; running as uid {} gid {} (the user who ran sudo)",
                w.uid, w.gid
            ),
            None => format!("sockets open; privileges dropped: {kept}"),
        })
    }
}

impl Dropped {
    /// After a switch to the invoking user, whether that user can write a report to `report`
    /// (a temporary file is created beside it and removed): asked at start-up, so a scan is
    /// never run only to find at the end that its report cannot be written.
    pub fn check_writable(&self, report: Option<&std::path::Path>) -> Result<(), PrivilegeError> {
        let (Some(path), Some((w, _))) = (report, &self.user) else {
            return Ok(());
        };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => std::path::Path::new("."),
        };
        tempfile::Builder::new()
            .prefix(".netdx-write-check")
            .tempfile_in(dir)
            .map(drop)
            .map_err(|source| PrivilegeError::ReportDir {
                dir: dir.to_path_buf(),
                uid: w.uid,
                source,
            })
    }
}

static INVOKER_HOME: OnceLock<PathBuf> = OnceLock::new();

/// The home directory of the user the process dropped to, if it did: where that user's data
/// belongs, rather than root's `$HOME` that sudo left in the environment (and which the
/// process can no longer write).
pub fn invoker_home() -> Option<&'static std::path::Path> {
    INVOKER_HOME.get().map(PathBuf::as_path)
}

/// The `CapXxx:` masks and `Threads:` count of a `/proc/<pid>/status` text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCaps {
    pub inh: u64,
    pub prm: u64,
    pub eff: u64,
    pub bnd: u64,
    pub amb: u64,
    pub threads: usize,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

/// Parse what matters here out of `/proc/<pid>/status`.
pub fn parse_status(text: &str) -> StatusCaps {
    let mut s = StatusCaps::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let hex = || u64::from_str_radix(value, 16).unwrap_or(u64::MAX);
        // Uid/Gid lines: real, effective, saved, filesystem; all four must agree.
        let id = || {
            let ids: Vec<&str> = value.split_whitespace().collect();
            let first = ids.first().and_then(|v| v.parse().ok());
            ids.iter()
                .all(|v| v.parse().ok() == first)
                .then_some(first)
                .flatten()
        };
        match key {
            "CapInh" => s.inh = hex(),
            "CapPrm" => s.prm = hex(),
            "CapEff" => s.eff = hex(),
            "CapBnd" => s.bnd = hex(),
            "CapAmb" => s.amb = hex(),
            "Threads" => s.threads = value.parse().unwrap_or(0),
            "Uid" => s.uid = id(),
            "Gid" => s.gid = id(),
            _ => {}
        }
    }
    s
}

fn own_status() -> Result<StatusCaps, PrivilegeError> {
    std::fs::read_to_string("/proc/self/status")
        .map(|t| parse_status(&t))
        .map_err(PrivilegeError::Status)
}

/// The invoking user from this process's real uid and environment.
pub fn invoker() -> Result<Option<Invoker>, PrivilegeError> {
    invoker_from(
        Uid::current().as_raw(),
        std::env::var_os("SUDO_UID").as_deref(),
        std::env::var_os("SUDO_GID").as_deref(),
    )
}

/// Give up every privilege but `retain`, and under sudo become the invoking user. Call once
/// every privileged socket is open and before anything reads from them; the process must be
/// single-threaded. Unprivileged processes pass through (clearing empty sets is a no-op).
pub fn drop_privileges(retain: Retain) -> Result<Dropped, PrivilegeError> {
    let before = own_status()?;
    if before.threads > 1 {
        return Err(PrivilegeError::Threads(before.threads));
    }
    let keep = retain.set();
    let who = invoker()?;
    // Read before the switch: the passwd entry names the user's groups and home.
    let entry = match &who {
        Some(w) => User::from_uid(Uid::from_raw(w.uid)).ok().flatten(),
        None => None,
    };

    // No program this process might start can gain privileges back (setuid, file caps).
    nix::sys::prctl::set_no_new_privs().map_err(PrivilegeError::NoNewPrivs)?;
    // The bounding set needs CAP_SETPCAP to shrink, so it goes first, while we have it.
    if caps::has_cap(None, CapSet::Effective, Capability::CAP_SETPCAP)? {
        for cap in caps::all() {
            // A capability newer than the kernel cannot be read (EINVAL): nothing to drop.
            let held = caps::has_cap(None, CapSet::Bounding, cap).unwrap_or(false);
            if !keep.contains(&cap) && held {
                caps::drop(None, CapSet::Bounding, cap)?;
            }
        }
    }
    caps::clear(None, CapSet::Ambient)?;
    caps::clear(None, CapSet::Inheritable)?;

    // The switch needs CAP_SETUID and CAP_SETGID, so it comes before permitted shrinks.
    let mut user = None;
    if let Some(w) = who {
        if !keep.is_empty() {
            // Across setuid the kernel clears permitted unless asked to keep it.
            caps::securebits::set_keepcaps(true)?;
        }
        switch_user(&w, entry.as_ref())?;
        if !keep.is_empty() {
            caps::securebits::set_keepcaps(false)?;
        }
        let home = entry.map(|e| e.dir);
        if let Some(h) = &home {
            let _ = INVOKER_HOME.set(h.clone());
        }
        user = Some((w, home));
    }
    // Effective first: it must stay a subset of permitted at every step.
    let stays: HashSet<Capability> = caps::read(None, CapSet::Permitted)?
        .into_iter()
        .filter(|c| keep.contains(c))
        .collect();
    caps::set(None, CapSet::Effective, &stays)?;
    caps::set(None, CapSet::Permitted, &stays)?;

    // Trust the kernel's account, not our calls.
    let after = own_status()?;
    let want = retain.mask() & before.prm;
    for (what, found, expected) in [
        ("CapEff", after.eff, want),
        ("CapPrm", after.prm, want),
        ("CapInh", after.inh, 0),
        ("CapAmb", after.amb, 0),
    ] {
        if found != expected {
            return Err(PrivilegeError::Verify {
                what,
                found,
                expected,
            });
        }
    }
    Ok(Dropped {
        had: before.prm,
        retained: if want == 0 { Retain::Nothing } else { retain },
        user,
    })
}

/// Groups, then gid, then uid (the other order would leave us unable to change the groups).
/// glibc applies each to every thread of the process.
fn switch_user(w: &Invoker, entry: Option<&User>) -> Result<(), PrivilegeError> {
    let err = |source| PrivilegeError::Switch {
        uid: w.uid,
        gid: w.gid,
        source,
    };
    let gid = Gid::from_raw(w.gid);
    let name = entry.and_then(|e| CString::new(e.name.clone()).ok());
    match name {
        // The user's supplementary groups, as a login would have them.
        Some(n) => nix::unistd::initgroups(&n, gid).map_err(err)?,
        None => nix::unistd::setgroups(&[gid]).map_err(err)?,
    }
    nix::unistd::setresgid(gid, gid, gid).map_err(err)?;
    let uid = Uid::from_raw(w.uid);
    nix::unistd::setresuid(uid, uid, uid).map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoker_only_under_root_with_both_variables() {
        let s = |v: &str| Some(OsStr::new(v).to_owned());
        let inv = |uid: u32, u: Option<std::ffi::OsString>, g: Option<std::ffi::OsString>| {
            invoker_from(uid, u.as_deref(), g.as_deref())
        };
        assert_eq!(
            inv(0, s("1000"), s("100")).unwrap(),
            Some(Invoker {
                uid: 1000,
                gid: 100
            })
        );
        // Not root: nothing to switch away from, whatever the environment says.
        assert_eq!(inv(1000, s("0"), s("0")).unwrap(), None);
        // Root running sudo: nobody else to become.
        assert_eq!(inv(0, s("0"), s("0")).unwrap(), None);
        assert_eq!(inv(0, None, None).unwrap(), None);
        // Malformed or half-set variables are errors, never "stay root quietly".
        assert!(inv(0, s("alice"), s("100")).is_err());
        assert!(inv(0, s("1000"), None).is_err());
        assert!(inv(0, None, s("100")).is_err());
        assert!(inv(0, s("-1"), s("100")).is_err());
    }

    #[test]
    fn status_lines_are_read() {
        let text = "Name:\tnetdx\nThreads:\t3\nUid:\t65534\t65534\t65534\t65534\n\
                    Gid:\t0\t65534\t0\t0\nCapInh:\t0000000000000000\n\
                    CapPrm:\t0000000000002000\nCapEff:\t0000000000002000\n\
                    CapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\n";
        let s = parse_status(text);
        assert_eq!(s.threads, 3);
        assert_eq!(s.uid, Some(65534));
        assert_eq!(s.gid, None, "mixed ids are not one id");
        assert_eq!(s.prm, Retain::NetRaw.mask());
        assert_eq!(s.eff, 0x2000);
        assert_eq!(s.bnd, 0x1ff_ffff_ffff);
        assert_eq!(s.inh | s.amb, 0);
    }

    #[test]
    fn summary_only_when_something_was_given_up() {
        let d = |had, user| Dropped {
            had,
            retained: Retain::Nothing,
            user,
        };
        assert_eq!(d(0, None).summary(), None);
        let root = d(0x1ff_ffff_ffff, None).summary().unwrap();
        assert!(root.contains("no capability kept"), "{root}");
        let sudo = d(
            0x1ff_ffff_ffff,
            Some((
                Invoker {
                    uid: 65534,
                    gid: 65534,
                },
                None,
            )),
        )
        .summary()
        .unwrap();
        assert!(sudo.contains("uid 65534 gid 65534"), "{sudo}");
    }

    #[test]
    fn retained_masks() {
        assert_eq!(Retain::Nothing.mask(), 0);
        assert_eq!(Retain::NetRaw.mask(), 1 << 13);
        assert_eq!(Retain::NetRawAndBind.mask(), (1 << 13) | (1 << 10));
    }
}
