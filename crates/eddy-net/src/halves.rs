//! Read and write halves of a stream, borrowed or owned; generated for
//! each stream type by `stream_halves!`.

/// Generates `ReadHalf`, `WriteHalf`, `OwnedReadHalf`, `OwnedWriteHalf` and
/// `ReuniteError` for `$stream` (a newtype over `Async<$std>`), with
/// `$example` as the doc example of each.
macro_rules! stream_halves {
    ($stream:ident, $std:ty, $example:literal) => {
        /// The read half of a borrowed stream, from `split`. Implements
        /// `AsyncRead`.
        ///
        /// # Example
        ///
        #[doc = $example]
        #[derive(Debug)]
        pub struct ReadHalf<'a>(pub(crate) &'a eddy_reactor::Async<$std>);

        /// The write half of a borrowed stream, from `split`. Implements
        /// `AsyncWrite`; `poll_close` shuts down the write direction.
        ///
        /// # Example
        ///
        #[doc = $example]
        #[derive(Debug)]
        pub struct WriteHalf<'a>(pub(crate) &'a eddy_reactor::Async<$std>);

        /// The read half of a stream, from `into_split`; can move to
        /// another task. Implements `AsyncRead`.
        ///
        /// # Example
        ///
        #[doc = $example]
        #[derive(Debug)]
        pub struct OwnedReadHalf(pub(crate) std::sync::Arc<eddy_reactor::Async<$std>>);

        /// The write half of a stream, from `into_split`; can move to
        /// another task. Implements `AsyncWrite`.
        ///
        /// Dropping it shuts down the write direction (the peer reads EOF)
        /// unless it is [`reunite`](OwnedReadHalf::reunite)d first; the
        /// socket closes when both halves are gone.
        ///
        /// # Example
        ///
        #[doc = $example]
        #[derive(Debug)]
        pub struct OwnedWriteHalf {
            pub(crate) inner: std::sync::Arc<eddy_reactor::Async<$std>>,
            pub(crate) shutdown_on_drop: bool,
        }

        /// [`OwnedReadHalf::reunite`] was given halves of two different
        /// streams; both are handed back.
        ///
        /// # Example
        ///
        #[doc = $example]
        #[derive(Debug)]
        pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

        impl std::fmt::Display for ReuniteError {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("tried to reunite halves that are not from the same stream")
            }
        }

        impl std::error::Error for ReuniteError {}

        impl OwnedReadHalf {
            /// Joins the two halves of one stream back into the stream.
            ///
            /// # Errors
            ///
            /// [`ReuniteError`] if the halves come from different streams.
            ///
            /// # Example
            ///
            #[doc = $example]
            pub fn reunite(self, other: OwnedWriteHalf) -> Result<$stream, ReuniteError> {
                if !std::sync::Arc::ptr_eq(&self.0, &other.inner) {
                    return Err(ReuniteError(self, other));
                }
                let mut other = other;
                other.shutdown_on_drop = false;
                drop(other);
                match std::sync::Arc::try_unwrap(self.0) {
                    Ok(io) => Ok($stream { inner: io }),
                    // Both halves were the only owners and the write half is
                    // gone, so the count is one.
                    Err(_) => unreachable!("a stream half was cloned"),
                }
            }
        }

        impl OwnedWriteHalf {
            /// Joins the halves back into the stream; see
            /// [`OwnedReadHalf::reunite`].
            ///
            /// # Errors
            ///
            /// [`ReuniteError`] if the halves come from different streams.
            ///
            /// # Example
            ///
            #[doc = $example]
            pub fn reunite(self, other: OwnedReadHalf) -> Result<$stream, ReuniteError> {
                other.reunite(self)
            }
        }

        impl Drop for OwnedWriteHalf {
            fn drop(&mut self) {
                if self.shutdown_on_drop {
                    // The peer may be gone already; nothing to report then.
                    let _ = self.inner.get_ref().shutdown(std::net::Shutdown::Write);
                }
            }
        }

        $crate::halves::stream_halves!(@read ReadHalf<'_>, |s| s.0);
        $crate::halves::stream_halves!(@read OwnedReadHalf, |s| &*s.0);
        $crate::halves::stream_halves!(@write WriteHalf<'_>, |s| s.0);
        $crate::halves::stream_halves!(@write OwnedWriteHalf, |s| &*s.inner);
    };
    (@read $ty:ty, |$s:ident| $get:expr) => {
        impl futures_io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $s = &*self;
                let mut io = $get;
                std::pin::Pin::new(&mut io).poll_read(cx, buf)
            }

            fn poll_read_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $s = &*self;
                let mut io = $get;
                std::pin::Pin::new(&mut io).poll_read_vectored(cx, bufs)
            }
        }
    };
    (@write $ty:ty, |$s:ident| $get:expr) => {
        impl futures_io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $s = &*self;
                let mut io = $get;
                std::pin::Pin::new(&mut io).poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $s = &*self;
                let mut io = $get;
                std::pin::Pin::new(&mut io).poll_write_vectored(cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                // Sockets have no user-space buffer to flush.
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let $s = &*self;
                let io = $get;
                std::task::Poll::Ready($crate::halves::shutdown_write(io.get_ref()))
            }
        }
    };
}

pub(crate) use stream_halves;

/// Shuts down the write direction; a socket whose peer is already gone has
/// nothing left to shut down, which is not an error for `close`.
pub(crate) fn shutdown_write<S: ShutdownWrite>(s: &S) -> std::io::Result<()> {
    match s.shutdown_write() {
        Err(e) if e.kind() == std::io::ErrorKind::NotConnected => Ok(()),
        r => r,
    }
}

/// The socket types whose write direction can be shut down.
pub(crate) trait ShutdownWrite {
    fn shutdown_write(&self) -> std::io::Result<()>;
}

impl ShutdownWrite for std::net::TcpStream {
    fn shutdown_write(&self) -> std::io::Result<()> {
        self.shutdown(std::net::Shutdown::Write)
    }
}

impl ShutdownWrite for std::os::unix::net::UnixStream {
    fn shutdown_write(&self) -> std::io::Result<()> {
        self.shutdown(std::net::Shutdown::Write)
    }
}
