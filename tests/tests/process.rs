//! eddy::process end to end: pipes, exit statuses, kill, cancellation and
//! reaping (no zombies), on both runtime flavours.

// Tests measure real time with generous bounds (never tight assertions).
#![allow(clippy::disallowed_methods)]

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use eddy::process::{Command, Stdio};
use futures_lite::{AsyncReadExt, AsyncWriteExt, future};

async fn within<T>(secs: u64, fut: impl std::future::Future<Output = T>) -> T {
    future::or(fut, async {
        eddy::sleep(Duration::from_secs(secs)).await;
        panic!("timed out after {secs}s");
    })
    .await
}

/// Whether `pid` is a zombie (exited, not reaped) right now.
fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.starts_with('Z')))
        .unwrap_or(false)
}

/// Waits (bounded) until `pid` is gone from the process table; fails if it
/// stays a zombie.
fn assert_reaped(pid: u32) {
    if std::fs::metadata("/proc/self").is_err() {
        println!("SKIPPED reaping check: no /proc");
        return;
    }
    let start = Instant::now();
    while std::fs::metadata(format!("/proc/{pid}")).is_ok() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "child {pid} was not reaped (zombie: {})",
            is_zombie(pid)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn pipes_carry_a_megabyte_both_ways() {
    eddy::run(within(30, async {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        // More than a pipe holds: writing and reading must interleave.
        let writer = async {
            stdin.write_all(&data).await?;
            drop(stdin);
            Ok::<_, io::Error>(())
        };
        let reader = async {
            let mut out = Vec::new();
            stdout.read_to_end(&mut out).await?;
            Ok::<_, io::Error>(out)
        };
        let (w, r) = future::zip(writer, reader).await;
        w.unwrap();
        assert!(r.unwrap() == data);
        assert!(child.wait().await.unwrap().success());
    }));
}

#[test]
fn output_status_and_errors() {
    eddy::run(within(30, async {
        let out = Command::new("sh")
            .args(["-c", "echo to-out; echo to-err >&2; exit 5"])
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(5));
        assert_eq!(out.stdout, b"to-out\n");
        assert_eq!(out.stderr, b"to-err\n");

        let status = Command::new("true").status().await.unwrap();
        assert!(status.success());

        let err = Command::new("/definitely/not/a/program")
            .spawn()
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }));
}

#[test]
fn kill_and_signals() {
    eddy::run(within(30, async {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        assert!(child.try_wait().unwrap().is_none());
        child.kill().unwrap();
        let status = child.wait().await.unwrap();
        assert_eq!(status.signal(), Some(9));
        // Reaped: no id any more, and killing again is a no-op.
        assert_eq!(child.id(), None);
        child.kill().unwrap();

        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        child
            .send_signal(eddy::signal::SignalKind::TERMINATE)
            .unwrap();
        assert_eq!(child.wait().await.unwrap().signal(), Some(15));
    }));
}

#[test]
fn cancelled_wait_leaks_nothing() {
    eddy::run(within(30, async {
        let mut child = Command::new("sleep").arg("0.3").spawn().unwrap();
        let pid = child.id().unwrap();
        // A wait cut short by a timeout...
        let early = future::or(async { Some(child.wait().await) }, async {
            eddy::sleep(Duration::from_millis(20)).await;
            None
        })
        .await;
        assert!(early.is_none());
        // ...leaves the child waitable.
        assert!(child.wait().await.unwrap().success());
        assert_reaped(pid);
    }));
}

#[test]
fn dropped_children_are_reaped_in_the_background() {
    let rt = eddy::Builder::current_thread().build().unwrap();
    let (pid_running, pid_killed) = rt.block_on(within(30, async {
        // Still running when dropped: reaped by a background task on exit.
        let child = Command::new("sleep").arg("0.1").spawn().unwrap();
        let a = child.id().unwrap();
        drop(child);
        // kill_on_drop: killed, then reaped.
        let child = Command::new("sleep")
            .arg("30")
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let b = child.id().unwrap();
        drop(child);
        // Give the background reapers time to run on this loop.
        eddy::sleep(Duration::from_millis(400)).await;
        (a, b)
    }));
    assert_reaped(pid_running);
    assert_reaped(pid_killed);

    // Dropped after its runtime is gone: a thread reaps it.
    let child = rt.block_on(async { Command::new("sleep").arg("0.1").spawn().unwrap() });
    let pid = child.id().unwrap();
    drop(rt);
    drop(child);
    assert_reaped(pid);

    // Runtime shut down while a reaper task still waits: the task's drop
    // hands the child to a thread.
    let rt = eddy::Builder::current_thread().build().unwrap();
    let pid = rt.block_on(async {
        let child = Command::new("sleep").arg("0.2").spawn().unwrap();
        let pid = child.id().unwrap();
        drop(child);
        pid
    });
    drop(rt);
    assert_reaped(pid);
}

#[test]
fn many_children_on_a_multi_threaded_runtime() {
    let rt = eddy::Builder::multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(within(60, async {
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                eddy::spawn(async move {
                    let out = Command::new("sh")
                        .args(["-c", &format!("sleep 0.0{}; echo {i}; exit {i}", i % 5)])
                        .output()
                        .await
                        .unwrap();
                    (i, out)
                })
            })
            .collect();
        for t in tasks {
            let (i, out) = t.await.unwrap();
            assert_eq!(out.status.code(), Some(i));
            assert_eq!(out.stdout, format!("{i}\n").as_bytes());
        }
    }));
}

#[test]
fn spawn_outside_a_runtime_is_an_error_not_a_leak() {
    let err = Command::new("true").spawn().unwrap_err();
    let inner = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<eddy::io::ReactorError>());
    assert_eq!(inner, Some(&eddy::io::ReactorError::NoReactor), "{err}");
}
