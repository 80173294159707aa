//! Live progress from the worker boundary. The coordinator forwards a parallel run's events only
//! when every lane has finished, so the pool reports each test as it starts and ends; the
//! authoritative results and reports still come from the coordinator's run.

#[derive(Clone, Debug)]
pub enum LiveEvent {
    Started {
        test_id: String,
        attempt: u32,
    },
    Finished {
        test_id: String,
        attempt: u32,
        /// RunMat's terminal disposition: passed, failed, timed_out, cancelled, crashed.
        disposition: String,
        duration_ms: f64,
    },
}

pub trait LiveSink: Send + Sync {
    fn event(&self, event: LiveEvent);
}
