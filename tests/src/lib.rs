//! Cross-crate integration tests live in `tests/tests/`; this library holds
//! the helpers more than one of them needs (descriptor counts and limits
//! for the fault tests).

use std::io;

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// How many file descriptors this process has open (`/proc/self/fd`).
///
/// # Panics
///
/// If `/proc/self/fd` cannot be read: a leak check that silently counted
/// nothing could not fail.
///
/// ```
/// let before = eddy_tests::open_fds();
/// let f = std::fs::File::open("/proc/self/stat").unwrap();
/// assert_eq!(eddy_tests::open_fds(), before + 1);
/// drop(f);
/// assert_eq!(eddy_tests::open_fds(), before);
/// ```
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .count()
}

/// The soft and hard limits on open descriptors (`RLIMIT_NOFILE`); `None`
/// is unlimited.
///
/// ```
/// let (soft, hard) = eddy_tests::fd_limit();
/// if let (Some(s), Some(h)) = (soft, hard) {
///     assert!(s <= h);
/// }
/// ```
pub fn fd_limit() -> (Option<u64>, Option<u64>) {
    let l = getrlimit(Resource::Nofile);
    (l.current, l.maximum)
}

/// Sets the soft limit on open descriptors (the hard one stays), as
/// `ulimit -n` does; `None` is unlimited.
///
/// # Errors
///
/// The kernel's, e.g. `EINVAL` for a soft limit above the hard one.
///
/// ```
/// let (soft, _) = eddy_tests::fd_limit();
/// eddy_tests::set_soft_fd_limit(soft).unwrap(); // no change
/// assert_eq!(eddy_tests::fd_limit().0, soft);
/// ```
pub fn set_soft_fd_limit(soft: Option<u64>) -> io::Result<()> {
    let (_, hard) = fd_limit();
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: soft,
            maximum: hard,
        },
    )
    .map_err(io::Error::from)
}
