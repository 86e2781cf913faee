//! Types, events and the pure reducer: no I/O, no clap. Everything else builds on these.

pub mod alert;
pub mod changes;
pub mod clock;
pub mod devtype;
pub mod event;
pub mod fold;
pub mod identity;
pub mod lan;
pub mod model;
pub mod names;
pub mod oui;
pub mod ports;
pub mod portset;
pub mod sanitize;
pub mod target;
pub mod units;
