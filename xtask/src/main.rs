//! Project automation for eddy, run as `cargo xtask <command>`.
//!
//! * `cargo xtask ci`: everything CI checks, in order, stopping at the first
//!   failure: the layer dependency graph, formatting, clippy with warnings
//!   denied, the whole test suite (with `cargo nextest` when installed, so a
//!   hanging test is killed instead of stalling CI; then the doc tests, under
//!   a 20-minute limit that kills them and everything they started), the
//!   docs with warnings denied, a quick run of the benchmark suite, and a
//!   leak check of every layer under valgrind (when installed).
//! * `cargo xtask deps`: only the dependency-graph check.
//! * `cargo xtask bench [--quick] [--filter NAME] [...]`: the benchmark suite
//!   (`crates/eddy-bench`) in release mode; a full run rewrites the table in
//!   `docs/BENCHMARKS.md`. Extra arguments go to the bench binary.
//!
//! Plain Rust, no shell scripts: the only script in the repository is
//! `.ci/run`, which installs what a fresh machine lacks and calls
//! `cargo xtask ci`.

use std::collections::BTreeMap;
use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

/// Which eddy crates each workspace crate may depend on (normal and build
/// dependencies). Layer crates meet only through `eddy-core`; the facade wires
/// them together. Keep in sync with docs/ARCHITECTURE.md.
const ALLOWED: &[(&str, &[&str])] = &[
    ("eddy-core", &[]),
    ("eddy-reactor", &["eddy-core"]),
    ("eddy-timer", &["eddy-core"]),
    ("eddy-executor", &["eddy-core"]),
    ("eddy-sync", &["eddy-core"]),
    ("eddy-blocking", &["eddy-core"]),
    // Structured concurrency needs timer futures for its timeouts.
    ("eddy-scope", &["eddy-core", "eddy-timer"]),
    // Proc macros only generate calls into the facade; they depend on no layer.
    ("eddy-macros", &[]),
    // Sockets, pipes and signals sit on the reactor; back-off and timeouts
    // sleep on the timer. It reaches an executor and a blocking pool only
    // through hooks the facade installs (eddy_net::hooks), so no executor.
    ("eddy-net", &["eddy-core", "eddy-reactor", "eddy-timer"]),
    // hyper glue: spawns on the executor, sleeps on the timer; I/O comes in
    // as any futures-io stream, so it needs no reactor or facade.
    ("eddy-hyper", &["eddy-executor", "eddy-timer"]),
    ("eddy", &["*"]),
    ("eddy-tests", &["*"]),
    ("eddy-bench", &["*"]),
    ("xtask", &[]),
];

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("deps") => check_deps(),
        Some("bench") => bench(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask <ci|deps|bench [--quick] [--filter NAME]>");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn ci() -> Result<(), String> {
    // Time is not read through a Clock here: xtask is a build tool, not runtime code.
    #[allow(clippy::disallowed_methods)]
    let start = Instant::now();
    step("dependency graph", check_deps)?;
    run("format", &["fmt", "--all", "--", "--check"], &[])?;
    run(
        "clippy",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    if has_nextest() {
        // nextest runs each test in its own process and kills one that hangs
        // (see .config/nextest.toml); it does not run doc tests.
        run(
            "tests",
            &[
                "nextest",
                "run",
                "--workspace",
                "--locked",
                "--profile",
                "ci",
            ],
            &[],
        )?;
        // Doc tests run outside nextest, so nothing else would stop a hung
        // example (one that waits on a reactor nobody drives) before CI's own
        // limit: they take about 1 minute cold here.
        run_limited(
            "doc tests",
            &["test", "--workspace", "--doc", "--locked"],
            DOC_TEST_LIMIT,
        )?;
    } else {
        run("tests", &["test", "--workspace", "--locked"], &[])?;
    }
    run(
        "docs",
        &["doc", "--workspace", "--no-deps", "--locked"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    // Proves the benchmark suite still runs (a twentieth of each workload,
    // about 4 s once built); it asserts correctness, never speed.
    bench(&["--quick".to_string()])?;
    leak_check()?;
    panic_abort_check()?;
    println!("xtask ci: all steps passed in {:.0?}", start.elapsed());
    Ok(())
}

/// Runs the `leakcheck` example (every layer, both flavours) under valgrind
/// and fails on memory that is definitely lost. Skipped, with a message,
/// where valgrind is not installed.
fn leak_check() -> Result<(), String> {
    if Command::new("valgrind").arg("--version").output().is_err() {
        println!("==> leak check: skipped (valgrind is not installed)");
        return Ok(());
    }
    run(
        "leak check: build",
        &[
            "build",
            "--release",
            "--locked",
            "-p",
            "eddy",
            "--example",
            "leakcheck",
        ],
        &[],
    )?;
    step("leak check: valgrind", || {
        let exe = root().join("target/release/examples/leakcheck");
        println!("    $ valgrind --leak-check=full {}", exe.display());
        let status = Command::new("valgrind")
            .args([
                "--leak-check=full",
                "--errors-for-leak-kinds=definite",
                "--error-exitcode=1",
                "--quiet",
            ])
            .arg(&exe)
            .status()
            .map_err(|e| format!("could not run valgrind: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!(
                "valgrind reported definite leaks or errors ({status})"
            ))
        }
    })
}

/// Builds the `panic_abort` example with `panic = "abort"` (the workspace's
/// `abort` profile) and checks what the docs promise for it: eddy works
/// without unwinding (the example exits 0 and prints `ok`), and a panicking
/// task aborts the process (SIGABRT) instead of hanging or being reported.
fn panic_abort_check() -> Result<(), String> {
    use std::os::unix::process::ExitStatusExt;
    run(
        "panic = abort: build",
        &[
            "build",
            "--profile",
            "abort",
            "--locked",
            "-p",
            "eddy",
            "--example",
            "panic_abort",
        ],
        &[],
    )?;
    step("panic = abort: run", || {
        let exe = root().join("target/abort/examples/panic_abort");
        println!("    $ {}", exe.display());
        let out = Command::new(&exe)
            .output()
            .map_err(|e| format!("could not run {}: {e}", exe.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() || stdout.trim() != "ok" {
            return Err(format!(
                "expected `ok` and exit 0, got {} with {stdout:?} and {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        println!("    $ {} panic", exe.display());
        let out = Command::new(&exe)
            .arg("panic")
            .output()
            .map_err(|e| format!("could not run {}: {e}", exe.display()))?;
        // SIGABRT is 6 on every Unix eddy supports.
        if out.status.signal() != Some(6) {
            return Err(format!(
                "a panicking task under panic = abort should abort the process; got {}",
                out.status
            ));
        }
        Ok(())
    })
}

/// Whether `cargo nextest` is installed (it is on the project's machines;
/// plain `cargo test` is the fallback).
fn has_nextest() -> bool {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    Command::new(cargo)
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs the benchmark suite in release mode, passing `args` through.
fn bench(args: &[String]) -> Result<(), String> {
    let mut cargo_args = vec!["run", "--release", "--locked", "-p", "eddy-bench", "--"];
    cargo_args.extend(args.iter().map(String::as_str));
    run("bench", &cargo_args, &[])
}

fn step(name: &str, f: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    println!("==> {name}");
    f().map_err(|e| format!("step '{name}' failed: {e}"))
}

/// Wall-clock limit for the doc-test step (compiling included).
const DOC_TEST_LIMIT: std::time::Duration = std::time::Duration::from_secs(20 * 60);

fn run(name: &str, args: &[&str], envs: &[(&str, &str)]) -> Result<(), String> {
    run_cargo(name, args, envs, None)
}

/// Like [`run`], but kills cargo and everything it started (its own process
/// group) if it is still running after `limit`.
fn run_limited(name: &str, args: &[&str], limit: std::time::Duration) -> Result<(), String> {
    run_cargo(name, args, &[], Some(limit))
}

fn run_cargo(
    name: &str,
    args: &[&str],
    envs: &[(&str, &str)],
    limit: Option<std::time::Duration>,
) -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    step(name, || {
        let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        match limit {
            Some(l) => println!("    $ cargo {} (limit {} s)", args.join(" "), l.as_secs()),
            None => println!("    $ cargo {}", args.join(" ")),
        }
        let mut cmd = Command::new(cargo);
        cmd.args(args)
            .envs(envs.iter().copied())
            .current_dir(root());
        if limit.is_some() {
            // Its own group, so a kill reaches the test binaries it started.
            // (Only then: a terminal's Ctrl-C goes to the foreground group.)
            cmd.process_group(0);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("could not run cargo: {e}"))?;
        let status = match limit {
            None => child.wait().map_err(|e| e.to_string())?,
            Some(limit) => wait_at_most(&mut child, limit)?,
        };
        if status.success() {
            Ok(())
        } else {
            Err(format!("cargo exited with {status}"))
        }
    })
}

/// Waits for `child`; after `limit`, kills its process group and fails.
fn wait_at_most(
    child: &mut std::process::Child,
    limit: std::time::Duration,
) -> Result<std::process::ExitStatus, String> {
    // xtask is not runtime code: a wall clock and a polling sleep are what a
    // time limit needs.
    #[allow(clippy::disallowed_methods)]
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok(status);
        }
        if start.elapsed() > limit {
            let group = format!("-{}", child.id());
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = child.wait();
            return Err(format!(
                "still running after {} s (a hung doc test?); killed",
                limit.as_secs()
            ));
        }
        #[allow(clippy::disallowed_methods)]
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// Fails if a workspace crate depends on an eddy crate the layer rules forbid,
/// or if a crate is missing from the rules (new crates must be placed in the
/// graph on purpose).
fn check_deps() -> Result<(), String> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(root())
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata output: {e}"))?;
    let rules: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut problems = Vec::new();
    let packages = meta["packages"]
        .as_array()
        .ok_or("cargo metadata: no packages")?;
    for pkg in packages {
        let name = pkg["name"].as_str().unwrap_or_default();
        let Some(allowed) = rules.get(name) else {
            problems.push(format!(
                "crate `{name}` is not in xtask's layer rules: add it to ALLOWED and to docs/ARCHITECTURE.md"
            ));
            continue;
        };
        for dep in pkg["dependencies"].as_array().into_iter().flatten() {
            let dep_name = dep["name"].as_str().unwrap_or_default();
            let kind = dep["kind"].as_str();
            // Dev-dependencies may reach further (tests may run a layer on the
            // real runtime); they do not shape the library graph.
            if kind == Some("dev") || !(dep_name == "eddy" || dep_name.starts_with("eddy-")) {
                continue;
            }
            if !(allowed.contains(&"*") || allowed.contains(&dep_name)) {
                problems.push(format!("forbidden edge: {name} -> {dep_name}"));
            }
        }
    }
    if problems.is_empty() {
        println!("    layer graph ok ({} crates)", packages.len());
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}
