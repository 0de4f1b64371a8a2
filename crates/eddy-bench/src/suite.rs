//! The table of rows (workload × flavour) and which function measures each
//! runtime's cell. Every cell runs the runtime's own implementation.

use crate::floors;
use crate::net::*;
use crate::rt::{EddyCt, EddyMt, Flavor, SmolCt, SmolMt, TokioCt, TokioMt};
use crate::sync::{EddyBlocking, EddySync, SmolBlocking, SmolSync, TokioBlocking, TokioSync};
use crate::workloads::*;

/// Measures one cell once, returning the value in the row's unit.
pub type Measure = fn(&Cfg) -> f64;

/// A row's precondition (a tool installed, enough file descriptors):
/// `Err(reason)` skips the row, and the table says why.
pub type Requires = fn() -> Result<(), String>;

/// How one runtime's cell of a row is produced.
#[derive(Clone, Copy)]
pub enum Cell {
    /// Measured with the runtime's own implementation.
    Run(Measure),
    /// Measured in a fresh child process (memory rows): the child runs
    /// `--child <row id> <runtime>` and prints the value.
    Child,
}

/// The runtimes, in table order.
pub const RUNTIMES: [&str; 3] = ["eddy", "tokio", "smol"];

/// One line of the table.
pub struct Row {
    /// Workload name (what `--filter` matches).
    pub name: &'static str,
    /// Flavour of all three runtimes in this row.
    pub flavor: Flavor,
    /// Unit of the values.
    pub unit: &'static str,
    /// What the peers' implementations are, when that is not just "the
    /// runtime" (sync and blocking rows).
    pub peers: Option<&'static str>,
    /// The row's floor (see [`crate::floors`]): the work any runtime must
    /// do for it, measured without a runtime in the same run.
    pub floor: Option<Measure>,
    /// Measurements per cell in a full run (quick runs do one).
    pub reps: usize,
    /// eddy, tokio, smol.
    pub cells: [Cell; 3],
    /// For child-process rows: the in-process measurement per runtime.
    pub child: Option<[Measure; 3]>,
    /// Checked before the row runs; an error skips it.
    pub requires: Option<Requires>,
    /// For time-per-operation rows that people read as a rate: what
    /// `1e6 / value` counts per second (the unit is then µs/operation).
    pub rate: Option<&'static str>,
}

impl Row {
    /// `name/flavour`, unique across the table (the child-process key).
    pub fn id(&self) -> String {
        let f = match self.flavor {
            Flavor::Current => "ct",
            Flavor::Multi => "mt",
        };
        format!("{}/{f}", self.name)
    }
}

struct Spec {
    name: &'static str,
    unit: &'static str,
    reps: usize,
    /// The floor of both flavours' rows: eddy runs both from a `VecDeque`
    /// (see `floors`), so the work any runtime must do is the same.
    floor: Option<Measure>,
    peers: Option<&'static str>,
    requires: Option<Requires>,
    rate: Option<&'static str>,
}

const fn spec(name: &'static str, unit: &'static str, reps: usize) -> Spec {
    Spec {
        name,
        unit,
        reps,
        floor: None,
        peers: None,
        requires: None,
        rate: None,
    }
}

impl Spec {
    const fn floor(mut self, f: Measure) -> Spec {
        self.floor = Some(f);
        self
    }

    const fn peers(mut self, p: &'static str) -> Spec {
        self.peers = Some(p);
        self
    }

    const fn requires(mut self, r: Requires) -> Spec {
        self.requires = Some(r);
        self
    }

    const fn rate(mut self, what: &'static str) -> Spec {
        self.rate = Some(what);
        self
    }

    fn row(&self, flavor: Flavor, cells: [Cell; 3]) -> Row {
        Row {
            name: self.name,
            flavor,
            unit: self.unit,
            peers: self.peers,
            floor: self.floor,
            reps: self.reps,
            cells,
            child: None,
            requires: self.requires,
            rate: self.rate,
        }
    }
}

/// Pushes the single-threaded and multi-threaded rows of a workload that is
/// generic over the runtime only.
macro_rules! rt_rows {
    ($out:ident, $spec:expr, $f:ident) => {{
        let s = $spec;
        $out.push(s.row(
            Flavor::Current,
            [
                Cell::Run($f::<EddyCt>),
                Cell::Run($f::<TokioCt>),
                Cell::Run($f::<SmolCt>),
            ],
        ));
        $out.push(s.row(
            Flavor::Multi,
            [
                Cell::Run($f::<EddyMt>),
                Cell::Run($f::<TokioMt>),
                Cell::Run($f::<SmolMt>),
            ],
        ));
    }};
}

/// Same for workloads over a runtime and a sync family.
macro_rules! sync_rows {
    ($out:ident, $spec:expr, $f:ident, $eddy_ct:expr, $eddy_mt:expr) => {{
        let s = $spec;
        $out.push(s.row(
            Flavor::Current,
            [
                $eddy_ct,
                Cell::Run($f::<TokioCt, TokioSync>),
                Cell::Run($f::<SmolCt, SmolSync>),
            ],
        ));
        $out.push(s.row(
            Flavor::Multi,
            [
                $eddy_mt,
                Cell::Run($f::<TokioMt, TokioSync>),
                Cell::Run($f::<SmolMt, SmolSync>),
            ],
        ));
    }};
}

/// Same for workloads over a runtime and a blocking pool.
macro_rules! blocking_rows {
    ($out:ident, $spec:expr, $f:ident, $eddy_ct:expr, $eddy_mt:expr) => {{
        let s = $spec;
        $out.push(s.row(
            Flavor::Current,
            [
                $eddy_ct,
                Cell::Run($f::<TokioCt, TokioBlocking>),
                Cell::Run($f::<SmolCt, SmolBlocking>),
            ],
        ));
        $out.push(s.row(
            Flavor::Multi,
            [
                $eddy_mt,
                Cell::Run($f::<TokioMt, TokioBlocking>),
                Cell::Run($f::<SmolMt, SmolBlocking>),
            ],
        ));
    }};
}

/// A row per flavour whose every cell runs in a fresh child process (see
/// `main`): memory rows, and spawn_many as a new program's first burst.
macro_rules! child_rows {
    ($out:ident, $spec:expr, $f:ident) => {{
        let s = $spec;
        for flavor in [Flavor::Current, Flavor::Multi] {
            let mut row = s.row(flavor, [Cell::Child, Cell::Child, Cell::Child]);
            row.child = Some(match flavor {
                Flavor::Current => [$f::<EddyCt>, $f::<TokioCt>, $f::<SmolCt>],
                Flavor::Multi => [$f::<EddyMt>, $f::<TokioMt>, $f::<SmolMt>],
            });
            $out.push(row);
        }
    }};
}

/// Every row of the table, in order.
pub fn rows() -> Vec<Row> {
    let mut out = Vec::new();
    rt_rows!(
        out,
        spec("spawn_many", "ns/task", 11).floor(floors::spawn_many),
        spawn_many
    );
    rt_rows!(
        out,
        spec("spawn_many_block_on", "ns/task", 11).floor(floors::spawn_many),
        spawn_many_block_on
    );
    rt_rows!(
        out,
        spec("spawn_many_detached", "ns/task", 11),
        spawn_many_detached
    );
    rt_rows!(
        out,
        spec("spawn_many_warm", "ns/task", 11).floor(floors::spawn_many),
        spawn_many_warm
    );
    child_rows!(out, spec("spawn_many_cold", "ns/task", 7), spawn_many);
    rt_rows!(
        out,
        spec("spawn_many_faults", "page faults/1k tasks", 5),
        spawn_many_faults
    );
    rt_rows!(
        out,
        spec("yield_many", "ns/yield", 11).floor(floors::yield_many),
        yield_many
    );
    sync_rows!(
        out,
        spec("ping_pong", "ns/msg", 9).floor(floors::ping_pong),
        ping_pong,
        Cell::Run(ping_pong::<EddyCt, EddySync>),
        Cell::Run(ping_pong::<EddyMt, EddySync>)
    );
    rt_rows!(
        out,
        spec("chained_spawn", "ns/task", 11).floor(floors::chained_spawn),
        chained_spawn
    );
    rt_rows!(
        out,
        spec("timer_sleep", "wall ms (ideal 50)", 7),
        timer_sleep
    );
    rt_rows!(
        out,
        spec("timer_sleep_in_task", "wall ms (ideal 50)", 7),
        timer_sleep_in_task
    );
    rt_rows!(out, spec("timer_cancel", "ns/timer", 9), timer_cancel);
    rt_rows!(
        out,
        spec("tcp_echo_1", "µs/round trip", 5).rate("round trips/s"),
        tcp_echo_1
    );
    rt_rows!(
        out,
        spec("tcp_echo", "µs/round trip", 5).rate("round trips/s"),
        tcp_echo
    );
    rt_rows!(
        out,
        spec("tcp_echo_1000", "µs/round trip", 5)
            .rate("round trips/s")
            .requires(enough_fds),
        tcp_echo_1000
    );
    rt_rows!(
        out,
        spec("http_hello", "µs/request (wrk)", 3)
            .rate("requests/s")
            .requires(wrk_installed),
        http_hello
    );
    rt_rows!(
        out,
        spec("hyper_hello", "µs/request (wrk)", 3)
            .rate("requests/s")
            .peers("hyper 1.x on each: eddy::hyper / hyper-util TokioIo / futures-io adapter")
            .requires(wrk_installed),
        hyper_hello
    );
    blocking_rows!(
        out,
        spec("blocking_seq", "µs/job", 7).peers("spawn_blocking / blocking::unblock"),
        blocking_seq,
        Cell::Run(blocking_seq::<EddyCt, EddyBlocking>),
        Cell::Run(blocking_seq::<EddyMt, EddyBlocking>)
    );
    blocking_rows!(
        out,
        spec("blocking_batch", "µs/job", 7).peers("spawn_blocking / blocking::unblock"),
        blocking_batch,
        Cell::Run(blocking_batch::<EddyCt, EddyBlocking>),
        Cell::Run(blocking_batch::<EddyMt, EddyBlocking>)
    );
    child_rows!(
        out,
        spec("idle_task_memory", "bytes/task (RSS)", 3),
        idle_task_bytes
    );
    child_rows!(
        out,
        spec("idle_task_heap", "bytes/task (heap)", 3),
        idle_task_heap_bytes
    );
    const SYNC_PEERS: &str = "tokio::sync / async-lock, async-channel";
    sync_rows!(
        out,
        spec("mutex_uncontended", "ns/lock", 7).peers(SYNC_PEERS),
        mutex_uncontended,
        Cell::Run(mutex_uncontended::<EddyCt, EddySync>),
        Cell::Run(mutex_uncontended::<EddyMt, EddySync>)
    );
    sync_rows!(
        out,
        spec("mutex_contended", "ns/lock (+yield)", 7).peers(SYNC_PEERS),
        mutex_contended,
        Cell::Run(mutex_contended::<EddyCt, EddySync>),
        Cell::Run(mutex_contended::<EddyMt, EddySync>)
    );
    sync_rows!(
        out,
        spec("semaphore_uncontended", "ns/acquire", 7).peers(SYNC_PEERS),
        semaphore_uncontended,
        Cell::Run(semaphore_uncontended::<EddyCt, EddySync>),
        Cell::Run(semaphore_uncontended::<EddyMt, EddySync>)
    );
    sync_rows!(
        out,
        spec("semaphore_contended", "ns/acquire (+yield)", 7).peers(SYNC_PEERS),
        semaphore_contended,
        Cell::Run(semaphore_contended::<EddyCt, EddySync>),
        Cell::Run(semaphore_contended::<EddyMt, EddySync>)
    );
    sync_rows!(
        out,
        spec("mpsc", "ns/msg", 7).peers(SYNC_PEERS),
        mpsc,
        Cell::Run(mpsc::<EddyCt, EddySync>),
        Cell::Run(mpsc::<EddyMt, EddySync>)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_ids_are_unique() {
        let rows = rows();
        let mut ids: Vec<String> = rows.iter().map(Row::id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), rows.len());
    }

    #[test]
    fn quick_counts_are_a_fraction() {
        let c = Cfg { quick: true };
        assert_eq!(c.n(100_000), 5000);
        assert_eq!(c.n(10), 1);
        assert_eq!(Cfg { quick: false }.n(7), 7);
    }
}
