//! `Builder::trace_tasks`: one `tracing` span per task, entered for each
//! poll, closed when the task ends; on both flavours. One test in this
//! binary, as it installs the process-wide subscriber.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

type Fields = BTreeMap<String, String>;

#[derive(Default)]
struct SpanRecord {
    name: &'static str,
    fields: Fields,
    refs: u64,
    enters: u64,
}

#[derive(Default)]
struct Seen {
    spans: HashMap<u64, SpanRecord>,
    /// (message, the span the emitting thread was in)
    events: Vec<(String, Option<u64>)>,
}

struct Recorder {
    next: AtomicU64,
    seen: Arc<Mutex<Seen>>,
}

thread_local! {
    static CURRENT: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

struct Collect<'a>(&'a mut Fields);

impl Visit for Collect<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut fields = Fields::new();
        attrs.record(&mut Collect(&mut fields));
        self.seen.lock().unwrap().spans.insert(
            id,
            SpanRecord {
                name: attrs.metadata().name(),
                fields,
                refs: 1,
                enters: 0,
            },
        );
        Id::from_u64(id)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::new();
        event.record(&mut Collect(&mut fields));
        let current = CURRENT.with(|c| c.borrow().last().copied());
        let message = fields.remove("message").unwrap_or_default();
        self.seen.lock().unwrap().events.push((message, current));
    }
    fn enter(&self, id: &Id) {
        CURRENT.with(|c| c.borrow_mut().push(id.into_u64()));
        if let Some(s) = self.seen.lock().unwrap().spans.get_mut(&id.into_u64()) {
            s.enters += 1;
        }
    }
    fn exit(&self, id: &Id) {
        CURRENT.with(|c| {
            let popped = c.borrow_mut().pop();
            assert_eq!(popped, Some(id.into_u64()), "spans exited out of order");
        });
    }
    fn clone_span(&self, id: &Id) -> Id {
        if let Some(s) = self.seen.lock().unwrap().spans.get_mut(&id.into_u64()) {
            s.refs += 1;
        }
        id.clone()
    }
    fn try_close(&self, id: Id) -> bool {
        let mut seen = self.seen.lock().unwrap();
        let s = seen
            .spans
            .get_mut(&id.into_u64())
            .expect("closing an unknown span");
        s.refs -= 1;
        s.refs == 0
    }
}

/// Runs a named task that logs, yields and logs again, plus a hundred
/// quick tasks, on a runtime built by `builder`; then waits (a bounded
/// while) for every task span to close while the runtime still lives:
/// ended tasks must not keep their spans until shutdown.
fn run(builder: eddy::Builder, seen: &Mutex<Seen>) {
    let rt = builder.build().unwrap();
    rt.block_on(async {
        let worker = eddy::TaskBuilder::new().name("worker").spawn(async {
            tracing::info!("first poll");
            eddy::yield_now().await;
            tracing::info!("second poll");
        });
        let quick: Vec<_> = (0..100).map(|i| eddy::spawn(async move { i })).collect();
        worker.await.unwrap();
        for t in quick {
            t.await.unwrap();
        }
        // A task ends (and its span closes) just after its awaiter wakes,
        // on the worker that ran it.
        for _ in 0..500 {
            let open = seen
                .lock()
                .unwrap()
                .spans
                .values()
                .any(|s| s.name == "task" && s.refs > 0);
            if !open {
                break;
            }
            eddy::sleep(std::time::Duration::from_millis(10)).await;
        }
        let seen = seen.lock().unwrap();
        for (id, s) in &seen.spans {
            assert!(
                s.name != "task" || s.refs == 0,
                "span {id} of an ended task is still open"
            );
        }
    });
}

#[test]
fn each_task_has_a_span_entered_for_each_poll_and_closed_at_its_end() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    tracing::subscriber::set_global_default(Recorder {
        next: AtomicU64::new(0),
        seen: seen.clone(),
    })
    .unwrap();

    // Off by default: no task spans at all.
    run(eddy::Builder::current_thread(), &seen);
    {
        let seen = seen.lock().unwrap();
        assert!(seen.spans.values().all(|s| s.name != "task"));
        assert!(seen.events.iter().all(|(_, span)| span.is_none()));
    }

    for builder in [
        eddy::Builder::current_thread().trace_tasks(true),
        eddy::Builder::multi_thread()
            .worker_threads(2)
            .trace_tasks(true),
    ] {
        *seen.lock().unwrap() = Seen::default();
        run(builder, &seen);
        let seen = seen.lock().unwrap();
        let tasks: Vec<_> = seen
            .spans
            .iter()
            .filter(|(_, s)| s.name == "task")
            .collect();
        assert_eq!(tasks.len(), 101, "one span per task");
        let &(&worker, record) = tasks
            .iter()
            .find(|(_, s)| s.fields.get("task.name").map(String::as_str) == Some("worker"))
            .expect("the named task's span");
        assert!(record.fields.contains_key("task.id"));
        assert!(record.fields["spawn.location"].contains("tracing_spans.rs"));
        assert!(
            record.enters >= 2,
            "entered for each poll: {}",
            record.enters
        );
        for msg in ["first poll", "second poll"] {
            let (_, span) = seen
                .events
                .iter()
                .find(|(m, _)| m == msg)
                .unwrap_or_else(|| panic!("no event {msg:?}"));
            assert_eq!(*span, Some(worker), "{msg:?} is inside the task's span");
        }
    }
}
