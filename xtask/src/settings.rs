//! Settings and secrets made once and kept: owner-only KEY=VALUE lines (the local Directus's
//! `credentials.env`, the cluster's `cluster.env`).

use std::path::{Path, PathBuf};

use crate::{Result, server};

/// A value missing is made once and kept; the file is written only when something changed.
pub struct Settings {
    path: PathBuf,
    values: Vec<(String, String)>,
    changed: bool,
}

impl Settings {
    pub fn read(path: &Path) -> Settings {
        let values = std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Settings {
            path: path.to_owned(),
            values,
            changed: false,
        }
    }

    pub fn get(&mut self, key: &str, made: &str) -> String {
        if let Some((_, v)) = self.values.iter().find(|(k, _)| k == key) {
            return v.clone();
        }
        self.set(key, made);
        made.to_owned()
    }

    pub fn port(&mut self, key: &str, made: u16) -> Result<u16> {
        let text = self.get(key, &made.to_string());
        text.parse()
            .map_err(|_| format!("bad {key} {text:?} in {}", self.path.display()))
    }

    pub fn set(&mut self, key: &str, value: &str) {
        match self.values.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) if v == value => {}
            Some((_, v)) => {
                *v = value.to_owned();
                self.changed = true;
            }
            None => {
                self.values.push((key.to_owned(), value.to_owned()));
                self.changed = true;
            }
        }
    }

    pub fn write(&self) -> Result<()> {
        if !self.changed {
            return Ok(());
        }
        let text: String = self
            .values
            .iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect();
        server::write_private(&self.path, &text)
    }
}
