//! Async file helpers: whole-file helpers and the File handle.

use std::path::PathBuf;

use eddy_blocking::fs::{self, File};
use futures_lite::future::block_on;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use proptest::prelude::*;

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("eddy-fs-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn whole_file_helpers() {
    let p = temp("whole");
    block_on(async {
        fs::write(&p, vec![1u8, 2, 3]).await.unwrap();
        assert_eq!(fs::read(&p).await.unwrap(), vec![1, 2, 3]);
        assert_eq!(fs::metadata(&p).await.unwrap().len(), 3);
        let err = fs::read_to_string(&p.with_extension("missing"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
        fs::write(&p, [0xffu8, 0xfe]).await.unwrap();
        assert_eq!(
            fs::read_to_string(&p).await.unwrap_err().kind(),
            std::io::ErrorKind::InvalidData
        );
    });
    std::fs::remove_file(&p).unwrap();
}

#[test]
fn large_file_through_the_handle() {
    let p = temp("large");
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    block_on(async {
        let mut f = File::create(&p).await.unwrap();
        f.write_all(&data).await.unwrap();
        f.close().await.unwrap();
        let mut back = Vec::new();
        File::open(&p)
            .await
            .unwrap()
            .read_to_end(&mut back)
            .await
            .unwrap();
        assert_eq!(back, data);
    });
    std::fs::remove_file(&p).unwrap();
}

#[test]
fn dropped_file_still_lands_its_write() {
    let p = temp("dropped");
    block_on(async {
        let mut f = File::create(&p).await.unwrap();
        f.write_all(b"kept").await.unwrap();
        drop(f);
    });
    // The write-behind lands on a pool thread nobody awaits: poll the file,
    // generously (up to 10 s), since a loaded CI machine may be slow.
    let mut ok = false;
    for _ in 0..10_000 {
        if std::fs::read(&p).unwrap() == b"kept" {
            ok = true;
            break;
        }
        #[allow(clippy::disallowed_methods)] // nothing to await: wait for another thread's write
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert!(ok, "the dropped file's write never landed");
    std::fs::remove_file(&p).unwrap();
}

#[test]
fn write_error_surfaces() {
    let p = temp("readonly");
    std::fs::write(&p, b"ro").unwrap();
    block_on(async {
        // Opened read-only: the background write fails with EBADF, and the
        // error comes back from the write itself or from the flush.
        let mut f = File::from_std(std::fs::File::open(&p).unwrap());
        let w = f.write_all(b"x").await;
        let fl = f.flush().await;
        assert!(w.is_err() || fl.is_err());
        // Reported once, then the handle is usable again.
        assert!(f.flush().await.is_ok());
        let mut s = String::new();
        f.read_to_string(&mut s).await.unwrap();
        assert_eq!(s, "ro");
    });
    std::fs::remove_file(&p).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    /// Random interleavings of reads and writes on one handle behave like a
    /// std file doing the same (read-ahead must not move the write position).
    #[test]
    fn handle_matches_std_file(ops in proptest::collection::vec((any::<bool>(), 1usize..300), 1..20), seed in any::<u8>()) {
        let p = temp(&format!("model-{seed}-{}", ops.len()));
        let initial: Vec<u8> = (0..2000u32).map(|i| (i as u8).wrapping_add(seed)).collect();
        std::fs::write(&p, &initial).unwrap();
        let q = p.with_extension("model");
        std::fs::write(&q, &initial).unwrap();
        let mut model = std::fs::OpenOptions::new().read(true).write(true).open(&q).unwrap();
        let (got, want) = block_on(async {
            let std_f = std::fs::OpenOptions::new().read(true).write(true).open(&p).unwrap();
            let mut f = File::from_std(std_f);
            let (mut got, mut want) = (Vec::new(), Vec::new());
            for (i, (is_read, n)) in ops.iter().enumerate() {
                if *is_read {
                    let mut buf = vec![0u8; *n];
                    let k = f.read(&mut buf).await.unwrap();
                    got.push(buf[..k].to_vec());
                    let mut mbuf = vec![0u8; k];
                    std::io::Read::read_exact(&mut model, &mut mbuf).unwrap();
                    want.push(mbuf);
                } else {
                    let data = vec![i as u8; *n];
                    f.write_all(&data).await.unwrap();
                    std::io::Write::write_all(&mut model, &data).unwrap();
                }
            }
            f.flush().await.unwrap();
            (got, want)
        });
        prop_assert_eq!(got, want);
        prop_assert_eq!(std::fs::read(&p).unwrap(), std::fs::read(&q).unwrap());
        std::fs::remove_file(&p).unwrap();
        std::fs::remove_file(&q).unwrap();
    }
}
