//! `netdx serve`: a monitoring agent that Prometheus scrapes. Checks (ping, TCP, DNS, TLS, path,
//! LAN safety, device count, diagnosis; the last four in [`deep`]) run at
//! their intervals on the one probe session ([`scheduler`], [`probe`]); results become a
//! flap-suppressed state per check ([`state`]); an HTTP server on tokio shows them as
//! OpenMetrics text, a health check, a status page and JSON ([`http`], [`metrics`], [`page`],
//! [`api`]), over plain HTTP or TLS with optional basic auth ([`tls`], [`web_config`],
//! [`auth`]). [`client`] reads the JSON API for `netdx tui --remote`.
//! [`run`] ties them together with signals: SIGTERM/SIGINT stop, SIGHUP reloads.

pub mod api;
pub mod auth;
pub mod client;
pub mod config;
pub mod deep;
pub mod http;
pub mod metrics;
pub mod page;
pub mod probe;
pub mod run;
pub mod scheduler;
pub mod state;
pub mod tls;
pub mod web_config;
