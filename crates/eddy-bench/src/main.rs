//! eddy's benchmark suite: the same workloads on eddy, tokio and smol, in one
//! process, interleaved, one table.
//!
//! Run it with `cargo xtask bench [--quick] [--filter NAME]`, or directly:
//!
//! ```text
//! cargo run --release -p eddy-bench -- [--quick] [--filter NAME] [--eddy-only | --runtime NAME] [--reps N]
//! ```
//!
//! * Each row is one workload on one flavour (single-threaded, or two worker
//!   threads). Its cells are measured in turn, eddy, tokio, smol, eddy,
//!   tokio, smol..., so that a noisy moment hits every runtime alike; the
//!   table quotes the median and the min–max of the repetitions.
//! * `--filter NAME` keeps the rows whose id (`workload/ct` or
//!   `workload/mt`) contains `NAME`: `--filter spawn` or `--filter
//!   spawn_many/ct`.
//! * `--eddy-only` (or `--runtime tokio`, `--runtime smol`) measures one
//!   runtime's cells only, for profilers.
//! * A full run (no `--quick`, no `--filter`, no `--runtime`) rewrites the
//!   generated part of `docs/BENCHMARKS.md`. Other runs only print.
//! * `--quick` runs a twentieth of each workload once: CI uses it to prove the
//!   suite still runs, never to judge speed.
//! * A row with a precondition (`wrk` on the `PATH` for `http_hello`, enough
//!   file descriptors for `tcp_echo_1000`) that fails prints "n/a" and the
//!   reason in its cells instead of running.
//! * Rows with a floor (`spawn_many`, `yield_many`, `ping_pong`,
//!   `chained_spawn`) also time it in every repetition, after the three
//!   cells: the same counts and shape as the workload, doing only what any
//!   runtime must (an allocation and a queue push and pop per spawn; an
//!   atomic, a push, a pop and an atomic per wake), on the kind of queue
//!   eddy's workers run from (a `VecDeque`, on both flavours). The table
//!   shows its median and eddy's median over it. The floors run in every
//!   mode, `--eddy-only` too: their functions are in `floors`, easy to
//!   tell apart in a profile. See `floors.rs` for what each one counts and
//!   leaves out.
//! * Memory rows and `spawn_many_cold` run in fresh child processes (this
//!   binary with `--child`), so the heaps of earlier workloads neither hide
//!   the growth nor lend memory to the burst. The heap row
//!   reads glibc's totals of chunks in use (`heap`).
// A benchmark measures real time: reading the wall clock is its job, not a
// layering mistake (clippy.toml forbids it in runtime code).
#![allow(clippy::disallowed_methods)]
// `unsafe` only in `heap`: its one call, glibc's `mallinfo2`, is foreign.
#![deny(unsafe_code)]

mod floors;
#[allow(unsafe_code)]
mod heap;
mod net;
mod report;
mod rt;
mod suite;
mod sync;
mod workloads;

use std::process::{Command, ExitCode};

use suite::{Cell, RUNTIMES, Row};
use workloads::Cfg;

/// Command-line options.
#[derive(Debug, Default)]
struct Opts {
    quick: bool,
    filter: Option<String>,
    /// Measure only this runtime's cells (`--eddy-only` is `--runtime eddy`).
    only: Option<String>,
    reps: Option<usize>,
    child: Option<(String, String)>,
}

const USAGE: &str =
    "usage: eddy-bench [--quick] [--filter NAME] [--eddy-only | --runtime NAME] [--reps N]";

fn parse(args: impl IntoIterator<Item = String>) -> Result<Opts, String> {
    let mut o = Opts::default();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => o.quick = true,
            "--eddy-only" => o.only = Some("eddy".into()),
            "--runtime" => {
                let r = it.next().ok_or("--runtime needs a name")?;
                if !RUNTIMES.contains(&r.as_str()) {
                    return Err(format!("unknown runtime `{r}` (eddy, tokio, smol)"));
                }
                o.only = Some(r);
            }
            "--filter" => o.filter = Some(it.next().ok_or("--filter needs a name")?),
            "--reps" => {
                let n = it.next().ok_or("--reps needs a number")?;
                o.reps = Some(n.parse().map_err(|_| format!("bad --reps: {n}"))?);
            }
            "--child" => {
                let id = it.next().ok_or("--child needs a row id")?;
                let rt = it.next().ok_or("--child needs a runtime")?;
                o.child = Some((id, rt));
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    Ok(o)
}

fn main() -> ExitCode {
    let opts = match parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let cfg = Cfg { quick: opts.quick };
    watchdog(if opts.quick { 300 } else { 3600 });
    // tcp_echo_1000 holds ~2,000 sockets; a soft limit of 1,024 is common.
    net::raise_fd_limit();
    let rows = suite::rows();
    if let Some((id, rt)) = &opts.child {
        return run_child(&rows, &cfg, id, rt);
    }
    let selected: Vec<&Row> = rows
        .iter()
        .filter(|r| {
            opts.filter
                .as_ref()
                .is_none_or(|f| r.id().contains(f.as_str()))
        })
        .collect();
    if selected.is_empty() {
        eprintln!("no workload matches the filter");
        return ExitCode::from(2);
    }
    let mut report = report::Report::start(opts.quick);
    for row in selected {
        let line = match row.requires.map_or(Ok(()), |check| check()) {
            Ok(()) => {
                let (results, floor) = measure_row(row, &cfg, &opts);
                report.add(row, results, floor)
            }
            Err(reason) => {
                eprintln!("{} [{}]: skipped: {reason}", row.name, row.flavor.label());
                report.add_skipped(row, &reason)
            }
        };
        println!("{line}");
    }
    let md = report.finish();
    println!("\n{md}");
    if !opts.quick && opts.filter.is_none() && opts.only.is_none() {
        match report::write_doc(&md) {
            Ok(path) => eprintln!("wrote {}", path.display()),
            Err(e) => {
                eprintln!("could not write docs/BENCHMARKS.md: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

/// Ends the process if the run takes far longer than it should: a runtime
/// that loses a wake-up would otherwise hang CI until its time limit. The
/// last progress line on stderr names the row that hung.
fn watchdog(secs: u64) {
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(secs));
        eprintln!("eddy-bench: still running after {secs} s, giving up (a workload hangs?)");
        std::process::exit(3);
    });
}

/// The samples of one runtime's cell; empty when not measured.
pub type Samples = Vec<f64>;

/// Measures a row's cells and its floor (if it has one): each repetition
/// runs eddy, tokio, smol, then the floor, so all four see the same noise.
fn measure_row(row: &Row, cfg: &Cfg, opts: &Opts) -> ([Samples; 3], Samples) {
    let reps = if cfg.quick {
        1
    } else {
        opts.reps.unwrap_or(row.reps)
    };
    // One unrecorded round first, so that no runtime pays alone for the
    // process's first touch of the heap and code; child rows start fresh by
    // design.
    let warmup = usize::from(!cfg.quick && row.child.is_none());
    eprintln!("{} [{}]: {reps} reps", row.name, row.flavor.label());
    let mut samples: [Samples; 3] = Default::default();
    let mut floor = Samples::new();
    for rep in 0..reps + warmup {
        for (i, cell) in row.cells.iter().enumerate() {
            if opts.only.as_ref().is_some_and(|r| r != RUNTIMES[i]) {
                continue;
            }
            let v = match *cell {
                Cell::Run(f) => Some(f(cfg)),
                Cell::Child => Some(spawn_child(row, RUNTIMES[i], cfg)),
            };
            if let Some(v) = v {
                if rep >= warmup {
                    samples[i].push(v);
                }
            }
        }
        if let Some(f) = row.floor {
            let v = f(cfg);
            if rep >= warmup {
                floor.push(v);
            }
        }
    }
    (samples, floor)
}

fn spawn_child(row: &Row, runtime: &str, cfg: &Cfg) -> f64 {
    let exe = std::env::current_exe().expect("own executable");
    let mut cmd = Command::new(exe);
    cmd.args(["--child", &row.id(), runtime]);
    if cfg.quick {
        cmd.arg("--quick");
    }
    let out = cmd.output().expect("run child process");
    let text = String::from_utf8_lossy(&out.stdout);
    match text.trim().parse() {
        Ok(v) if out.status.success() => v,
        _ => panic!(
            "child {} {runtime} failed ({}): {}{}",
            row.id(),
            out.status,
            text,
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

fn run_child(rows: &[Row], cfg: &Cfg, id: &str, runtime: &str) -> ExitCode {
    let row = rows.iter().find(|r| r.id() == id);
    let idx = RUNTIMES.iter().position(|r| *r == runtime);
    match (row.and_then(|r| r.child), idx) {
        (Some(fns), Some(i)) => {
            println!("{}", fns[i](cfg));
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("no child workload {id} for runtime {runtime}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_flags() {
        let o = parse(args("--quick --filter spawn --eddy-only --reps 3")).unwrap();
        assert!(o.quick);
        assert_eq!(o.only.as_deref(), Some("eddy"));
        assert_eq!(
            parse(args("--runtime smol")).unwrap().only.as_deref(),
            Some("smol")
        );
        assert!(parse(args("--runtime node")).is_err());
        assert_eq!(o.filter.as_deref(), Some("spawn"));
        assert_eq!(o.reps, Some(3));
        assert!(parse(args("--reps x")).is_err());
        assert!(parse(args("--bogus")).is_err());
        assert!(parse(args("--filter")).is_err());
    }
}
