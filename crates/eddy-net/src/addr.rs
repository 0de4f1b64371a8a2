//! Socket addresses and name resolution off the event loop.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::sync::{Arc, Mutex};

mod sealed {
    use std::io;
    use std::net::SocketAddr;

    /// What an address turns into before any waiting: addresses known
    /// already, or a `host:port` string that needs a resolver.
    pub enum Addrs {
        Ready(Vec<SocketAddr>),
        Lookup(String),
        Invalid(io::Error),
    }

    pub trait Sealed {
        fn addrs(&self) -> Addrs;
    }
}

use sealed::{Addrs, Sealed};

/// Something that names one or more socket addresses: a [`SocketAddr`],
/// `(IpAddr, u16)`, `(&str, u16)`, a `"host:port"` string, or a slice of
/// addresses. Like `std::net::ToSocketAddrs`, but host names are resolved
/// without blocking the event loop.
///
/// Sealed: it cannot be implemented outside eddy.
///
/// # Example
///
/// ```
/// use eddy_net::lookup_host;
/// use std::net::{Ipv4Addr, SocketAddr};
///
/// eddy::run(async {
///     let want: SocketAddr = "127.0.0.1:80".parse().unwrap();
///     assert_eq!(lookup_host("127.0.0.1:80").await?, [want]);
///     assert_eq!(lookup_host((Ipv4Addr::LOCALHOST, 80)).await?, [want]);
///     assert_eq!(lookup_host(want).await?, [want]);
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait ToSocketAddrs: Sealed {}

impl<T: Sealed + ?Sized> Sealed for &T {
    fn addrs(&self) -> Addrs {
        (**self).addrs()
    }
}
impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}

macro_rules! ready_addr {
    ($($t:ty),*) => {$(
        impl Sealed for $t {
            fn addrs(&self) -> Addrs {
                Addrs::Ready(vec![SocketAddr::from(*self)])
            }
        }
        impl ToSocketAddrs for $t {}
    )*};
}
ready_addr!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16)
);

impl Sealed for [SocketAddr] {
    fn addrs(&self) -> Addrs {
        Addrs::Ready(self.to_vec())
    }
}
impl ToSocketAddrs for [SocketAddr] {}

impl Sealed for str {
    fn addrs(&self) -> Addrs {
        match self.parse::<SocketAddr>() {
            Ok(a) => Addrs::Ready(vec![a]),
            Err(_) if self.rsplit_once(':').is_some() => Addrs::Lookup(self.to_owned()),
            Err(_) => Addrs::Invalid(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid socket address {self:?}: expected \"host:port\""),
            )),
        }
    }
}
impl ToSocketAddrs for str {}

impl Sealed for String {
    fn addrs(&self) -> Addrs {
        self.as_str().addrs()
    }
}
impl ToSocketAddrs for String {}

impl Sealed for (&str, u16) {
    fn addrs(&self) -> Addrs {
        let (host, port) = *self;
        match host.parse::<IpAddr>() {
            Ok(ip) => Addrs::Ready(vec![SocketAddr::new(ip, port)]),
            Err(_) => Addrs::Lookup(format!("{host}:{port}")),
        }
    }
}
impl ToSocketAddrs for (&str, u16) {}

impl Sealed for (String, u16) {
    fn addrs(&self) -> Addrs {
        (self.0.as_str(), self.1).addrs()
    }
}
impl ToSocketAddrs for (String, u16) {}

/// Turns `addr` into a future of its addresses that owns everything it
/// needs (so it is `Send + 'static` whatever `A` borrows).
pub(crate) fn to_addrs<A: ToSocketAddrs>(
    addr: A,
) -> impl Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'static {
    let addrs = addr.addrs();
    async move {
        match addrs {
            Addrs::Ready(v) => Ok(v),
            Addrs::Invalid(e) => Err(e),
            Addrs::Lookup(host) => resolve(host).await,
        }
    }
}

/// Resolves `addr` to its socket addresses, like Python's
/// `loop.getaddrinfo`. Literal addresses are returned at once; host names
/// are resolved by the system resolver on another thread, so the event loop
/// keeps running.
///
/// Cancel safe: dropping the future abandons the lookup (the resolver
/// thread finishes and discards its answer).
///
/// # Errors
///
/// The resolver's error (e.g. an unknown host), or `InvalidInput` for a
/// string without a port.
///
/// # Example
///
/// ```
/// eddy::run(async {
///     let addrs = eddy_net::lookup_host("localhost:8080").await?;
///     assert!(addrs.iter().all(|a| a.port() == 8080 && a.ip().is_loopback()));
///     assert!(eddy_net::lookup_host("no port").await.is_err());
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn lookup_host<A: ToSocketAddrs>(addr: A) -> io::Result<Vec<SocketAddr>> {
    to_addrs(addr).await
}

/// Connects or binds to each address in turn, returning the first success
/// or the last error.
pub(crate) async fn each_addr<A, T, F, Fut>(addr: A, mut f: F) -> io::Result<T>
where
    A: ToSocketAddrs,
    F: FnMut(SocketAddr) -> Fut,
    Fut: Future<Output = io::Result<T>>,
{
    let addrs = to_addrs(addr).await?;
    let mut last = None;
    for a in addrs {
        match f(a).await {
            Ok(t) => return Ok(t),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        )
    }))
}

/// Resolves `host` ("name:port") with the system resolver without blocking
/// the event loop: the lookup runs through the
/// [unblock hook](crate::hooks::set_unblock_hook) (the runtime's blocking
/// pool under the `eddy` facade, the global one outside a runtime), or on a
/// thread of its own without one.
fn resolve(host: String) -> impl Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'static {
    let answer = Arc::new(Mutex::new(None));
    let slot = answer.clone();
    let lookup = crate::hooks::unblock(Box::new(move || {
        let result = std::net::ToSocketAddrs::to_socket_addrs(host.as_str()).map(Iterator::collect);
        *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
    }));
    async move {
        let ran = lookup.await;
        let answer = answer.lock().unwrap_or_else(|e| e.into_inner()).take();
        match (ran, answer) {
            (_, Some(result)) => result,
            (Err(e), None) => Err(io::Error::other(format!("name resolution failed: {e}"))),
            (Ok(()), None) => Err(io::Error::other(
                "name resolution failed: the resolver panicked",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_addresses_need_no_lookup() {
        assert!(matches!("127.0.0.1:1".addrs(), Addrs::Ready(v) if v.len() == 1));
        assert!(matches!("[::1]:1".addrs(), Addrs::Ready(v) if v.len() == 1));
        assert!(matches!(("::1", 5).addrs(), Addrs::Ready(v) if v[0].port() == 5));
        assert!(matches!("localhost:1".addrs(), Addrs::Lookup(h) if h == "localhost:1"));
        assert!(matches!(("localhost", 2).addrs(), Addrs::Lookup(h) if h == "localhost:2"));
        assert!(matches!("nonsense".addrs(), Addrs::Invalid(_)));
    }

    #[test]
    fn resolve_runs_off_thread() {
        let addrs = futures_lite::future::block_on(resolve("localhost:9".into())).unwrap();
        assert!(!addrs.is_empty());
        assert!(addrs.iter().all(|a| a.port() == 9));
    }
}
