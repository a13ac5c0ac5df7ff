//! An instance that is stopping tells its long-lived sockets, which close
//! with a reconnect hint (clients resume on another instance), and waits
//! until they have: each socket holds a [`StopWatch`] for as long as it runs.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// Close reason sockets give when the instance stops (with close code 1012,
/// "service restart": reconnecting is the right thing to do).
pub const SHUTTING_DOWN: &str = "shutting_down";

#[derive(Clone, Debug)]
pub struct StopSignal(Arc<watch::Sender<bool>>);

impl Default for StopSignal {
    fn default() -> Self {
        Self(Arc::new(watch::channel(false).0))
    }
}

impl StopSignal {
    /// What a socket keeps while it runs, to hear of the stop.
    pub fn watch(&self) -> StopWatch {
        StopWatch(self.0.subscribe())
    }

    pub fn is_stopping(&self) -> bool {
        *self.0.borrow()
    }

    /// Tells every watcher and waits until each has dropped its watch, at
    /// most `bound`; false when some were still open then.
    pub async fn stop(&self, bound: Duration) -> bool {
        self.0.send_replace(true);
        tokio::time::timeout(bound, self.0.closed()).await.is_ok()
    }
}

pub struct StopWatch(watch::Receiver<bool>);

impl StopWatch {
    /// Resolves once the instance is stopping (at once if it already is).
    pub async fn requested(&mut self) {
        if self.0.wait_for(|stopping| *stopping).await.is_err() {
            // The signal is gone without a stop: nothing will ever ask.
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stop_waits_for_every_watch_to_be_dropped() {
        let signal = StopSignal::default();
        let mut watch = signal.watch();
        let socket = tokio::spawn(async move {
            watch.requested().await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        });
        assert!(!signal.is_stopping());
        assert!(signal.stop(Duration::from_secs(5)).await, "the socket finished within the bound");
        assert!(socket.is_finished());
        assert!(signal.is_stopping());
    }

    #[tokio::test]
    async fn stop_gives_up_at_the_bound() {
        let signal = StopSignal::default();
        let _stuck = signal.watch();
        assert!(!signal.stop(Duration::from_millis(50)).await);
        // A watch taken after the stop hears of it at once.
        signal.watch().requested().await;
    }
}
