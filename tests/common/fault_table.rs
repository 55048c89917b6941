//! The fault table `cargo xtask test` prints: one row per scenario (tests/artifacts/faults.txt).

use std::io::Write;

pub struct Outcome {
    pub sent: usize,
    pub lost: usize,
    pub duplicated: usize,
    pub out_of_order: usize,
    pub anonymous: usize,
}

/// Append the scenario's row and fail unless nothing was lost, doubled or unattributed.
pub fn report(scenario: &str, faults: usize, outcome: &Outcome) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    let line = format!(
        "| {scenario} | {faults} | {} | {} | {} | {} | {} |\n",
        outcome.sent, outcome.lost, outcome.duplicated, outcome.anonymous, outcome.out_of_order
    );
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("faults.txt"))
        .unwrap();
    file.write_all(line.as_bytes()).unwrap();
    eprint!("{line}");
    assert_eq!(
        (outcome.lost, outcome.duplicated, outcome.anonymous),
        (0, 0, 0),
        "{scenario}: lost, duplicated, anonymous"
    );
}
