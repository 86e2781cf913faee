//! TCP connect probe.
