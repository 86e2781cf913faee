//! ICMP echo probe over surge-ping.
