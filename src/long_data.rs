//! The process-wide budget for COM_STMT_SEND_LONG_DATA: long data is buffered until the
//! execute that uses it (it is re-sent to whichever backend runs the statement), so every
//! session's buffered bytes together stay within `[limits] long_data_total`. Each statement
//! holds its share as a [`Held`] that gives it back when cleared or dropped — also when the
//! session ends or panics.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes of long data buffered by all sessions of the process.
static IN_USE: AtomicUsize = AtomicUsize::new(0);

/// Bytes all sessions have buffered right now.
pub fn in_use() -> usize {
    IN_USE.load(Ordering::Relaxed)
}

/// One statement's buffered long data, counted in the process-wide budget.
#[derive(Debug, Default)]
pub struct Held {
    bytes: usize,
}

impl Held {
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Takes `n` more bytes if all sessions together stay within `total`.
    pub fn take(&mut self, n: usize, total: usize) -> bool {
        let taken = IN_USE.fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
            used.checked_add(n).filter(|&after| after <= total)
        });
        if taken.is_ok() {
            self.bytes += n;
        }
        taken.is_ok()
    }

    /// Gives everything back (the data was sent, or dropped).
    pub fn clear(&mut self) {
        IN_USE.fetch_sub(std::mem::take(&mut self.bytes), Ordering::AcqRel);
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_given_back_when_cleared_or_dropped() {
        // Other tests of the process may hold some: measure relative to now.
        let base = in_use();
        let total = base + 100;
        let mut a = Held::default();
        let mut b = Held::default();
        assert!(a.take(60, total));
        assert!(!b.take(50, total), "over the budget");
        assert!(b.take(40, total));
        assert_eq!(in_use(), base + 100);
        a.clear();
        assert_eq!(a.bytes(), 0);
        assert!(b.take(50, total));
        drop(b);
        assert_eq!(in_use(), base);
    }
}
