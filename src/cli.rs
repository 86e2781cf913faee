//! Command-line interface. The help text is a reviewed artefact: it is snapshot-tested, so a
//! change to it shows up in review like any other change.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The top-level and `scan` examples (a macro so `concat!` can put them into the long help).
macro_rules! examples {
    () => {
        "\
Examples:
  netdx scan 10.0.0.0/24                      who is up on this /24 (ICMP + ARP)
  netdx scan 10.0.0.1-50 -p top100            ping sweep, then the 100 most common ports
  netdx scan fileserver.corp -p 445,3389 --dns corp:MX
  netdx scan 10.0.0.0/24 --exclude 10.0.0.1 -o scan.json
  netdx scan -f hosts.txt --no-ping -p 22     hosts that drop ICMP: go straight to ports

Targets: 10.0.0.5  10.0.0.0/24  10.0.0.1-50  10.0.0.1-10.0.1.20  fd00::1  host.example
Ports:   22,80,443  1-1024  all  top100  top1000  ssh,https  (mix: top100,rdp,9000-9010)

ARP and raw ICMP need CAP_NET_RAW; without it netdx uses unprivileged ICMP sockets or TCP
connects and says what it skipped. Grant it once, never setuid:
  sudo setcap cap_net_raw+ep $(command -v netdx)"
    };
}
const EXAMPLES: &str = examples!();

/// The EXIT STATUS of every subcommand, exactly as `cmd` maps outcomes to codes. Shown by
/// `netdx --help` and as the man page's EXIT STATUS section.
macro_rules! exit_status {
    () => {
        "\
0    success: scan completed, diagnose found everything healthy, lan found nothing wrong,
     diff and history --compare found no change, dns: every query answered NOERROR, serve
     stopped by a signal, the dashboard quit.
1    scan: the engine failed, a report or the history could not be written, or recording in
     the inventory asked for with `inventory = true` failed; diagnose: degraded (also when -o
     could not be written, or the probe session could not start); lan: a problem found; diff
     and history --compare: something changed; dns: a query failed (NXDOMAIN, SERVFAIL,
     REFUSED, timeout); any command: an unexpected error.
2    bad input: an unknown option, a bad target, port list, file or config file (as diff(1)
     and clap); scan: no target resolved to an address, so nothing was scanned.
3    diagnose: down (a layer is broken).
130  scan, diagnose, lan: interrupted by Ctrl-C or SIGTERM; scan still prints and writes what
     it found, marked incomplete. The dashboard exits 128 + the signal's number."
    };
}
pub const EXIT_STATUS: &str = exit_status!();

/// What `--json` puts on stdout, for the man page and `netdx --help`.
macro_rules! json_output {
    () => {
        "\
scan --json, diagnose --json and lan --json print one JSON document on stdout and nothing
else: the report -o writes as .json (scan: described by report.schema.json, with
schema_version; diagnose: the diagnosis with its evidence). Progress, warnings and
\"written to\" lines go to stderr, so `netdx scan 10.0.0.0/24 --json | jq` works. The exit
status is the same as without --json. diagnose --json does not combine with --watch."
    };
}
pub const JSON_OUTPUT: &str = json_output!();

/// Environment variables and files netdx reads.
macro_rules! environment {
    () => {
        "\
NETDX_CONFIG      the config file (default $XDG_CONFIG_HOME/netdx/config.toml, else
                  ~/.config/netdx/config.toml): [scan] log, inventory, ports, resolver;
                  [dashboard] wan_target, theme.
NETDX_DATA_DIR    where the history (history.jsonl) and the inventory (inventory.db) live
                  (default $XDG_DATA_HOME/netdx, else ~/.local/share/netdx).
NO_COLOR          set and not empty: the dashboard draws without colour (the mono theme)
                  unless --theme or the config's theme says otherwise (https://no-color.org)."
    };
}
pub const ENVIRONMENT: &str = environment!();

/// `netdx --help`'s trailer: the examples, then exit status, JSON output and environment (the
/// man page has them as sections of their own).
const TOP_AFTER_LONG_HELP: &str = concat!(
    examples!(),
    "\n\nExit status:\n",
    exit_status!(),
    "\n\nJSON output:\n",
    json_output!(),
    "\n\nEnvironment:\n",
    environment!()
);

/// netdx: network diagnostics console.
///
/// Ping sweeps, TCP port checks, DNS lookups and ARP discovery, run concurrently, with live
/// results and reports you can hand over.
///
/// With no subcommand, netdx opens the live dashboard on the TARGETS given (or, with none, shows
/// the local context and sends nothing until you start a run).
#[derive(Debug, Parser)]
#[command(
    name = "netdx",
    version,
    after_help = EXAMPLES,
    after_long_help = TOP_AFTER_LONG_HELP,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub dashboard: DashboardArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan targets headless: progress on stderr, a summary table on stdout, optional report.
    ///
    /// Exit codes: 0 scan completed, 1 the scan failed or its report or history entry could
    /// not be written, 2 bad input, 130 interrupted (what was found is still printed and
    /// written, marked incomplete). --json prints the JSON report on stdout instead of the
    /// table.
    #[command(after_help = EXAMPLES)]
    Scan(ScanCommandArgs),
    /// Open the live dashboard (the same as running netdx with no subcommand).
    Tui(TuiArgs),
    /// Convert a saved JSON report to another format (html, md, csv, xml, json).
    Report(ReportArgs),
    /// Compare two saved reports: hosts and ports that appeared or went away, changed MACs
    /// and names, latency that got worse, changed service versions, certificates and device
    /// types. Exit code 1 when something changed, 0 when not.
    Diff(DiffArgs),
    /// List past scans recorded with --log: when, what, what was found, where the report is.
    History(HistoryArgs),
    /// Outage triage: find which layer is broken (local link, gateway, DNS, WAN path or the
    /// target's service) and say it in plain words, with the evidence.
    ///
    /// Checks this machine's interfaces and default route, its gateway (ARP, ping), each of
    /// its DNS servers, and for each TARGET the path (traceroute) and the service ports. With
    /// no target, only the local side, the gateway and the DNS servers are checked.
    ///
    /// Exit codes: 0 healthy, 1 degraded, 3 down, 2 bad input, 130 interrupted; 1 also when
    /// -o cannot be written. --json prints the diagnosis as JSON on stdout instead of text.
    #[command(after_help = DIAGNOSE_EXAMPLES)]
    Diagnose(DiagnoseArgs),
    /// The devices netdx has seen: every `netdx scan` records them (first and last seen,
    /// addresses, MACs, names, vendor, type, open services) and says what changed since.
    ///
    /// With no subcommand, lists them (the same as `netdx inventory list`). A device is named
    /// by a MAC it was seen with or by its address. The inventory is
    /// $NETDX_DATA_DIR/inventory.db, else $XDG_DATA_HOME/netdx/inventory.db, else
    /// ~/.local/share/netdx/inventory.db.
    ///
    /// Exit codes: 0 done, 2 unknown device, bad input or a damaged inventory.
    #[command(after_help = INVENTORY_EXAMPLES)]
    Inventory(InventoryArgs),
    /// LAN safety checks on one interface: rogue DHCP servers, duplicate IP addresses, ARP
    /// claims on the gateway (spoofing), unexpected IPv6 routers, and the switch port this
    /// machine is plugged into (LLDP/CDP).
    ///
    /// Listens for one window (default 5 s), all checks at once: sends one DHCPDISCOVER (never
    /// a REQUEST: no lease is taken) and lists every server that offers; ARP-asks every
    /// address of the interface's subnet (at most a /22) and reports addresses two MACs answer
    /// for; watches the ARP frames reaching this machine (broadcasts and those sent to it) for
    /// another MAC claiming the gateway's address; sends one router solicitation and lists
    /// every IPv6 router that advertises, with its prefixes; listens for the switch's LLDP or
    /// CDP announcement (switch name, port, port description, VLAN, management address).
    ///
    /// Exit codes: 0 nothing wrong, 1 a problem found, 2 bad input, 130 interrupted.
    #[command(after_help = LAN_EXAMPLES)]
    Lan(LanArgs),
    /// Run as a monitoring agent that Prometheus scrapes: ping, TCP, DNS and TLS checks at their
    /// intervals on one probe session, served as OpenMetrics text on /metrics, with /healthz
    /// and a status page at /.
    ///
    /// Each TARGET (an IP address) gets a ping check, plus a TCP check per -p port; each
    /// --dns question goes to the system resolvers. --config adds checks from a TOML file.
    /// A check's state changes only after `flap` equal results in a row (default 2).
    /// SIGHUP re-reads the config file (a bad one is logged and the old checks keep running);
    /// SIGTERM or SIGINT stop cleanly.
    ///
    /// Exit codes: 0 stopped by a signal or --check-config valid, 2 bad input or config.
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),
    /// Print a shell completion script on stdout.
    ///
    /// The Debian package installs them; by hand:
    ///   netdx completions bash > ~/.local/share/bash-completion/completions/netdx
    ///   netdx completions zsh > ~/.zfunc/_netdx     (with fpath+=(~/.zfunc) before compinit)
    ///   netdx completions fish > ~/.config/fish/completions/netdx.fish
    ///
    /// Exit codes: 0 printed, 2 unknown shell.
    #[command(
        verbatim_doc_comment,
        about = "Print a shell completion script on stdout"
    )]
    Completions(CompletionsArgs),
    /// Print the manual page (roff) on stdout, or write every page (netdx.1 and one
    /// netdx-SUBCOMMAND.1 per subcommand) into a directory.
    ///
    /// Exit codes: 0 written, 2 the directory cannot be written.
    Man(ManArgs),
    /// Ask DNS servers directly, like dig: several names, types and servers at once, each
    /// answer with its TTL, the server that gave it and how long it took.
    ///
    /// Words come in any order: a record type (A AAAA MX TXT NS SOA CNAME PTR SRV CAA ANY
    /// HTTPS SVCB NAPTR SSHFP TLSA DS DNSKEY; A when none), @SERVER (an IP address, IP:PORT,
    /// [IPv6]:PORT, or a name resolved first; the system's resolvers from /etc/resolv.conf
    /// when none), +short and +tcp (dig's spelling of --short and --tcp), and any other word
    /// is a name to look up. A name that is a type word (`ns`) is written with a trailing dot
    /// (`ns.`). An address, or -x ADDR, asks for its PTR record. Every name is asked for
    /// every type at every server, all at once (at most --concurrency in flight); results
    /// come out in the order asked, names given with -x after the others. No search list
    /// is applied: the name is asked as written.
    ///
    /// Exit codes: 0 every query answered NOERROR, 1 any query failed (NXDOMAIN, SERVFAIL,
    /// REFUSED, timeout or error), 2 bad input.
    #[command(after_help = DNS_EXAMPLES)]
    Dns(DnsArgs),
}

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Clone, Args)]
pub struct ManArgs {
    /// Write every page into DIR instead of printing netdx.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Colours of the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ThemeArg {
    /// Colours for a dark terminal background (the default).
    Dark,
    /// Darker colours that read on a light background.
    Light,
    /// No colours at all: every state is a word or a symbol, bold and reversed for emphasis
    /// (sunlight, monochrome terminals, screen readers). NO_COLOR selects it.
    Mono,
}

const SERVE_EXAMPLES: &str = "\
Examples:
  netdx serve 192.0.2.1 192.0.2.20 -p 22,443  ping both, TCP 22 and 443 on both, every 10 s
  netdx serve --dns intranet.corp:A --interval 30
  netdx serve --config /etc/netdx/serve.toml  checks from a file
  netdx serve --check-config serve.toml       validate a file and exit (0 valid, 2 not)
  netdx serve 192.0.2.1 --listen 192.0.2.5:9430  listen beyond loopback (must be named)
  netdx serve 192.0.2.1 --web-config web.yml  HTTPS and basic auth (exporter-toolkit format)

Config file (TOML):
  flap = 2                       # equal results in a row before a state changes
  [[check]]
  kind = \"ping\"                  # ping | tcp | dns | tls (port 443) | path | lan | devices | diagnose
  target = \"192.0.2.1\"           # an IP address (dns: the server; default the system's)
  interval = 10                  # seconds
  name = \"gateway\"               # the `check` label (default e.g. ping-192.0.2.1)
  [[check]]
  kind = \"dns\"
  target = \"192.0.2.53\"
  query = \"web.corp\"
  type = \"A\"
  expect = [\"192.0.2.20\"]
  [[check]]
  kind = \"path\"                  # traceroute: max_ttl = 30, probes = 10 per hop
  target = \"192.0.2.10\"
  [[check]]
  kind = \"lan\"                   # rogue DHCP, duplicate IPs, gateway ARP, rogue RA
  interface = \"eth0\"             # default: the default route's; window = 5 (s)
  expect_dhcp = [\"192.0.2.1\"]
  [[check]]
  kind = \"devices\"               # ARP sweep: devices answering, new MACs
  subnet = \"192.0.2.0/24\"        # at most a /22; default: the interface's subnet
  [[check]]
  kind = \"diagnose\"              # the verdict of netdx diagnose TARGET
  target = \"intranet.corp\"       # ports = [443, 80], resolver = \"192.0.2.53\"
Default intervals: 10 s; path and diagnose 60 s; lan and devices 300 s.

Metrics: netdx_probe_success, netdx_probe_duration_seconds, netdx_icmp_rtt_seconds{stat},
netdx_icmp_loss_ratio, netdx_tcp_connect_seconds, netdx_dns_lookup_seconds,
netdx_dns_answer_match, netdx_tls_cert_not_after_timestamp_seconds,
netdx_check_state_changes_total, netdx_build_info; netdx_path_reached, netdx_path_hops,
netdx_path_loss_ratio, netdx_path_hop_loss_ratio{hop}, netdx_lan_check_ok{part},
netdx_lan_dhcp_servers, netdx_lan_rogue_dhcp_servers, netdx_lan_duplicate_ips,
netdx_lan_gateway_claims, netdx_lan_rogue_routers, netdx_lan_devices,
netdx_lan_new_devices_total, netdx_diagnosis_ok, netdx_diagnosis_layer{layer}.
JSON: /api/v1/checks (version 1) lists every check's state, latency and verdict; it is what
`netdx tui --remote URL` shows.
Listens on 127.0.0.1:9430 unless --listen names another address. A config file may set
token_file = \"FILE\" (relative to the config's directory) like --token-file.

Web config (YAML, the Prometheus exporter-toolkit's --web.config.file format):
  tls_server_config:
    cert_file: serve.crt         # PEM chain; relative to the web config's directory
    key_file: serve.key          # PEM private key
  basic_auth_users:
    prometheus: $2y$10$...       # bcrypt hash: htpasswd -nbBC 10 \"\" PASSWORD | cut -d: -f2
Credentials guard /metrics, / and /api/v1/checks (a token or a user may be used); /healthz
stays open. SIGHUP re-reads the web config and swaps certificate and users; a bad one is
logged and the old one kept.";

/// Log line format of `netdx serve` (stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// key=value text.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// IP addresses to ping (and connect to on each -p port).
    #[arg(value_name = "TARGETS")]
    pub targets: Vec<String>,

    /// TCP ports to check on every target: 22,80,443  1-1024  ssh,https.
    #[arg(short = 'p', long, value_name = "PORTS")]
    pub ports: Option<String>,

    /// A DNS question for the system resolvers, NAME[:TYPE] (repeatable).
    #[arg(long, value_name = "NAME[:TYPE]")]
    pub dns: Vec<String>,

    /// Seconds between two runs of the command-line checks.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub interval: f64,

    /// Address and port to listen on [default: 127.0.0.1:9430].
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,

    /// TOML file with more checks; re-read on SIGHUP.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// File holding a bearer token that /metrics, / and /api/v1/checks then require
    /// (`Authorization: Bearer TOKEN`; never in the URL). /healthz stays open. Overrides the
    /// config's token_file.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,

    /// YAML file with TLS (tls_server_config) and basic auth (basic_auth_users, bcrypt
    /// hashes) for the listener, as Prometheus exporters read it; re-read on SIGHUP.
    #[arg(long, value_name = "FILE")]
    pub web_config: Option<PathBuf>,

    /// Validate FILE and exit: 0 valid, 2 with a one-line error naming the file and key.
    #[arg(long, value_name = "FILE", exclusive = true)]
    pub check_config: Option<PathBuf>,

    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

const LAN_EXAMPLES: &str = "\
Examples:
  netdx lan                                   the interface of the default route, 5 s
  netdx lan -i eth1 --window 3                another interface, a shorter window
  netdx lan --expect-dhcp 10.0.0.1 --expect-router fe80::1   servers that are allowed
  netdx lan --gateway-mac 02:11:22:33:44:55   alert if the gateway now answers from another MAC
  netdx lan --json -o lan.json                JSON on stdout and in a file

Needs CAP_NET_RAW (ARP, router solicitation) and, for DHCP, CAP_NET_BIND_SERVICE (UDP port 68):
  sudo setcap cap_net_raw,cap_net_bind_service+ep $(command -v netdx)
A check that cannot run says so; it never reports \"nothing found\".";

#[derive(Debug, Clone, Args)]
pub struct LanArgs {
    /// Interface to check (default: the one of the default route).
    #[arg(short = 'i', long, value_name = "IF")]
    pub interface: Option<String>,

    /// Seconds to listen; every check runs within this one window.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    pub window: f64,

    /// Seconds to wait for the switch to announce itself (LLDP or CDP); the wait ends at the
    /// first frame. Default: the window. Switches send LLDP every 30 s unless configured
    /// otherwise: `--switch-wait 30` (at most 60) to be sure to hear one.
    #[arg(long, value_name = "SECONDS")]
    pub switch_wait: Option<f64>,

    /// A DHCP server that is allowed (repeatable). Without it, of two or more servers those
    /// not naming the gateway are rogue.
    #[arg(long, value_name = "IP")]
    pub expect_dhcp: Vec<String>,

    /// An IPv6 router that is allowed, by link-local address or MAC (repeatable), besides the
    /// router with the IPv4 gateway's MAC, which is always expected.
    #[arg(long, value_name = "IPv6|MAC")]
    pub expect_router: Vec<String>,

    /// The gateway's MAC as recorded before: an answer from another MAC is an alert.
    #[arg(long, value_name = "MAC")]
    pub gateway_mac: Option<String>,

    /// Check these addresses for duplicates instead of the whole subnet (IPv4 addresses or
    /// blocks, repeatable or comma-separated, at most 1024 addresses).
    #[arg(long, value_name = "IP|CIDR", value_delimiter = ',')]
    pub addresses: Vec<String>,

    /// Write the JSON report to FILE.
    #[arg(short = 'o', long, value_name = "FILE.json")]
    pub output: Option<PathBuf>,

    /// Print the JSON report on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

const INVENTORY_EXAMPLES: &str = "\
Examples:
  netdx inventory                             every known device, as a table
  netdx inventory --format csv -o devices.csv
  netdx inventory label 00:11:22:33:44:55 \"Reception printer\"
  netdx inventory note 10.0.0.23 \"replaced toner 2026-11\"
  netdx inventory label 10.0.0.23 \"\"           remove the label
  netdx inventory forget 00:11:22:33:44:55    drop a device that left for good

A scan records into the inventory unless --no-inventory is given (or inventory = false under
[scan] in the config file); --gone-after N says when a silent device counts as gone.";

/// `netdx inventory`: list (the default), or change what is kept about one device.
#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct InventoryArgs {
    #[command(subcommand)]
    pub command: Option<InventoryCommand>,

    #[command(flatten)]
    pub list: InventoryListArgs,
}

#[derive(Debug, Clone, Subcommand)]
pub enum InventoryCommand {
    /// List every known device, sorted by address.
    #[command(after_help = INVENTORY_EXAMPLES)]
    List(InventoryListArgs),
    /// Give a device a label, shown in the list and in alerts about it ("" removes it).
    Label {
        /// A MAC the device was seen with, or its address.
        #[arg(value_name = "MAC|IP")]
        device: String,
        /// The label, e.g. "Reception printer".
        #[arg(value_name = "TEXT")]
        text: String,
    },
    /// Keep a free-text note about a device ("" removes it).
    Note {
        /// A MAC the device was seen with, or its address.
        #[arg(value_name = "MAC|IP")]
        device: String,
        #[arg(value_name = "TEXT")]
        text: String,
    },
    /// Remove a device and everything known about it (the next scan that finds it reports it
    /// as new).
    Forget {
        /// A MAC the device was seen with, or its address.
        #[arg(value_name = "MAC|IP")]
        device: String,
    },
}

/// Formats the inventory is listed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InventoryFormat {
    Text,
    Json,
    Csv,
}

#[derive(Debug, Clone, Args)]
pub struct InventoryListArgs {
    /// Output format (default: from the -o file's extension, else text).
    #[arg(long, value_enum)]
    pub format: Option<InventoryFormat>,

    /// Write the list to FILE instead of printing it.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `netdx scan`: the scan itself, and what to do with the device inventory.
#[derive(Debug, Clone, Args)]
pub struct ScanCommandArgs {
    #[command(flatten)]
    pub scan: ScanArgs,

    /// Do not record this scan in the device inventory (see `netdx inventory`). By default
    /// every complete scan is recorded and what changed since the devices were last seen is
    /// printed under "Changes since last seen" and kept in the report.
    #[arg(long)]
    pub no_inventory: bool,

    /// Also run the LAN safety checks of `netdx lan` (rogue DHCP, duplicate IPs, gateway ARP
    /// claims, IPv6 routers, switch port) on the default route's interface, alongside the
    /// scan: their findings go in the summary, the alerts and every report format.
    #[arg(long)]
    pub lan: bool,

    /// Say a known device is gone when it has not answered in N scans in a row that covered
    /// its address.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub gone_after: u32,

    /// Print the JSON report on stdout instead of the summary table (the document -o writes
    /// as .json); progress, warnings and "report written" stay on stderr.
    #[arg(long)]
    pub json: bool,
}

const DIAGNOSE_EXAMPLES: &str = "\
Examples:
  netdx diagnose                              this machine, its gateway and DNS servers
  netdx diagnose intranet.corp -p 443         ... and the path to intranet.corp and its HTTPS
  netdx diagnose 10.9.0.10 mail.corp -o diag.html
  netdx diagnose example.com --watch --interval 10 -o outage.json   outage timeline

The traceroute and the ARP check need CAP_NET_RAW (sudo setcap cap_net_raw+ep $(command -v netdx)).";

/// Formats a diagnosis is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiagnoseFormat {
    Json,
    #[value(alias = "markdown")]
    Md,
    Html,
}

#[derive(Debug, Clone, Args)]
pub struct DiagnoseArgs {
    /// Hosts to check end to end: an address or a name (at most 16).
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,

    /// Service ports to connect to on every target.
    #[arg(short = 'p', long, value_name = "PORTS", default_value = "443,80")]
    pub ports: String,

    /// Ask this DNS server instead of the system's (IP or IP:PORT; [v6]:port).
    #[arg(long, value_name = "IP[:PORT]")]
    pub resolver: Option<String>,

    /// Write the diagnosis to FILE: .json, .md or .html (or --format).
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Format for -o.
    #[arg(long, value_enum)]
    pub format: Option<DiagnoseFormat>,

    /// Repeat the checks until Ctrl-C and keep an outage timeline (start, end, duration,
    /// failing layer), printed and written with -o after every round.
    #[arg(long)]
    pub watch: bool,

    /// Seconds from the start of one watch round to the next.
    #[arg(long, value_name = "S", default_value_t = 5.0, requires = "watch")]
    pub interval: f64,

    /// Probe timeout in milliseconds (ping window, traceroute reply wait; TCP connects get
    /// half as long again).
    #[arg(long, value_name = "MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(50..=30_000))]
    pub timeout: u64,

    /// DNS timeout in milliseconds, per server.
    #[arg(long, value_name = "MS", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(50..=30_000))]
    pub dns_timeout: u64,

    /// Highest TTL the traceroute probes.
    #[arg(long, value_name = "N", default_value_t = 30, value_parser = clap::value_parser!(u8).range(1..=64))]
    pub max_hops: u8,

    /// Print the diagnosis as JSON on stdout instead of text (the document -o writes as .json;
    /// warnings stay on stderr). Not with --watch.
    #[arg(long, conflicts_with = "watch")]
    pub json: bool,
}

/// Report formats, chosen by `--format` or by the output file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    Json,
    Csv,
    #[value(alias = "markdown")]
    Md,
    Html,
    Xml,
}

/// `netdx tui`: the dashboard, or with --remote another agent's view.
#[derive(Debug, Clone, Args)]
pub struct TuiArgs {
    #[command(flatten)]
    pub dashboard: DashboardArgs,

    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// `netdx tui --remote URL`: a read-only view of a `netdx serve` agent's checks.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Remote view (--remote)")]
pub struct RemoteArgs {
    /// Show what the netdx serve agent at URL sees (http[s]://host:port), read-only: its
    /// checks are polled from /api/v1/checks; nothing is probed or scanned from here.
    #[arg(long, value_name = "URL")]
    pub remote: Option<String>,

    /// Seconds between two polls of the agent.
    #[arg(long, value_name = "S", default_value_t = 2.0, requires = "remote")]
    pub refresh: f64,

    /// File holding the agent's bearer token (sent as `Authorization: Bearer`).
    #[arg(
        long,
        value_name = "FILE",
        requires = "remote",
        conflicts_with = "user"
    )]
    pub token_file: Option<PathBuf>,

    /// Basic-auth user; the password comes from NETDX_REMOTE_PASSWORD or --password-file.
    #[arg(long, value_name = "USER", requires = "remote")]
    pub user: Option<String>,

    /// File holding the basic-auth password (first line).
    #[arg(long, value_name = "FILE", requires = "user")]
    pub password_file: Option<PathBuf>,

    /// PEM file of the CA that signed the agent's certificate (a private CA), or the agent's
    /// self-signed certificate itself, trusted instead of the system's CAs.
    #[arg(long, value_name = "FILE", requires = "remote")]
    pub ca_cert: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct DashboardArgs {
    #[command(flatten)]
    pub scan: ScanArgs,

    /// Start at once on the local subnet, the default gateway and the system resolvers, and
    /// run the LAN safety checks once (rogue DHCP, duplicate IPs, gateway ARP claims, IPv6
    /// routers, switch port; `A` shows them, `L` runs them again).
    #[arg(long)]
    pub auto: bool,

    /// With --auto, do not run the LAN safety checks at start.
    #[arg(long, requires = "auto")]
    pub no_lan: bool,

    /// Say a device is gone (an alert) when it has not answered for N monitoring rounds in a
    /// row.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub gone_after: u32,

    /// Seconds between monitoring rounds once the first sweep is done.
    #[arg(long, value_name = "S", default_value_t = 2.0)]
    pub interval: f64,

    /// Ring the terminal bell when a warning or critical alert arrives (a device gone, a
    /// changed MAC, a rogue DHCP server...). Alerts are always listed in the Alerts view (A).
    #[arg(long)]
    pub bell: bool,

    /// Do not record sweeps in the device inventory (see `netdx inventory`). By default each
    /// completed sweep is recorded, and devices new to the inventory, gone from it or changed
    /// since they were last seen become alerts.
    #[arg(long)]
    pub no_inventory: bool,

    /// Colours: dark (default), light (for a light background) or mono (no colour; every
    /// state also a word or symbol). Overrides the config's theme and NO_COLOR.
    #[arg(long, value_enum, value_name = "THEME")]
    pub theme: Option<ThemeArg>,
}

#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// A JSON report written by `netdx scan -o` or exported from the dashboard.
    #[arg(value_name = "IN.json")]
    pub input: PathBuf,

    /// Where to write; the format follows the extension unless --format is given.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: PathBuf,

    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
}

#[derive(Debug, Clone, Args)]
pub struct DiffArgs {
    #[arg(value_name = "OLD.json")]
    pub old: PathBuf,
    #[arg(value_name = "NEW.json")]
    pub new: PathBuf,

    /// Write the differences to FILE (JSON or Markdown, by extension or --format) instead of
    /// printing text.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
}

#[derive(Debug, Clone, Args)]
pub struct HistoryArgs {
    /// Show only the last N scans.
    #[arg(short = 'n', long, value_name = "N")]
    pub last: Option<usize>,

    /// Compare the newest recorded scan (or scan number N of the list) with the last
    /// complete run of the same targets before it, as `netdx diff` does: what appeared, went
    /// away or changed. Both need a report file (`netdx scan ... --log -o FILE.json`). Exit
    /// code 1 when something changed.
    #[arg(long, value_name = "N", num_args = 0..=1, conflicts_with = "last")]
    pub compare: Option<Option<usize>>,
}

#[derive(Debug, Clone, Args)]
pub struct ScanArgs {
    /// Addresses, CIDR blocks, ranges or host names to scan.
    #[arg(value_name = "TARGETS")]
    pub targets: Vec<String>,

    /// Read more targets from FILE: one or more per line, `#` starts a comment.
    #[arg(short = 'f', long, value_name = "FILE")]
    pub targets_file: Option<PathBuf>,

    /// Leave these addresses, blocks or ranges out (repeatable, or comma-separated).
    #[arg(long, value_name = "SPEC", value_delimiter = ',')]
    pub exclude: Vec<String>,

    /// Allow scanning more than 65,536 addresses.
    #[arg(long)]
    pub allow_large: bool,

    /// TCP ports to check on every live host: 22,80,443  1-1024  all  top100  top1000  ssh,https.
    /// Without it, netdx only finds hosts.
    #[arg(short = 'p', long, value_name = "PORTS")]
    pub ports: Option<String>,

    /// Also look up NAME (type A unless given: A AAAA MX TXT CNAME NS SOA PTR SRV). Repeatable.
    #[arg(long = "dns", value_name = "NAME[:TYPE]")]
    pub dns: Vec<String>,

    /// Do not ping: treat every target as up and go straight to its ports (for networks that
    /// drop ICMP).
    #[arg(long)]
    pub no_ping: bool,

    /// Do not use ARP on directly connected networks.
    #[arg(long)]
    pub no_arp: bool,

    /// Do not look up the names (PTR) of live hosts.
    #[arg(long)]
    pub no_rdns: bool,

    /// Do not ask open ports what they run. By default every open port is identified: its
    /// greeting (SSH, FTP, SMTP, POP3, IMAP, MySQL, telnet), a `GET /` on web ports (status,
    /// Server, title, redirect), the TLS certificate (names, issuer, days left), Redis and RTSP.
    #[arg(long)]
    pub no_identify: bool,

    /// Do not ask live hosts their names. By default each live target is asked, by unicast
    /// to its own address only, over mDNS/DNS-SD (host name, services, TXT), NetBIOS (computer
    /// name, workgroup, domain controller), SSDP/UPnP (friendly name, maker, model) and SNMP
    /// v2c (sysDescr, sysName, sysObjectID, sysLocation).
    #[arg(long)]
    pub no_names: bool,

    /// SNMP v2c community for the name queries (no other community is ever tried).
    #[arg(long, value_name = "NAME", default_value = "public")]
    pub snmp_community: String,

    /// Per-probe timeout in milliseconds (ICMP window; TCP connects adapt below it to the
    /// round trip measured on each host).
    #[arg(long, value_name = "MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub timeout: u64,

    /// ICMP echo requests per host, spread over the timeout window (more tries find lossy
    /// hosts without making the sweep longer).
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub tries: u32,

    /// TCP connects in flight at once (default: derived from the open-file limit, at most
    /// 4096).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=65_536))]
    pub concurrency: Option<u64>,

    /// DNS server to use instead of the system's (IP or IP:PORT; [v6]:port).
    #[arg(long, value_name = "IP[:PORT]")]
    pub resolver: Option<String>,

    /// DNS timeout in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub dns_timeout: u64,

    /// Write the report to FILE; the format follows the extension (.json .csv .md .html
    /// .xml) unless --format is given.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Report format for -o.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,

    /// Record this scan in the history file (see `netdx history`).
    #[arg(long)]
    pub log: bool,

    /// Do not record this scan in the history, even when the config file says `log = true`.
    #[arg(long, conflicts_with = "log")]
    pub no_log: bool,
}

const DNS_EXAMPLES: &str = "\
Examples:
  netdx dns example.org                       A record from the system's resolvers
  netdx dns example.org MX TXT @192.0.2.53 @[2001:db8::53]   two types, two servers
  netdx dns -x 192.0.2.10 @192.0.2.53         reverse lookup (PTR)
  netdx dns example.org AAAA +short           answers only, one a line
  netdx dns example.org SOA --tcp --json      over TCP, as JSON
  netdx dns -f names.txt @192.0.2.53          queries from a file, one a line
  netdx dns example.org @tls://dns.example.net                DNS over TLS (port 853)
  netdx dns example.org @https://dns.example.net/dns-query    DNS over HTTPS (port 443)
  netdx dns example.org --tls @192.0.2.53 --tls-name dns.example.net
                                              DoT to an address, its certificate's name
  netdx dns example.org @tls://192.0.2.53:8853 --ca-file corp-ca.pem   a private CA

Transports: UDP by default; --tcp (+tcp), --tls (+tls) or --https (+https) for every server
written without a scheme, or per server: @udp://, @tcp://, @tls://HOST[:PORT],
@https://HOST[:PORT][/PATH] (path /dns-query by default). DoT and DoH always verify the
server's certificate against the system's CAs plus --ca-file, and its name: the host as
written, the address, or --tls-name. Each query opens its own connection; its latency
includes the TCP and TLS handshakes.

Query file (-f, as dig -f): one query a line, `NAME [TYPE...] [@SERVER...]` or `-x ADDRESS`;
blank lines and lines starting with # or ; are skipped; a line without TYPE or @SERVER takes
the command line's.

JSON (--json): {\"version\": 1, \"lookups\": [{\"name\", \"type\", \"server\", \"transport\",
\"status\", \"rcode\", \"ttl\", \"latency_ms\", \"answers\": [{\"type\", \"value\", \"ttl\"}],
\"error\"}], \"summary\": {\"queries\", \"answered\", \"failed\", \"elapsed_ms\"}};
transport is udp, tcp, tls or https, as the table's VIA column.";

#[derive(Debug, Clone, Args)]
pub struct DnsArgs {
    /// Names, record types, @servers and +short/+tcp/+tls/+https, in any order.
    #[arg(value_name = "NAME|TYPE|@SERVER")]
    pub words: Vec<String>,

    /// Reverse lookup: the PTR record of ADDR (repeatable).
    #[arg(short = 'x', value_name = "ADDR")]
    pub reverse: Vec<String>,

    /// Read queries from FILE, one a line (see below); `-` reads standard input.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Ask over TCP instead of UDP (+tcp).
    #[arg(long, conflicts_with_all = ["tls", "https"])]
    pub tcp: bool,

    /// Ask over TLS, port 853 unless given (DoT, RFC 7858; +tls).
    #[arg(long, conflicts_with = "https")]
    pub tls: bool,

    /// Ask over HTTPS, port 443 unless given, path /dns-query (DoH, RFC 8484; +https).
    #[arg(long)]
    pub https: bool,

    /// The name the DoT/DoH server's certificate must carry, for a server given by
    /// address (kdig's +tls-hostname).
    #[arg(long, value_name = "NAME")]
    pub tls_name: Option<String>,

    /// Trust the CA certificates of this PEM file too (a private CA), beside the system's.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,

    /// Print only the answers, one a line (+short); failures go to stderr.
    #[arg(long)]
    pub short: bool,

    /// Print the results as one JSON document.
    #[arg(long, conflicts_with = "short")]
    pub json: bool,

    /// Milliseconds to wait for each server's answer.
    #[arg(long, value_name = "MS", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub timeout: u64,

    /// Queries in flight at once.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub concurrency: u64,
}
