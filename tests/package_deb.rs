//! The Debian package (`cargo deb`, config in Cargo.toml's `[package.metadata.deb]`): built from
//! the test's own netdx binary, then inspected with dpkg-deb (control fields, postinst, no
//! setuid file, man pages, completions, the serve unit) and installed into a throwaway root
//! with `dpkg --root`, where postinst must leave the binary with cap_net_raw and nothing more.
//!
//! The package is built with `--no-build` from the debug binary this test run already has,
//! placed where cargo-deb looks for a release build in a target directory of its own: a
//! release build of netdx would cost CI minutes and prove nothing more about the packaging.
//! Needs cargo-deb (`cargo install cargo-deb --locked`, done by tests/run.sh), dpkg-deb and
//! root (setcap); under NETDX_REQUIRE_LAB=1 a missing one fails the test.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn have(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Build the .deb into `dir` from this run's binary; returns its path.
fn build_deb(dir: &Path) -> PathBuf {
    let release = dir.join("target").join("release");
    std::fs::create_dir_all(&release).unwrap();
    // A copy, not a link: cargo-deb strips what it packages.
    std::fs::copy(env!("CARGO_BIN_EXE_netdx"), release.join("netdx")).unwrap();
    let out = dir.join("out");
    run(Command::new(cargo())
        .args(["deb", "--no-build", "--strip", "--fast", "--quiet"])
        .arg("--manifest-path")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .arg("-o")
        .arg(&out)
        .env("CARGO_TARGET_DIR", dir.join("target")));
    let mut debs: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "deb"))
        .collect();
    assert_eq!(debs.len(), 1, "{debs:?}");
    debs.remove(0)
}

fn field(deb: &Path, name: &str) -> String {
    text(&run(Command::new("dpkg-deb").arg("-f").arg(deb).arg(name)))
        .trim()
        .to_string()
}

#[test]
fn deb_has_the_files_and_postinst_grants_cap_net_raw_never_setuid() {
    let test = "deb_has_the_files_and_postinst_grants_cap_net_raw_never_setuid";
    if !common::require_root(test)
        || !common::require(test, have("dpkg-deb", &["--version"]), "dpkg-deb missing")
        || !common::require(test, have("getcap", &["/bin/sh"]), "getcap missing")
        || !common::require(
            test,
            have(&cargo(), &["deb", "--version"]),
            "cargo-deb missing (cargo install cargo-deb --locked)",
        )
    {
        return;
    }
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let deb = build_deb(dir.path());

    // Control fields.
    assert_eq!(field(&deb, "Package"), "netdx");
    assert_eq!(field(&deb, "Section"), "net");
    assert_eq!(
        field(&deb, "Version"),
        format!("{}-1", env!("CARGO_PKG_VERSION"))
    );
    assert!(field(&deb, "Maintainer").contains('@'));
    let depends = field(&deb, "Depends");
    assert!(depends.contains("libc6"), "$auto found libc: {depends}");
    assert!(
        depends.contains("libcap2-bin"),
        "setcap's package: {depends}"
    );

    // postinst: setcap, never setuid.
    let postinst = text(&run(Command::new("dpkg-deb")
        .args(["-I"])
        .arg(&deb)
        .arg("postinst")));
    assert!(
        postinst.contains("setcap cap_net_raw+ep \"$BIN\""),
        "{postinst}"
    );
    assert!(
        postinst.contains("libcap2-bin"),
        "says what to install: {postinst}"
    );
    for setuid in ["chmod u+s", "chmod 4", "+s "] {
        assert!(
            !postinst.contains(setuid),
            "postinst sets setuid: {postinst}"
        );
    }

    // Contents: modes without s/S (setuid, setgid), the files in their standard places.
    let listing = text(&run(Command::new("dpkg-deb").arg("-c").arg(&deb)));
    let mut paths = Vec::new();
    for line in listing.lines() {
        let mode = line.split_whitespace().next().unwrap_or_default();
        assert!(
            !mode.contains(['s', 'S']),
            "setuid/setgid file in the package: {line}"
        );
        if let Some(p) = line.split_whitespace().last() {
            paths.push(p.trim_start_matches('.').to_string());
        }
    }
    let mut want: Vec<String> = [
        "/usr/bin/netdx",
        "/usr/share/man/man1/netdx.1.gz",
        "/usr/share/bash-completion/completions/netdx",
        "/usr/share/zsh/vendor-completions/_netdx",
        "/usr/share/fish/vendor_completions.d/netdx.fish",
        "/lib/systemd/system/netdx-serve.service",
        "/usr/share/doc/netdx/README.md",
    ]
    .map(String::from)
    .to_vec();
    for sub in [
        "scan",
        "diagnose",
        "tui",
        "lan",
        "serve",
        "completions",
        "man",
    ] {
        want.push(format!("/usr/share/man/man1/netdx-{sub}.1.gz"));
    }
    for w in &want {
        assert!(paths.contains(w), "{w} not in the package:\n{listing}");
    }

    // Install into a throwaway root: dpkg runs postinst outside a chroot with DPKG_ROOT set.
    let root = dir.path().join("root");
    let admin = root.join("var/lib/dpkg");
    std::fs::create_dir_all(admin.join("info")).unwrap();
    std::fs::create_dir_all(admin.join("updates")).unwrap();
    std::fs::write(admin.join("status"), "").unwrap();
    std::fs::write(admin.join("available"), "").unwrap();
    let installed = run(Command::new("dpkg")
        .arg(format!("--root={}", root.display()))
        .args([
            "--force-script-chrootless",
            "--force-depends",
            "--log=/dev/null",
            "-i",
        ])
        .arg(&deb));
    assert!(
        text(&installed).contains("granted cap_net_raw"),
        "{}",
        text(&installed)
    );
    let bin = root.join("usr/bin/netdx");
    let caps = text(&run(Command::new("getcap").arg(&bin)));
    assert!(caps.contains("cap_net_raw=ep"), "getcap: {caps:?}");
    let mode = std::fs::metadata(&bin).unwrap().permissions().mode();
    assert_eq!(mode & 0o7777, 0o755, "mode {mode:o}: no setuid/setgid");
    // The installed binary runs and its packaged completion is what it generates.
    let bash = run(Command::new(&bin).args(["completions", "bash"]));
    assert_eq!(
        bash.stdout,
        std::fs::read(root.join("usr/share/bash-completion/completions/netdx")).unwrap()
    );

    // Without setcap: postinst says what to install and does not fail the installation.
    let copy = dir.path().join("nocap");
    std::fs::create_dir_all(copy.join("usr/bin")).unwrap();
    std::fs::copy(&bin, copy.join("usr/bin/netdx")).unwrap();
    let script = admin.join("info/netdx.postinst");
    let empty_path = dir.path().join("empty-path");
    std::fs::create_dir_all(&empty_path).unwrap();
    let out = Command::new("/bin/sh")
        .arg(&script)
        .arg("configure")
        .env("PATH", &empty_path)
        .env("DPKG_ROOT", &copy)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("setcap not found") && stderr.contains("libcap2-bin"),
        "{stderr}"
    );
    let caps = text(&run(Command::new("getcap").arg(copy.join("usr/bin/netdx"))));
    assert!(!caps.contains("cap_net_raw"), "{caps:?}");
}
