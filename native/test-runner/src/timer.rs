//! The coordinator's clock: one thread wakes the deadlines in order. Executor-neutral, so the
//! coordinator runs on a plain `block_on` without an async runtime.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use futures::channel::oneshot;
use runmat_test_runner::host::{Clock, PortFuture};

struct Deadline {
    at_ms: u64,
    wake: oneshot::Sender<()>,
}

impl PartialEq for Deadline {
    fn eq(&self, other: &Self) -> bool {
        self.at_ms == other.at_ms
    }
}
impl Eq for Deadline {}
impl PartialOrd for Deadline {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Deadline {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.at_ms.cmp(&other.at_ms)
    }
}

#[derive(Default)]
struct Queue {
    deadlines: BinaryHeap<Reverse<Deadline>>,
    closed: bool,
}

pub struct TimerClock {
    start: Instant,
    shared: Arc<(Mutex<Queue>, Condvar)>,
}

impl TimerClock {
    pub fn start() -> Self {
        let start = Instant::now();
        let shared = Arc::new((Mutex::new(Queue::default()), Condvar::new()));
        let thread_shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("deskless-test-clock".into())
            .spawn(move || wake_in_order(start, &thread_shared))
            .expect("the clock thread starts");
        Self { start, shared }
    }
}

fn elapsed_ms(start: Instant) -> u64 {
    start.elapsed().as_millis() as u64
}

fn wake_in_order(start: Instant, shared: &(Mutex<Queue>, Condvar)) {
    let (queue, changed) = shared;
    let mut queue = queue.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        if queue.closed {
            return;
        }
        let now = elapsed_ms(start);
        match queue.deadlines.peek() {
            Some(Reverse(next)) if next.at_ms <= now => {
                let Reverse(due) = queue.deadlines.pop().expect("peeked");
                let _ = due.wake.send(());
            }
            Some(Reverse(next)) => {
                let wait = Duration::from_millis(next.at_ms - now);
                queue = changed
                    .wait_timeout(queue, wait)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            None => queue = changed.wait(queue).unwrap_or_else(|p| p.into_inner()),
        }
    }
}

impl Clock for TimerClock {
    fn now_ms(&self) -> u64 {
        elapsed_ms(self.start)
    }

    fn sleep_until<'a>(&'a self, deadline_ms: u64) -> PortFuture<'a, ()> {
        let (wake, woken) = oneshot::channel();
        let (queue, changed) = &*self.shared;
        queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .deadlines
            .push(Reverse(Deadline {
                at_ms: deadline_ms,
                wake,
            }));
        changed.notify_one();
        Box::pin(async move {
            // A dropped sender only happens when the clock closes; treat it as the deadline.
            let _ = woken.await;
        })
    }
}

impl Drop for TimerClock {
    fn drop(&mut self) {
        let (queue, changed) = &*self.shared;
        queue.lock().unwrap_or_else(|p| p.into_inner()).closed = true;
        changed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_wake_in_order_and_not_early() {
        let clock = TimerClock::start();
        let start = clock.now_ms();
        let (late, soon) = (clock.sleep_until(start + 60), clock.sleep_until(start + 20));
        futures::executor::block_on(soon);
        let woke_soon = clock.now_ms();
        assert!(
            woke_soon >= start + 20,
            "woke at {woke_soon}, deadline {}",
            start + 20
        );
        futures::executor::block_on(late);
        assert!(clock.now_ms() >= start + 60);
        // A deadline already past wakes at once.
        futures::executor::block_on(clock.sleep_until(0));
    }
}
