//! The run's cancellation: Ctrl-C from the host, or --fail-fast after the first failure. The
//! coordinator then cancels the running tests and records the rest as cancelled.

use std::sync::{Arc, Mutex};

use futures::channel::oneshot;
use runmat_test_runner::host::{CancellationPort, PortFuture};

#[derive(Default)]
struct State {
    reason: Option<String>,
    waiting: Vec<oneshot::Sender<String>>,
}

#[derive(Clone, Default)]
pub struct RunCancellation {
    state: Arc<Mutex<State>>,
}

impl RunCancellation {
    /// Cancels the run with `reason`; the first reason given is kept.
    pub fn cancel(&self, reason: &str) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.reason.is_some() {
            return;
        }
        state.reason = Some(reason.to_string());
        for waiter in state.waiting.drain(..) {
            let _ = waiter.send(reason.to_string());
        }
    }
}

impl CancellationPort for RunCancellation {
    fn is_cancelled(&self) -> bool {
        self.reason().is_some()
    }

    fn reason(&self) -> Option<String> {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .reason
            .clone()
    }

    fn cancelled<'a>(&'a self) -> PortFuture<'a, String> {
        let (sender, receiver) = oneshot::channel();
        {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            match &state.reason {
                Some(reason) => {
                    let _ = sender.send(reason.clone());
                }
                None => state.waiting.push(sender),
            }
        }
        Box::pin(async move {
            match receiver.await {
                Ok(reason) => reason,
                Err(_) => futures::future::pending().await,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiters_before_and_after_hear_the_first_reason() {
        let cancellation = RunCancellation::default();
        let early = cancellation.cancelled();
        assert!(!cancellation.is_cancelled());
        cancellation.cancel("interrupted");
        cancellation.cancel("--fail-fast");
        assert_eq!(futures::executor::block_on(early), "interrupted");
        assert_eq!(
            futures::executor::block_on(cancellation.cancelled()),
            "interrupted"
        );
        assert_eq!(cancellation.reason().as_deref(), Some("interrupted"));
    }
}
