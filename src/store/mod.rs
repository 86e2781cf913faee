//! What netdx keeps between runs.

pub mod history;
pub mod inventory;
