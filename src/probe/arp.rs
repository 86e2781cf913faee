//! ARP discovery over pnet's datalink channel. OWNER: ARP helper.
