//! Report writers. They read a finished (or partial) [`crate::model::ScanReport`] only.
