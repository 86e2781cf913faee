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

#[test]
fn bad_web_config_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |text: &str| {
        let file = dir.path().join("web.yml");
        std::fs::write(&file, text).expect("write");
        // Refused while reading the configuration: nothing is opened, bound or sent.
        Command::cargo_bin("netdx")
            .expect("binary")
            .args(["serve", "127.0.0.1", "--web-config"])
            .arg(&file)
            .output()
            .expect("run")
    };
    for (text, says) in [
        (
            "basic_auth_users:\n  prom: hunter2\n",
            "prom: not a bcrypt hash",
        ),
        (
            "tls_server_config:\n  cert_file: none.crt\n  key_file: none.key\n",
            "none.crt: cannot read",
        ),
        (
            "tls_server_config:\n  client_ca_file: ca.crt\n",
            "client_ca_file",
        ),
    ] {
        let out = run(text);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(says), "{says}: {err}");
    }
    // A certificate with a key that does not belong to it.
    let make_cert = |name: &str| {
        let st = std::process::Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args([
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=x",
            ])
            .arg("-keyout")
            .arg(dir.path().join(format!("{name}.key")))
            .arg("-out")
            .arg(dir.path().join(format!("{name}.crt")))
            .output()
            .expect("openssl");
        assert!(st.status.success());
    };
    make_cert("a");
    make_cert("b");
    let out = run("tls_server_config:\n  cert_file: a.crt\n  key_file: b.key\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("b.key: does not fit the certificate"), "{err}");
}

#[test]
fn check_config_knows_the_engine_kinds() {
    let out = check(
        "[[check]]\nkind = \"path\"\ntarget = \"10.0.9.10\"\nmax_ttl = 8\n\
         [[check]]\nkind = \"lan\"\ninterface = \"eth0\"\nexpect_dhcp = [\"10.0.0.1\"]\n\
         [[check]]\nkind = \"devices\"\nsubnet = \"10.0.0.0/24\"\n\
         [[check]]\nkind = \"diagnose\"\ntarget = \"app.lab.test\"\nports = [443]\n",
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid, 4 checks"));
    let out = check(
        "[[check]]\nkind = \"ping\"\ntarget = \"10.0.0.1\"\n\n\
         [[check]]\nkind = \"devices\"\nsubnet = \"10.0.0.0/8\"\n",
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("serve.toml: check[1].subnet: 10.0.0.0/8 is wider than /22")
            && err.trim_end().ends_with("(line 5)"),
        "{err}"
    );
}
