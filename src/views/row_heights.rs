//! Where each row of the message list starts, so only the visible rows are laid out: heights
//! per row (measured once drawn, estimated before), prefix sums to find the row at a scroll
//! offset in O(log n). Appends and re-measuring the rows in view are cheap; a rebuild happens
//! only when rows move (a page of older messages, a deletion) or the width changes.

use std::collections::HashMap;

#[derive(Default)]
pub struct RowHeights {
    /// Height of row i (timeline order).
    heights: Vec<f32>,
    /// `starts[i]` = top of row i; `starts[n]` = total height.
    starts: Vec<f64>,
    /// Measured heights by message id, kept across rebuilds (valid for `width`).
    measured: HashMap<i64, f32>,
    width: f32,
    /// First row whose `starts` entry is stale.
    stale_from: Option<usize>,
}

impl RowHeights {
    /// Rows are `ids` (with `estimate` for a row never drawn) at this `width`.
    pub fn rebuild(&mut self, ids: impl Iterator<Item = (i64, f32)>, width: f32) {
        if (width - self.width).abs() > 0.5 {
            self.measured.clear(); // wrapped differently now
            self.width = width;
        }
        self.heights.clear();
        for (id, estimate) in ids {
            self.heights
                .push(self.measured.get(&id).copied().unwrap_or(estimate));
        }
        self.stale_from = Some(0);
        self.refresh();
    }

    /// A new newest row.
    pub fn push(&mut self, id: i64, estimate: f32) {
        let height = self.measured.get(&id).copied().unwrap_or(estimate);
        self.refresh();
        let top = self.total();
        self.heights.push(height);
        self.starts.push(top + f64::from(height));
    }

    /// Row `index` (message `id`) was drawn `height` tall; true when that moved the rows
    /// below it.
    pub fn measured(&mut self, index: usize, id: i64, height: f32) -> bool {
        self.measured.insert(id, height);
        if let Some(h) = self.heights.get_mut(index)
            && (*h - height).abs() > 0.25
        {
            *h = height;
            self.stale_from = Some(self.stale_from.map_or(index, |s| s.min(index)));
            return true;
        }
        false
    }

    pub fn len(&self) -> usize {
        self.heights.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heights.is_empty()
    }

    pub fn width(&self) -> f32 {
        self.width
    }

    fn refresh(&mut self) {
        let Some(from) = self.stale_from.take() else {
            return;
        };
        self.starts.truncate(from + 1);
        if self.starts.is_empty() {
            self.starts.push(0.0);
        }
        for i in from..self.heights.len() {
            let next = self.starts[i] + f64::from(self.heights[i]);
            self.starts.push(next);
        }
    }

    pub fn total(&mut self) -> f64 {
        self.refresh();
        self.starts.last().copied().unwrap_or(0.0)
    }

    /// Top of row `index`.
    pub fn top(&mut self, index: usize) -> f64 {
        self.refresh();
        self.starts
            .get(index.min(self.heights.len()))
            .copied()
            .unwrap_or(0.0)
    }

    /// The row at offset `y` (clamped to the rows there are).
    pub fn row_at(&mut self, y: f64) -> usize {
        self.refresh();
        let after = self.starts.partition_point(|&top| top <= y);
        after
            .saturating_sub(1)
            .min(self.heights.len().saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_rows_by_offset_and_follows_measurements() {
        let mut rows = RowHeights::default();
        rows.rebuild((1..=4).map(|id| (id, 10.0)), 300.0);
        assert_eq!(rows.total(), 40.0);
        assert_eq!(
            (rows.row_at(0.0), rows.row_at(19.9), rows.row_at(20.0)),
            (0, 1, 2)
        );
        assert_eq!(rows.row_at(1e9), 3);
        rows.measured(1, 2, 30.0);
        assert_eq!((rows.total(), rows.top(2)), (60.0, 40.0));
        rows.push(5, 10.0);
        assert_eq!((rows.len(), rows.total()), (5, 70.0));
        // A page of older rows: measured ones keep their height, new ones are estimated.
        rows.rebuild([(0, 5.0), (1, 10.0), (2, 10.0)].into_iter(), 300.0);
        assert_eq!(rows.total(), 45.0);
        // Another width: everything is estimated again.
        rows.rebuild([(2, 10.0)].into_iter(), 200.0);
        assert_eq!(rows.total(), 10.0);
    }
}
