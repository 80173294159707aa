//! Live output. RunMat's console forwarder is process-wide and runs on the thread that produced
//! the output, so each session thread registers its own sink in a thread-local and one shared
//! forwarder routes every entry to the sink of the thread it was produced on.

use std::cell::RefCell;
use std::sync::{Arc, Once};

use runmat_runtime::console::{install_forwarder, ConsoleEntry, ConsoleStream};

use crate::report::{StreamEntry, StreamKind};

pub type OutputSink = Box<dyn Fn(StreamEntry) + Send>;

thread_local! {
    static SINK: RefCell<Option<OutputSink>> = const { RefCell::new(None) };
}

static FORWARDER: Once = Once::new();

pub fn stream_kind(stream: ConsoleStream) -> StreamKind {
    match stream {
        ConsoleStream::Stdout => StreamKind::Stdout,
        ConsoleStream::Stderr => StreamKind::Stderr,
        ConsoleStream::ClearScreen => StreamKind::Clear,
    }
}

fn forward(entry: &ConsoleEntry) {
    SINK.with(|sink| {
        if let Some(sink) = sink.borrow().as_ref() {
            sink(StreamEntry {
                stream: stream_kind(entry.stream),
                text: entry.text.clone(),
                timestamp_ms: entry.timestamp_ms,
            });
        }
    });
}

/// Routes this thread's console output to `sink` until the returned guard drops.
pub fn route_output(sink: OutputSink) -> SinkGuard {
    FORWARDER.call_once(|| install_forwarder(Some(Arc::new(forward))));
    SINK.with(|slot| *slot.borrow_mut() = Some(sink));
    SinkGuard
}

/// Emits an entry to this thread's sink directly (for host-side output such as input prompts).
pub fn emit(entry: StreamEntry) {
    SINK.with(|sink| {
        if let Some(sink) = sink.borrow().as_ref() {
            sink(entry);
        }
    });
}

pub struct SinkGuard;

impl Drop for SinkGuard {
    fn drop(&mut self) {
        SINK.with(|slot| *slot.borrow_mut() = None);
    }
}

pub fn stream_kind_of(kind: runmat_core::ExecutionStreamKind) -> StreamKind {
    match kind {
        runmat_core::ExecutionStreamKind::Stdout => StreamKind::Stdout,
        runmat_core::ExecutionStreamKind::Stderr => StreamKind::Stderr,
        runmat_core::ExecutionStreamKind::ClearScreen => StreamKind::Clear,
    }
}
