//! An export that fails half way never leaves half a file nor truncates the report that was
//! already there. The failure is real: the file-size limit (RLIMIT_FSIZE) is lowered below the
//! report's size, so the kernel refuses the write with EFBIG part way through.
//!
//! This file holds a single test because the limit applies to the whole test process.

use std::path::PathBuf;

use netdx::output::{self, Format};

#[test]
fn failed_export_keeps_the_existing_file_whole() {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reports/lab.json");
    let r = output::json::read(&p).unwrap();
    let html = output::render(&r, Format::Html).unwrap();
    assert!(
        html.len() > 16_384,
        "the report must be larger than the limit"
    );

    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("report.html");
    let previous = b"<!DOCTYPE html><p>last week's report, which must survive</p>\n".repeat(40);
    std::fs::write(&target, &previous).unwrap();

    // SAFETY: ignoring SIGXFSZ makes an over-limit write fail with EFBIG instead of killing
    // the process; no other thread of this test binary writes files meanwhile.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    let (soft, hard) = rlimit::Resource::FSIZE.get().unwrap();
    rlimit::Resource::FSIZE.set(16_384, hard).unwrap();
    let result = output::write(&r, &target, Some(Format::Html));
    rlimit::Resource::FSIZE.set(soft, hard).unwrap();

    let e = result.expect_err("the write must fail under the file-size limit");
    assert!(e.to_string().contains("report.html"), "{e}");
    assert_eq!(
        std::fs::read(&target).unwrap(),
        previous,
        "the existing report was touched"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 1, "a temporary file was left behind: {left:?}");

    // And with the limit lifted, the same write replaces the file whole.
    output::write(&r, &target, Some(Format::Html)).unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), html);
}
