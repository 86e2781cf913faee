//! `netdx serve`: a monitoring agent that Prometheus scrapes. Checks (ping, TCP, DNS) run at
//! their intervals on the one probe session ([`scheduler`], [`probe`]); results become a
//! flap-suppressed state per check ([`state`]); an HTTP server on tokio shows them as
//! OpenMetrics text, a health check and a status page ([`http`], [`metrics`], [`page`]).
//! [`run`] ties them together with signals: SIGTERM/SIGINT stop, SIGHUP reloads.

pub mod auth;
pub mod config;
pub mod http;
pub mod metrics;
pub mod page;
pub mod probe;
pub mod run;
pub mod scheduler;
pub mod state;
