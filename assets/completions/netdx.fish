# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_netdx_global_optspecs
    string join \n f/targets-file= exclude= allow-large p/ports= dns= no-ping no-arp no-rdns no-identify no-names snmp-community= timeout= tries= concurrency= resolver= dns-timeout= o/output= format= log no-log auto no-lan gone-after= interval= bell no-inventory theme= h/help V/version
end

function __fish_netdx_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_netdx_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_netdx_using_subcommand
    set -l cmd (__fish_netdx_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c netdx -n "__fish_netdx_needs_command" -s f -l targets-file -d 'Read more targets from FILE: one or more per line, `#` starts a comment' -r -F
complete -c netdx -n "__fish_netdx_needs_command" -l exclude -d 'Leave these addresses, blocks or ranges out (repeatable, or comma-separated)' -r
complete -c netdx -n "__fish_netdx_needs_command" -s p -l ports -d 'TCP ports to check on every live host: 22,80,443  1-1024  all  top100  top1000  ssh,https. Without it, netdx only finds hosts' -r
complete -c netdx -n "__fish_netdx_needs_command" -l dns -d 'Also look up NAME (type A unless given: A AAAA MX TXT CNAME NS SOA PTR SRV). Repeatable' -r
complete -c netdx -n "__fish_netdx_needs_command" -l snmp-community -d 'SNMP v2c community for the name queries (no other community is ever tried)' -r
complete -c netdx -n "__fish_netdx_needs_command" -l timeout -d 'Per-probe timeout in milliseconds (ICMP window; TCP connects adapt below it to the round trip measured on each host)' -r
complete -c netdx -n "__fish_netdx_needs_command" -l tries -d 'ICMP echo requests per host, spread over the timeout window (more tries find lossy hosts without making the sweep longer)' -r
complete -c netdx -n "__fish_netdx_needs_command" -l concurrency -d 'TCP connects in flight at once (default: derived from the open-file limit, at most 4096)' -r
complete -c netdx -n "__fish_netdx_needs_command" -l resolver -d 'DNS server to use instead of the system\'s (IP or IP:PORT; [v6]:port)' -r
complete -c netdx -n "__fish_netdx_needs_command" -l dns-timeout -d 'DNS timeout in milliseconds' -r
complete -c netdx -n "__fish_netdx_needs_command" -s o -l output -d 'Write the report to FILE; the format follows the extension (.json .csv .md .html .xml) unless --format is given' -r -F
complete -c netdx -n "__fish_netdx_needs_command" -l format -d 'Report format for -o' -r -f -a "json\t''
csv\t''
md\t''
html\t''
xml\t''"
complete -c netdx -n "__fish_netdx_needs_command" -l gone-after -d 'Say a device is gone (an alert) when it has not answered for N monitoring rounds in a row' -r
complete -c netdx -n "__fish_netdx_needs_command" -l interval -d 'Seconds between monitoring rounds once the first sweep is done' -r
complete -c netdx -n "__fish_netdx_needs_command" -l theme -d 'Colours: dark (default), light (for a light background) or mono (no colour; every state also a word or symbol). Overrides the config\'s theme and NO_COLOR' -r -f -a "dark\t'Colours for a dark terminal background (the default)'
light\t'Darker colours that read on a light background'
mono\t'No colours at all: every state is a word or a symbol, bold and reversed for emphasis (sunlight, monochrome terminals, screen readers). NO_COLOR selects it'"
complete -c netdx -n "__fish_netdx_needs_command" -l allow-large -d 'Allow scanning more than 65,536 addresses'
complete -c netdx -n "__fish_netdx_needs_command" -l no-ping -d 'Do not ping: treat every target as up and go straight to its ports (for networks that drop ICMP)'
complete -c netdx -n "__fish_netdx_needs_command" -l no-arp -d 'Do not use ARP on directly connected networks'
complete -c netdx -n "__fish_netdx_needs_command" -l no-rdns -d 'Do not look up the names (PTR) of live hosts'
complete -c netdx -n "__fish_netdx_needs_command" -l no-identify -d 'Do not ask open ports what they run. By default every open port is identified: its greeting (SSH, FTP, SMTP, POP3, IMAP, MySQL, telnet), a `GET /` on web ports (status, Server, title, redirect), the TLS certificate (names, issuer, days left), Redis and RTSP'
complete -c netdx -n "__fish_netdx_needs_command" -l no-names -d 'Do not ask live hosts their names. By default each live target is asked, by unicast to its own address only, over mDNS/DNS-SD (host name, services, TXT), NetBIOS (computer name, workgroup, domain controller), SSDP/UPnP (friendly name, maker, model) and SNMP v2c (sysDescr, sysName, sysObjectID, sysLocation)'
complete -c netdx -n "__fish_netdx_needs_command" -l log -d 'Record this scan in the history file (see `netdx history`)'
complete -c netdx -n "__fish_netdx_needs_command" -l no-log -d 'Do not record this scan in the history, even when the config file says `log = true`'
complete -c netdx -n "__fish_netdx_needs_command" -l auto -d 'Start at once on the local subnet, the default gateway and the system resolvers, and run the LAN safety checks once (rogue DHCP, duplicate IPs, gateway ARP claims, IPv6 routers, switch port; `A` shows them, `L` runs them again)'
complete -c netdx -n "__fish_netdx_needs_command" -l no-lan -d 'With --auto, do not run the LAN safety checks at start'
complete -c netdx -n "__fish_netdx_needs_command" -l bell -d 'Ring the terminal bell when a warning or critical alert arrives (a device gone, a changed MAC, a rogue DHCP server...). Alerts are always listed in the Alerts view (A)'
complete -c netdx -n "__fish_netdx_needs_command" -l no-inventory -d 'Do not record sweeps in the device inventory (see `netdx inventory`). By default each completed sweep is recorded, and devices new to the inventory, gone from it or changed since they were last seen become alerts'
complete -c netdx -n "__fish_netdx_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c netdx -n "__fish_netdx_needs_command" -s V -l version -d 'Print version'
complete -c netdx -n "__fish_netdx_needs_command" -a "scan" -d 'Scan targets headless: progress on stderr, a summary table on stdout, optional report'
complete -c netdx -n "__fish_netdx_needs_command" -a "tui" -d 'Open the live dashboard (the same as running netdx with no subcommand)'
complete -c netdx -n "__fish_netdx_needs_command" -a "report" -d 'Convert a saved JSON report to another format (html, md, csv, xml, json)'
complete -c netdx -n "__fish_netdx_needs_command" -a "diff" -d 'Compare two saved reports: hosts and ports that appeared or went away, changed MACs and names, latency that got worse, changed service versions, certificates and device types. Exit code 1 when something changed, 0 when not'
complete -c netdx -n "__fish_netdx_needs_command" -a "history" -d 'List past scans recorded with --log: when, what, what was found, where the report is'
complete -c netdx -n "__fish_netdx_needs_command" -a "diagnose" -d 'Outage triage: find which layer is broken (local link, gateway, DNS, WAN path or the target\'s service) and say it in plain words, with the evidence'
complete -c netdx -n "__fish_netdx_needs_command" -a "inventory" -d 'The devices netdx has seen: every `netdx scan` records them (first and last seen, addresses, MACs, names, vendor, type, open services) and says what changed since'
complete -c netdx -n "__fish_netdx_needs_command" -a "lan" -d 'LAN safety checks on one interface: rogue DHCP servers, duplicate IP addresses, ARP claims on the gateway (spoofing), unexpected IPv6 routers, and the switch port this machine is plugged into (LLDP/CDP)'
complete -c netdx -n "__fish_netdx_needs_command" -a "serve" -d 'Run as a monitoring agent that Prometheus scrapes: ping, TCP, DNS and TLS checks at their intervals on one probe session, served as OpenMetrics text on /metrics, with /healthz and a status page at /'
complete -c netdx -n "__fish_netdx_needs_command" -a "completions" -d 'Print a shell completion script on stdout'
complete -c netdx -n "__fish_netdx_needs_command" -a "man" -d 'Print the manual page (roff) on stdout, or write every page (netdx.1 and one netdx-SUBCOMMAND.1 per subcommand) into a directory'
complete -c netdx -n "__fish_netdx_needs_command" -a "dns" -d 'Ask DNS servers directly, like dig: several names, types and servers at once, each answer with its TTL, the server that gave it and how long it took'
complete -c netdx -n "__fish_netdx_needs_command" -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c netdx -n "__fish_netdx_using_subcommand scan" -s f -l targets-file -d 'Read more targets from FILE: one or more per line, `#` starts a comment' -r -F
complete -c netdx -n "__fish_netdx_using_subcommand scan" -l exclude -d 'Leave these addresses, blocks or ranges out (repeatable, or comma-separated)' -r
complete -c netdx -n "__fish_netdx_using_subcommand scan" -s p -l ports -d 'TCP ports to check on every live host: 22,80,443  1-1024  all  top100  top1000  ssh,https. Without it, netdx only finds hosts' -r
complete -c netdx -n "__fish_netdx_using_subcommand scan" -l dns -d 'Also look up NAME (type A unless given: A AAAA MX TXT CNAME NS SOA PTR SRV). Repeatable' -r
complete -c netdx -n "__fish_netdx_using_subcommand scan" -l snmp-community -d 'SNMP v2c community for the name queries (no other community is ever tried)' -r
complete -c netdx -n "__fish_netdx_using_subcommand scan" -l timeout -d 'Per-probe timeout in milliseconds (ICMP window; TCP connects adapt below it to the round trip measured on each host)' -r
complete -c netdx -n "__fish_netdx_using_subcommand scan" -l tries -d 'ICMP echo requests per host, spread over the timeout window (more tries find lossy hosts without making the sweep longer)' -r
complete -c netdx -n "__fish_netdx_using_subcommand scan" -l concurrency -d 'TCP connects in flight at once (default: derived from the open-file limit, at most 4096)' -r
complete -c netdx -n "__fish_netdx_using_subcommand scan" -l resolver -d 'DNS server to use instead of the system\'s (IP or IP:PORT; [v6]:port)' -r
complete -c netdx -n "__fish_netdx_using_subcommand scan" -l dns-timeout -d 'DNS timeout in milliseconds' -r
complete -c netdx -n "__fish_netdx_using_subcommand scan" -s o -l output -d 'Write the report to FILE; the format follows the extension (.json .csv .md .html .xml) unless --format is given' -r -F
complete -c netdx -n "__fish_netdx_using_subcommand scan" -l format -d 'Report format for -o' -r -f -a "json\t''
csv\t''
md\t''
html\t''
xml\t''"
complete -c netdx -n "__fish_netdx_using_subcommand scan" -l gone-after -d 'Say a known device is gone when it has not answered in N scans in a row that covered its address' -r
complete -c netdx -n "__fish_netdx_using_subcommand scan" -l allow-large -d 'Allow scanning more than 65,536 addresses'
complete -c netdx -n "__fish_netdx_using_subcommand scan" -l no-ping -d 'Do not ping: treat every target as up and go straight to its ports (for networks that drop ICMP)'
complete -c netdx -n "__fish_netdx_using_subcommand scan" -l no-arp -d 'Do not use ARP on directly connected networks'
complete -c netdx -n "__fish_netdx_using_subcommand scan" -l no-rdns -d 'Do not look up the names (PTR) of live hosts'
complete -c netdx -n "__fish_netdx_using_subcommand scan" -l no-identify -d 'Do not ask open ports what they run. By default every open port is identified: its greeting (SSH, FTP, SMTP, POP3, IMAP, MySQL, telnet), a `GET /` on web ports (status, Server, title, redirect), the TLS certificate (names, issuer, days left), Redis and RTSP'
complete -c netdx -n "__fish_netdx_using_subcommand scan" -l no-names -d 'Do not ask live hosts their names. By default each live target is asked, by unicast to its own address only, over mDNS/DNS-SD (host name, services, TXT), NetBIOS (computer name, workgroup, domain controller), SSDP/UPnP (friendly name, maker, model) and SNMP v2c (sysDescr, sysName, sysObjectID, sysLocation)'
complete -c netdx -n "__fish_netdx_using_subcommand scan" -l log -d 'Record this scan in the history file (see `netdx history`)'
complete -c netdx -n "__fish_netdx_using_subcommand scan" -l no-log -d 'Do not record this scan in the history, even when the config file says `log = true`'
complete -c netdx -n "__fish_netdx_using_subcommand scan" -l no-inventory -d 'Do not record this scan in the device inventory (see `netdx inventory`). By default every complete scan is recorded and what changed since the devices were last seen is printed under "Changes since last seen" and kept in the report'
complete -c netdx -n "__fish_netdx_using_subcommand scan" -l lan -d 'Also run the LAN safety checks of `netdx lan` (rogue DHCP, duplicate IPs, gateway ARP claims, IPv6 routers, switch port) on the default route\'s interface, alongside the scan: their findings go in the summary, the alerts and every report format'
complete -c netdx -n "__fish_netdx_using_subcommand scan" -l json -d 'Print the JSON report on stdout instead of the summary table (the document -o writes as .json); progress, warnings and "report written" stay on stderr'
complete -c netdx -n "__fish_netdx_using_subcommand scan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c netdx -n "__fish_netdx_using_subcommand tui" -s f -l targets-file -d 'Read more targets from FILE: one or more per line, `#` starts a comment' -r -F
complete -c netdx -n "__fish_netdx_using_subcommand tui" -l exclude -d 'Leave these addresses, blocks or ranges out (repeatable, or comma-separated)' -r
complete -c netdx -n "__fish_netdx_using_subcommand tui" -s p -l ports -d 'TCP ports to check on every live host: 22,80,443  1-1024  all  top100  top1000  ssh,https. Without it, netdx only finds hosts' -r
complete -c netdx -n "__fish_netdx_using_subcommand tui" -l dns -d 'Also look up NAME (type A unless given: A AAAA MX TXT CNAME NS SOA PTR SRV). Repeatable' -r
complete -c netdx -n "__fish_netdx_using_subcommand tui" -l snmp-community -d 'SNMP v2c community for the name queries (no other community is ever tried)' -r
complete -c netdx -n "__fish_netdx_using_subcommand tui" -l timeout -d 'Per-probe timeout in milliseconds (ICMP window; TCP connects adapt below it to the round trip measured on each host)' -r
complete -c netdx -n "__fish_netdx_using_subcommand tui" -l tries -d 'ICMP echo requests per host, spread over the timeout window (more tries find lossy hosts without making the sweep longer)' -r
complete -c netdx -n "__fish_netdx_using_subcommand tui" -l concurrency -d 'TCP connects in flight at once (default: derived from the open-file limit, at most 4096)' -r
complete -c netdx -n "__fish_netdx_using_subcommand tui" -l resolver -d 'DNS server to use instead of the system\'s (IP or IP:PORT; [v6]:port)' -r
complete -c netdx -n "__fish_netdx_using_subcommand tui" -l dns-timeout -d 'DNS timeout in milliseconds' -r
complete -c netdx -n "__fish_netdx_using_subcommand tui" -s o -l output -d 'Write the report to FILE; the format follows the extension (.json .csv .md .html .xml) unless --format is given' -r -F
complete -c netdx -n "__fish_netdx_using_subcommand tui" -l format -d 'Report format for -o' -r -f -a "json\t''
csv\t''
md\t''
html\t''
xml\t''"
complete -c netdx -n "__fish_netdx_using_subcommand tui" -l gone-after -d 'Say a device is gone (an alert) when it has not answered for N monitoring rounds in a row' -r
complete -c netdx -n "__fish_netdx_using_subcommand tui" -l interval -d 'Seconds between monitoring rounds once the first sweep is done' -r
complete -c netdx -n "__fish_netdx_using_subcommand tui" -l theme -d 'Colours: dark (default), light (for a light background) or mono (no colour; every state also a word or symbol). Overrides the config\'s theme and NO_COLOR' -r -f -a "dark\t'Colours for a dark terminal background (the default)'
light\t'Darker colours that read on a light background'
mono\t'No colours at all: every state is a word or a symbol, bold and reversed for emphasis (sunlight, monochrome terminals, screen readers). NO_COLOR selects it'"
complete -c netdx -n "__fish_netdx_using_subcommand tui" -l remote -d 'Show what the netdx serve agent at URL sees (http[s]://host:port), read-only: its checks are polled from /api/v1/checks; nothing is probed or scanned from here' -r
complete -c netdx -n "__fish_netdx_using_subcommand tui" -l refresh -d 'Seconds between two polls of the agent' -r
complete -c netdx -n "__fish_netdx_using_subcommand tui" -l token-file -d 'File holding the agent\'s bearer token (sent as `Authorization: Bearer`)' -r -F
complete -c netdx -n "__fish_netdx_using_subcommand tui" -l user -d 'Basic-auth user; the password comes from NETDX_REMOTE_PASSWORD or --password-file' -r
complete -c netdx -n "__fish_netdx_using_subcommand tui" -l password-file -d 'File holding the basic-auth password (first line)' -r -F
complete -c netdx -n "__fish_netdx_using_subcommand tui" -l ca-cert -d 'PEM file of the CA that signed the agent\'s certificate (a private CA), or the agent\'s self-signed certificate itself, trusted instead of the system\'s CAs' -r -F
complete -c netdx -n "__fish_netdx_using_subcommand tui" -l allow-large -d 'Allow scanning more than 65,536 addresses'
complete -c netdx -n "__fish_netdx_using_subcommand tui" -l no-ping -d 'Do not ping: treat every target as up and go straight to its ports (for networks that drop ICMP)'
complete -c netdx -n "__fish_netdx_using_subcommand tui" -l no-arp -d 'Do not use ARP on directly connected networks'
complete -c netdx -n "__fish_netdx_using_subcommand tui" -l no-rdns -d 'Do not look up the names (PTR) of live hosts'
complete -c netdx -n "__fish_netdx_using_subcommand tui" -l no-identify -d 'Do not ask open ports what they run. By default every open port is identified: its greeting (SSH, FTP, SMTP, POP3, IMAP, MySQL, telnet), a `GET /` on web ports (status, Server, title, redirect), the TLS certificate (names, issuer, days left), Redis and RTSP'
complete -c netdx -n "__fish_netdx_using_subcommand tui" -l no-names -d 'Do not ask live hosts their names. By default each live target is asked, by unicast to its own address only, over mDNS/DNS-SD (host name, services, TXT), NetBIOS (computer name, workgroup, domain controller), SSDP/UPnP (friendly name, maker, model) and SNMP v2c (sysDescr, sysName, sysObjectID, sysLocation)'
complete -c netdx -n "__fish_netdx_using_subcommand tui" -l log -d 'Record this scan in the history file (see `netdx history`)'
complete -c netdx -n "__fish_netdx_using_subcommand tui" -l no-log -d 'Do not record this scan in the history, even when the config file says `log = true`'
complete -c netdx -n "__fish_netdx_using_subcommand tui" -l auto -d 'Start at once on the local subnet, the default gateway and the system resolvers, and run the LAN safety checks once (rogue DHCP, duplicate IPs, gateway ARP claims, IPv6 routers, switch port; `A` shows them, `L` runs them again)'
complete -c netdx -n "__fish_netdx_using_subcommand tui" -l no-lan -d 'With --auto, do not run the LAN safety checks at start'
complete -c netdx -n "__fish_netdx_using_subcommand tui" -l bell -d 'Ring the terminal bell when a warning or critical alert arrives (a device gone, a changed MAC, a rogue DHCP server...). Alerts are always listed in the Alerts view (A)'
complete -c netdx -n "__fish_netdx_using_subcommand tui" -l no-inventory -d 'Do not record sweeps in the device inventory (see `netdx inventory`). By default each completed sweep is recorded, and devices new to the inventory, gone from it or changed since they were last seen become alerts'
complete -c netdx -n "__fish_netdx_using_subcommand tui" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c netdx -n "__fish_netdx_using_subcommand report" -s o -l output -d 'Where to write; the format follows the extension unless --format is given' -r -F
complete -c netdx -n "__fish_netdx_using_subcommand report" -l format -r -f -a "json\t''
csv\t''
md\t''
html\t''
xml\t''"
complete -c netdx -n "__fish_netdx_using_subcommand report" -s h -l help -d 'Print help'
complete -c netdx -n "__fish_netdx_using_subcommand diff" -s o -l output -d 'Write the differences to FILE (JSON or Markdown, by extension or --format) instead of printing text' -r -F
complete -c netdx -n "__fish_netdx_using_subcommand diff" -l format -r -f -a "json\t''
csv\t''
md\t''
html\t''
xml\t''"
complete -c netdx -n "__fish_netdx_using_subcommand diff" -s h -l help -d 'Print help'
complete -c netdx -n "__fish_netdx_using_subcommand history" -s n -l last -d 'Show only the last N scans' -r
complete -c netdx -n "__fish_netdx_using_subcommand history" -l compare -d 'Compare the newest recorded scan (or scan number N of the list) with the last complete run of the same targets before it, as `netdx diff` does: what appeared, went away or changed. Both need a report file (`netdx scan ... --log -o FILE.json`). Exit code 1 when something changed' -r
complete -c netdx -n "__fish_netdx_using_subcommand history" -s h -l help -d 'Print help'
complete -c netdx -n "__fish_netdx_using_subcommand diagnose" -s p -l ports -d 'Service ports to connect to on every target' -r
complete -c netdx -n "__fish_netdx_using_subcommand diagnose" -l resolver -d 'Ask this DNS server instead of the system\'s (IP or IP:PORT; [v6]:port)' -r
complete -c netdx -n "__fish_netdx_using_subcommand diagnose" -s o -l output -d 'Write the diagnosis to FILE: .json, .md or .html (or --format)' -r -F
complete -c netdx -n "__fish_netdx_using_subcommand diagnose" -l format -d 'Format for -o' -r -f -a "json\t''
md\t''
html\t''"
complete -c netdx -n "__fish_netdx_using_subcommand diagnose" -l interval -d 'Seconds from the start of one watch round to the next' -r
complete -c netdx -n "__fish_netdx_using_subcommand diagnose" -l timeout -d 'Probe timeout in milliseconds (ping window, traceroute reply wait; TCP connects get half as long again)' -r
complete -c netdx -n "__fish_netdx_using_subcommand diagnose" -l dns-timeout -d 'DNS timeout in milliseconds, per server' -r
complete -c netdx -n "__fish_netdx_using_subcommand diagnose" -l max-hops -d 'Highest TTL the traceroute probes' -r
complete -c netdx -n "__fish_netdx_using_subcommand diagnose" -l watch -d 'Repeat the checks until Ctrl-C and keep an outage timeline (start, end, duration, failing layer), printed and written with -o after every round'
complete -c netdx -n "__fish_netdx_using_subcommand diagnose" -l json -d 'Print the diagnosis as JSON on stdout instead of text (the document -o writes as .json; warnings stay on stderr). Not with --watch'
complete -c netdx -n "__fish_netdx_using_subcommand diagnose" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c netdx -n "__fish_netdx_using_subcommand inventory; and not __fish_seen_subcommand_from list label note forget help" -l format -d 'Output format (default: from the -o file\'s extension, else text)' -r -f -a "text\t''
json\t''
csv\t''"
complete -c netdx -n "__fish_netdx_using_subcommand inventory; and not __fish_seen_subcommand_from list label note forget help" -s o -l output -d 'Write the list to FILE instead of printing it' -r -F
complete -c netdx -n "__fish_netdx_using_subcommand inventory; and not __fish_seen_subcommand_from list label note forget help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c netdx -n "__fish_netdx_using_subcommand inventory; and not __fish_seen_subcommand_from list label note forget help" -f -a "list" -d 'List every known device, sorted by address'
complete -c netdx -n "__fish_netdx_using_subcommand inventory; and not __fish_seen_subcommand_from list label note forget help" -f -a "label" -d 'Give a device a label, shown in the list and in alerts about it ("" removes it)'
complete -c netdx -n "__fish_netdx_using_subcommand inventory; and not __fish_seen_subcommand_from list label note forget help" -f -a "note" -d 'Keep a free-text note about a device ("" removes it)'
complete -c netdx -n "__fish_netdx_using_subcommand inventory; and not __fish_seen_subcommand_from list label note forget help" -f -a "forget" -d 'Remove a device and everything known about it (the next scan that finds it reports it as new)'
complete -c netdx -n "__fish_netdx_using_subcommand inventory; and not __fish_seen_subcommand_from list label note forget help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c netdx -n "__fish_netdx_using_subcommand inventory; and __fish_seen_subcommand_from list" -l format -d 'Output format (default: from the -o file\'s extension, else text)' -r -f -a "text\t''
json\t''
csv\t''"
complete -c netdx -n "__fish_netdx_using_subcommand inventory; and __fish_seen_subcommand_from list" -s o -l output -d 'Write the list to FILE instead of printing it' -r -F
complete -c netdx -n "__fish_netdx_using_subcommand inventory; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c netdx -n "__fish_netdx_using_subcommand inventory; and __fish_seen_subcommand_from label" -s h -l help -d 'Print help'
complete -c netdx -n "__fish_netdx_using_subcommand inventory; and __fish_seen_subcommand_from note" -s h -l help -d 'Print help'
complete -c netdx -n "__fish_netdx_using_subcommand inventory; and __fish_seen_subcommand_from forget" -s h -l help -d 'Print help'
complete -c netdx -n "__fish_netdx_using_subcommand inventory; and __fish_seen_subcommand_from help" -f -a "list" -d 'List every known device, sorted by address'
complete -c netdx -n "__fish_netdx_using_subcommand inventory; and __fish_seen_subcommand_from help" -f -a "label" -d 'Give a device a label, shown in the list and in alerts about it ("" removes it)'
complete -c netdx -n "__fish_netdx_using_subcommand inventory; and __fish_seen_subcommand_from help" -f -a "note" -d 'Keep a free-text note about a device ("" removes it)'
complete -c netdx -n "__fish_netdx_using_subcommand inventory; and __fish_seen_subcommand_from help" -f -a "forget" -d 'Remove a device and everything known about it (the next scan that finds it reports it as new)'
complete -c netdx -n "__fish_netdx_using_subcommand inventory; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c netdx -n "__fish_netdx_using_subcommand lan" -s i -l interface -d 'Interface to check (default: the one of the default route)' -r
complete -c netdx -n "__fish_netdx_using_subcommand lan" -l window -d 'Seconds to listen; every check runs within this one window' -r
complete -c netdx -n "__fish_netdx_using_subcommand lan" -l switch-wait -d 'Seconds to wait for the switch to announce itself (LLDP or CDP); the wait ends at the first frame. Default: the window. Switches send LLDP every 30 s unless configured otherwise: `--switch-wait 30` (at most 60) to be sure to hear one' -r
complete -c netdx -n "__fish_netdx_using_subcommand lan" -l expect-dhcp -d 'A DHCP server that is allowed (repeatable). Without it, of two or more servers those not naming the gateway are rogue' -r
complete -c netdx -n "__fish_netdx_using_subcommand lan" -l expect-router -d 'An IPv6 router that is allowed, by link-local address or MAC (repeatable), besides the router with the IPv4 gateway\'s MAC, which is always expected' -r
complete -c netdx -n "__fish_netdx_using_subcommand lan" -l gateway-mac -d 'The gateway\'s MAC as recorded before: an answer from another MAC is an alert' -r
complete -c netdx -n "__fish_netdx_using_subcommand lan" -l addresses -d 'Check these addresses for duplicates instead of the whole subnet (IPv4 addresses or blocks, repeatable or comma-separated, at most 1024 addresses)' -r
complete -c netdx -n "__fish_netdx_using_subcommand lan" -s o -l output -d 'Write the JSON report to FILE' -r -F
complete -c netdx -n "__fish_netdx_using_subcommand lan" -l json -d 'Print the JSON report on stdout instead of text'
complete -c netdx -n "__fish_netdx_using_subcommand lan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c netdx -n "__fish_netdx_using_subcommand serve" -s p -l ports -d 'TCP ports to check on every target: 22,80,443  1-1024  ssh,https' -r
complete -c netdx -n "__fish_netdx_using_subcommand serve" -l dns -d 'A DNS question for the system resolvers, NAME[:TYPE] (repeatable)' -r
complete -c netdx -n "__fish_netdx_using_subcommand serve" -l interval -d 'Seconds between two runs of the command-line checks' -r
complete -c netdx -n "__fish_netdx_using_subcommand serve" -l listen -d 'Address and port to listen on [default: 127.0.0.1:9430]' -r
complete -c netdx -n "__fish_netdx_using_subcommand serve" -l config -d 'TOML file with more checks; re-read on SIGHUP' -r -F
complete -c netdx -n "__fish_netdx_using_subcommand serve" -l token-file -d 'File holding a bearer token that /metrics, / and /api/v1/checks then require (`Authorization: Bearer TOKEN`; never in the URL). /healthz stays open. Overrides the config\'s token_file' -r -F
complete -c netdx -n "__fish_netdx_using_subcommand serve" -l web-config -d 'YAML file with TLS (tls_server_config) and basic auth (basic_auth_users, bcrypt hashes) for the listener, as Prometheus exporters read it; re-read on SIGHUP' -r -F
complete -c netdx -n "__fish_netdx_using_subcommand serve" -l check-config -d 'Validate FILE and exit: 0 valid, 2 with a one-line error naming the file and key' -r -F
complete -c netdx -n "__fish_netdx_using_subcommand serve" -l log-format -d 'Log format on stderr' -r -f -a "text\t'key=value text'
json\t'One JSON object per line'"
complete -c netdx -n "__fish_netdx_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c netdx -n "__fish_netdx_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c netdx -n "__fish_netdx_using_subcommand man" -l dir -d 'Write every page into DIR instead of printing netdx.1' -r -F
complete -c netdx -n "__fish_netdx_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c netdx -n "__fish_netdx_using_subcommand dns" -s x -d 'Reverse lookup: the PTR record of ADDR (repeatable)' -r
complete -c netdx -n "__fish_netdx_using_subcommand dns" -s f -l file -d 'Read queries from FILE, one a line (see below); `-` reads standard input' -r -F
complete -c netdx -n "__fish_netdx_using_subcommand dns" -l tls-name -d 'The name the DoT/DoH server\'s certificate must carry, for a server given by address (kdig\'s +tls-hostname)' -r
complete -c netdx -n "__fish_netdx_using_subcommand dns" -l ca-file -d 'Trust the CA certificates of this PEM file too (a private CA), beside the system\'s' -r -F
complete -c netdx -n "__fish_netdx_using_subcommand dns" -l timeout -d 'Milliseconds to wait for each server\'s answer' -r
complete -c netdx -n "__fish_netdx_using_subcommand dns" -l concurrency -d 'Queries in flight at once' -r
complete -c netdx -n "__fish_netdx_using_subcommand dns" -l tcp -d 'Ask over TCP instead of UDP (+tcp)'
complete -c netdx -n "__fish_netdx_using_subcommand dns" -l tls -d 'Ask over TLS, port 853 unless given (DoT, RFC 7858; +tls)'
complete -c netdx -n "__fish_netdx_using_subcommand dns" -l https -d 'Ask over HTTPS, port 443 unless given, path /dns-query (DoH, RFC 8484; +https)'
complete -c netdx -n "__fish_netdx_using_subcommand dns" -l short -d 'Print only the answers, one a line (+short); failures go to stderr'
complete -c netdx -n "__fish_netdx_using_subcommand dns" -l json -d 'Print the results as one JSON document'
complete -c netdx -n "__fish_netdx_using_subcommand dns" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c netdx -n "__fish_netdx_using_subcommand help; and not __fish_seen_subcommand_from scan tui report diff history diagnose inventory lan serve completions man dns help" -f -a "scan" -d 'Scan targets headless: progress on stderr, a summary table on stdout, optional report'
complete -c netdx -n "__fish_netdx_using_subcommand help; and not __fish_seen_subcommand_from scan tui report diff history diagnose inventory lan serve completions man dns help" -f -a "tui" -d 'Open the live dashboard (the same as running netdx with no subcommand)'
complete -c netdx -n "__fish_netdx_using_subcommand help; and not __fish_seen_subcommand_from scan tui report diff history diagnose inventory lan serve completions man dns help" -f -a "report" -d 'Convert a saved JSON report to another format (html, md, csv, xml, json)'
complete -c netdx -n "__fish_netdx_using_subcommand help; and not __fish_seen_subcommand_from scan tui report diff history diagnose inventory lan serve completions man dns help" -f -a "diff" -d 'Compare two saved reports: hosts and ports that appeared or went away, changed MACs and names, latency that got worse, changed service versions, certificates and device types. Exit code 1 when something changed, 0 when not'
complete -c netdx -n "__fish_netdx_using_subcommand help; and not __fish_seen_subcommand_from scan tui report diff history diagnose inventory lan serve completions man dns help" -f -a "history" -d 'List past scans recorded with --log: when, what, what was found, where the report is'
complete -c netdx -n "__fish_netdx_using_subcommand help; and not __fish_seen_subcommand_from scan tui report diff history diagnose inventory lan serve completions man dns help" -f -a "diagnose" -d 'Outage triage: find which layer is broken (local link, gateway, DNS, WAN path or the target\'s service) and say it in plain words, with the evidence'
complete -c netdx -n "__fish_netdx_using_subcommand help; and not __fish_seen_subcommand_from scan tui report diff history diagnose inventory lan serve completions man dns help" -f -a "inventory" -d 'The devices netdx has seen: every `netdx scan` records them (first and last seen, addresses, MACs, names, vendor, type, open services) and says what changed since'
complete -c netdx -n "__fish_netdx_using_subcommand help; and not __fish_seen_subcommand_from scan tui report diff history diagnose inventory lan serve completions man dns help" -f -a "lan" -d 'LAN safety checks on one interface: rogue DHCP servers, duplicate IP addresses, ARP claims on the gateway (spoofing), unexpected IPv6 routers, and the switch port this machine is plugged into (LLDP/CDP)'
complete -c netdx -n "__fish_netdx_using_subcommand help; and not __fish_seen_subcommand_from scan tui report diff history diagnose inventory lan serve completions man dns help" -f -a "serve" -d 'Run as a monitoring agent that Prometheus scrapes: ping, TCP, DNS and TLS checks at their intervals on one probe session, served as OpenMetrics text on /metrics, with /healthz and a status page at /'
complete -c netdx -n "__fish_netdx_using_subcommand help; and not __fish_seen_subcommand_from scan tui report diff history diagnose inventory lan serve completions man dns help" -f -a "completions" -d 'Print a shell completion script on stdout'
complete -c netdx -n "__fish_netdx_using_subcommand help; and not __fish_seen_subcommand_from scan tui report diff history diagnose inventory lan serve completions man dns help" -f -a "man" -d 'Print the manual page (roff) on stdout, or write every page (netdx.1 and one netdx-SUBCOMMAND.1 per subcommand) into a directory'
complete -c netdx -n "__fish_netdx_using_subcommand help; and not __fish_seen_subcommand_from scan tui report diff history diagnose inventory lan serve completions man dns help" -f -a "dns" -d 'Ask DNS servers directly, like dig: several names, types and servers at once, each answer with its TTL, the server that gave it and how long it took'
complete -c netdx -n "__fish_netdx_using_subcommand help; and not __fish_seen_subcommand_from scan tui report diff history diagnose inventory lan serve completions man dns help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c netdx -n "__fish_netdx_using_subcommand help; and __fish_seen_subcommand_from inventory" -f -a "list" -d 'List every known device, sorted by address'
complete -c netdx -n "__fish_netdx_using_subcommand help; and __fish_seen_subcommand_from inventory" -f -a "label" -d 'Give a device a label, shown in the list and in alerts about it ("" removes it)'
complete -c netdx -n "__fish_netdx_using_subcommand help; and __fish_seen_subcommand_from inventory" -f -a "note" -d 'Keep a free-text note about a device ("" removes it)'
complete -c netdx -n "__fish_netdx_using_subcommand help; and __fish_seen_subcommand_from inventory" -f -a "forget" -d 'Remove a device and everything known about it (the next scan that finds it reports it as new)'
