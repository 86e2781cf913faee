//! `netdx serve --check-config` and bad input: no network, so no lab.

use assert_cmd::Command;

fn check(text: &str) -> std::process::Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("serve.toml");
    std::fs::write(&file, text).expect("write");
    Command::cargo_bin("netdx")
        .expect("binary")
        .args(["serve", "--check-config"])
        .arg(&file)
        .output()
        .expect("run")
}

#[test]
fn check_config_accepts_a_good_file() {
    let out = check(
        "flap = 3\n[[check]]\nkind = \"ping\"\ntarget = \"10.0.0.1\"\n\
         [[check]]\nkind = \"tcp\"\ntarget = \"10.0.0.1\"\nport = 22\ninterval = 30\n\
         [[check]]\nkind = \"dns\"\nquery = \"example.test\"\ntype = \"MX\"\n",
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid, 3 checks"));
}

#[test]
fn check_config_names_file_and_key() {
    let out = check("[[check]]\nkind = \"tcp\"\ntarget = \"10.0.0.1\"\nport = 70000\n");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("serve.toml: check[0].port: must be 1 to 65535"),
        "{err}"
    );
    let out = check("[[check]]\nkind = \"ping\"\ntarget = \"10.0.0.1\"\nbogus = 1\n");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("serve.toml: line 4: unknown field `bogus`"),
        "{err}"
    );
}

#[test]
fn missing_file_and_bad_targets_exit_2() {
    let out = Command::cargo_bin("netdx")
        .expect("binary")
        .args(["serve", "--check-config", "/nonexistent/serve.toml"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/serve.toml: cannot read"));
    // Refused before anything is opened or sent.
    let out = Command::cargo_bin("netdx")
        .expect("binary")
        .args(["serve", "not-an-ip"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an IP address"));
}
