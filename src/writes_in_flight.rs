//! Writes whose GTID is not known yet (consistency = "global").
//!
//! Under global consistency a read must see every write committed through this proxy before
//! the read started — also one whose client got its OK a moment ago and has not had its GTID
//! noted yet (the proxy asks the master for the position right after relaying the OK). A
//! redirect-after-POST reader on a new connection can be faster than that question. So each
//! such write holds a [`Ticket`] from before it is sent until its position is noted, and a
//! global read first waits (bounded) for the tickets taken before it began.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

#[derive(Default)]
pub struct WritesInFlight {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    state: Mutex<Flight>,
    done: Notify,
}

#[derive(Default)]
struct Flight {
    next: u64,
    open: BTreeSet<u64>,
}

/// One write in flight; finished when dropped (also when its session fails or panics).
pub struct Ticket {
    inner: Arc<Inner>,
    seq: u64,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.inner
            .state
            .lock()
            .expect("writes in flight lock")
            .open
            .remove(&self.seq);
        self.inner.done.notify_waiters();
    }
}

impl WritesInFlight {
    /// A write is about to be sent.
    pub fn begin(&self) -> Ticket {
        let mut f = self.inner.state.lock().expect("writes in flight lock");
        let seq = f.next;
        f.next += 1;
        f.open.insert(seq);
        Ticket {
            inner: self.inner.clone(),
            seq,
        }
    }

    /// Waits until every write begun before this call has finished, at most `wait`. False if
    /// some are still in flight then.
    pub async fn settle(&self, wait: Duration) -> bool {
        let horizon = {
            let f = self.inner.state.lock().expect("writes in flight lock");
            if f.open.is_empty() {
                return true;
            }
            f.next
        };
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notified = self.inner.done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let oldest = self
                .inner
                .state
                .lock()
                .expect("writes in flight lock")
                .open
                .first()
                .copied();
            if oldest.is_none_or(|s| s >= horizon) {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_for_earlier_writes_only() {
        let w = WritesInFlight::default();
        assert!(
            w.settle(Duration::from_millis(1)).await,
            "nothing in flight"
        );
        let t1 = w.begin();
        assert!(!w.settle(Duration::from_millis(20)).await, "t1 still open");
        let w = Arc::new(w);
        let w2 = w.clone();
        let waiter = tokio::spawn(async move { w2.settle(Duration::from_secs(5)).await });
        tokio::time::sleep(Duration::from_millis(10)).await;
        // A write begun after the reader started is not waited for.
        let _t2 = w.begin();
        drop(t1);
        assert!(waiter.await.unwrap());
    }
}
