//! Privilege detection.
