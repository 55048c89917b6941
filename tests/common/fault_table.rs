//! The fault table `cargo xtask test` prints: one row per scenario (tests/artifacts/faults.txt).

use std::io::Write;

pub struct Outcome {
    pub sent: usize,
    pub lost: usize,
    pub duplicated: usize,
    pub out_of_order: usize,
    pub anonymous: usize,
}

impl Outcome {
    /// `sent` messages of one client, from how often each was printed: one never printed is
    /// lost, one printed more than once doubled.
    pub fn of_one_client(sent: usize, printed: &std::collections::HashMap<String, usize>) -> Self {
        Outcome {
            sent,
            lost: sent - printed.len().min(sent),
            duplicated: printed.values().map(|n| n - 1).sum(),
            out_of_order: 0,
            anonymous: 0,
        }
    }
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
