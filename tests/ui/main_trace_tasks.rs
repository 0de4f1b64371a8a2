// `trace_tasks = true` gives every task a `tracing` span: the subscriber
// below records the spans named "task" and which span each event is in
// (one thread: the current-thread flavour), and the task's event must be
// in a task span.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

#[derive(Default)]
struct Seen {
    next: AtomicU64,
    task_spans: Mutex<Vec<u64>>,
    entered: Mutex<Vec<u64>>,
    events_in_task_spans: AtomicU64,
    events: AtomicU64,
}

struct Recorder(Arc<Seen>);

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let id = self.0.next.fetch_add(1, Ordering::SeqCst) + 1;
        if attrs.metadata().name() == "task" {
            self.0.task_spans.lock().unwrap().push(id);
        }
        Id::from_u64(id)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {
        self.0.events.fetch_add(1, Ordering::SeqCst);
        let current = self.0.entered.lock().unwrap().last().copied();
        if current.is_some_and(|c| self.0.task_spans.lock().unwrap().contains(&c)) {
            self.0.events_in_task_spans.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn enter(&self, id: &Id) {
        self.0.entered.lock().unwrap().push(id.into_u64());
    }
    fn exit(&self, _: &Id) {
        self.0.entered.lock().unwrap().pop();
    }
}

#[eddy::main(trace_tasks = true)]
async fn main() {
    let seen = Arc::new(Seen::default());
    tracing::subscriber::set_global_default(Recorder(seen.clone())).unwrap();
    // Outside any task's span: the root future is not a spawned task.
    tracing::info!("in main");
    let out = eddy::spawn(async {
        tracing::info!("inside a task");
        7
    })
    .await
    .unwrap();
    assert_eq!(out, 7);
    assert_eq!(seen.task_spans.lock().unwrap().len(), 1, "one span for the one task");
    assert_eq!(seen.events.load(Ordering::SeqCst), 2);
    assert_eq!(
        seen.events_in_task_spans.load(Ordering::SeqCst),
        1,
        "only the task's event is in its span"
    );
}
