//! The help text is a reviewed artefact: any change to it shows up as a snapshot diff.

use clap::CommandFactory;
use netdx::cli::Cli;

fn help(path: &[&str]) -> String {
    let mut cmd = Cli::command().term_width(100);
    cmd.build();
    let mut sub = &mut cmd;
    for name in path {
        sub = sub
            .find_subcommand_mut(name)
            .unwrap_or_else(|| panic!("no subcommand {name}"));
    }
    sub.render_long_help().to_string()
}

#[test]
fn top_level_help() {
    insta::assert_snapshot!(help(&[]));
}

#[test]
fn scan_help() {
    let text = help(&["scan"]);
    // The help teaches: syntax, exit codes and the privilege advice are all there.
    for needle in [
        "10.0.0.1-50",
        "top100",
        "130 interrupted",
        "setcap cap_net_raw+ep",
    ] {
        assert!(text.contains(needle), "scan --help lacks {needle:?}");
    }
    insta::assert_snapshot!(text);
}

#[test]
fn other_subcommands_help() {
    for sub in ["tui", "report", "diff", "history", "lan", "serve"] {
        insta::assert_snapshot!(format!("help_{sub}"), help(&[sub]));
    }
}

#[test]
fn inventory_help() {
    let text = help(&["inventory"]);
    // The help teaches: how to name a device, the formats, where the file is, exit codes.
    for needle in [
        "netdx inventory label 00:11:22:33:44:55",
        "--format csv",
        "inventory.db",
        "2 unknown device",
        "--no-inventory",
    ] {
        assert!(text.contains(needle), "inventory --help lacks {needle:?}");
    }
    insta::assert_snapshot!(text);
    for sub in ["list", "label", "note", "forget"] {
        insta::assert_snapshot!(format!("help_inventory_{sub}"), help(&["inventory", sub]));
    }
}

#[test]
fn clap_definition_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn dns_help() {
    let text = help(&["dns"]);
    // The help teaches: the word forms, the query file, the JSON fields and the exit codes.
    for needle in [
        "@SERVER",
        "+short",
        "-x ADDR",
        "dig -f",
        "latency_ms",
        "1 any query failed",
    ] {
        assert!(text.contains(needle), "dns --help lacks {needle:?}");
    }
    insta::assert_snapshot!(text);
}
