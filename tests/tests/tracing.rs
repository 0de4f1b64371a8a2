//! The `tracing` feature: debug-mode reports arrive as `tracing` events with
//! the report kind and the task's id and name. One test in this binary, as
//! it installs the process-wide subscriber.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

type Fields = BTreeMap<String, String>;

/// Records every event's level, target and fields.
struct Recorder(Arc<Mutex<Vec<(Level, String, Fields)>>>);

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
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::new();
        event.record(&mut Collect(&mut fields));
        let meta = event.metadata();
        self.0
            .lock()
            .unwrap()
            .push((*meta.level(), meta.target().to_string(), fields));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn debug_reports_are_tracing_events_with_task_fields() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    tracing::subscriber::set_global_default(Recorder(seen.clone())).unwrap();

    // No `on_debug_event`: the default reporter is the tracing one.
    let rt = eddy::Builder::current_thread()
        .debug(true)
        .slow_poll_threshold(Duration::from_millis(5))
        .build()
        .unwrap();
    rt.block_on(async {
        eddy::TaskBuilder::new()
            .name("slow-one")
            .spawn(async {
                // The pitfall on purpose: a poll that blocks.
                #[allow(clippy::disallowed_methods)]
                std::thread::sleep(Duration::from_millis(20));
            })
            .await
            .unwrap();
        // A panic nobody looks at.
        drop(
            eddy::TaskBuilder::new()
                .name("lost")
                .spawn(async { panic!("nobody saw this") }),
        );
        for _ in 0..3 {
            eddy::yield_now().await;
        }
    });
    drop(rt);

    let seen = seen.lock().unwrap();
    let debug: Vec<_> = seen
        .iter()
        .filter(|(_, target, _)| target == "eddy::debug")
        .collect();
    let slow = debug
        .iter()
        .find(|(_, _, f)| f.get("kind").map(String::as_str) == Some("slow_poll"))
        .unwrap_or_else(|| panic!("no slow_poll event in {debug:#?}"));
    assert_eq!(slow.0, Level::WARN);
    assert_eq!(
        slow.2.get("task.name").map(String::as_str),
        Some("slow-one")
    );
    assert!(slow.2.contains_key("task.id"));
    assert!(slow.2["message"].contains("slow poll"));
    let lost = debug
        .iter()
        .find(|(_, _, f)| f.get("kind").map(String::as_str) == Some("lost_result"))
        .unwrap_or_else(|| panic!("no lost_result event in {debug:#?}"));
    assert_eq!(lost.2.get("task.name").map(String::as_str), Some("lost"));
    assert!(lost.2["message"].contains("nobody saw this"));
}
