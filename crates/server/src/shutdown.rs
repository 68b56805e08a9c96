//! A graceful stop: once begun, listeners stop taking connections, HTTP finishes the requests in
//! flight, and SMTP lets a message that is arriving finish (and be stored) while idle sessions
//! are told 421, so that senders retry another node. `plico serve` begins it on SIGTERM or Ctrl-C.

use tokio::sync::watch;

/// Cloned into everything that must stop gracefully.
#[derive(Clone)]
pub struct Shutdown {
    sender: std::sync::Arc<watch::Sender<bool>>,
    receiver: watch::Receiver<bool>,
}

impl Shutdown {
    pub fn new() -> Shutdown {
        let (sender, receiver) = watch::channel(false);
        Shutdown { sender: std::sync::Arc::new(sender), receiver }
    }

    /// Begins the stop, for every clone.
    pub fn begin(&self) {
        self.sender.send_replace(true);
    }

    /// Whether the stop has begun.
    pub fn begun(&self) -> bool {
        *self.receiver.borrow()
    }

    /// Resolves once the stop has begun (at once if it has).
    pub async fn wait(&self) {
        let mut receiver = self.receiver.clone();
        // The sender lives as long as any clone, so this only ends when the stop begins.
        let _ = receiver.wait_for(|begun| *begun).await;
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown::new()
    }
}

/// Waits for SIGTERM (what an orchestrator sends) or Ctrl-C, then begins the stop.
pub async fn on_signal(shutdown: Shutdown) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("stopping: finishing what is in flight");
    shutdown.begin();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_clone_sees_the_stop_and_a_late_waiter_returns_at_once() {
        let shutdown = Shutdown::new();
        let clone = shutdown.clone();
        assert!(!clone.begun());
        let waiter = tokio::spawn(async move { clone.wait().await });
        shutdown.begin();
        waiter.await.expect("the waiter ends");
        assert!(shutdown.begun());
        tokio::time::timeout(std::time::Duration::from_secs(1), shutdown.wait()).await.expect("at once");
    }
}
