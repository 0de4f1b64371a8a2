//! The pipe protocol between the pool and a worker: length-prefixed frames
//! (`u32` little-endian length, then a postcard body).

use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};

/// Environment variable that marks a process as a pool worker.
pub(crate) const ENV_WORKER: &str = "EDDY_PROCESS_WORKER";
/// The parent's pid, so a worker whose parent already died exits at once.
pub(crate) const ENV_PARENT: &str = "EDDY_PROCESS_PARENT";
/// The frame limit, so both sides agree on it.
pub(crate) const ENV_MAX_FRAME: &str = "EDDY_PROCESS_MAX_FRAME";

/// The id of the hello frame a worker sends when it is ready; job ids start
/// above it.
pub(crate) const HELLO_ID: u64 = 0;

/// Room for the envelope around a payload (ids, tags, length prefixes).
pub(crate) const ENVELOPE: usize = 64;

#[derive(Serialize, Deserialize, Debug)]
pub(crate) struct Request<'a> {
    pub(crate) id: u64,
    pub(crate) job: &'a str,
    pub(crate) input: &'a [u8],
}

#[derive(Serialize, Deserialize, Debug)]
pub(crate) struct Response {
    pub(crate) id: u64,
    pub(crate) result: Result<Vec<u8>, RemoteError>,
}

/// A job failure the worker survives and reports.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub(crate) enum RemoteError {
    UnknownJob(String),
    BadInput(String),
    BadOutput(String),
    Panicked(Option<String>),
    OutputTooLarge { size: u64, limit: u64 },
}

/// Reads one frame; `Ok(None)` on a clean end of stream.
pub(crate) fn read_frame(r: &mut impl Read, max: usize) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match r.read(&mut len[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let len = u32::from_le_bytes(len) as usize;
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes exceeds the limit of {max}"),
        ));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    Ok(Some(body))
}

/// Writes one frame and flushes it.
pub(crate) fn write_frame(w: &mut impl Write, body: &[u8]) -> io::Result<()> {
    let len = u32::try_from(body.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(body)?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn frame_round_trip_and_limit() {
        let mut buf = Vec::new();
        write_frame(&mut buf, b"hello").unwrap();
        write_frame(&mut buf, b"").unwrap();
        let mut r = &buf[..];
        assert_eq!(
            read_frame(&mut r, 16).unwrap().as_deref(),
            Some(&b"hello"[..])
        );
        assert_eq!(read_frame(&mut r, 16).unwrap().as_deref(), Some(&b""[..]));
        assert_eq!(read_frame(&mut r, 16).unwrap(), None);
        let mut r = &buf[..];
        assert_eq!(
            read_frame(&mut r, 4).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        let mut torn = &buf[..6];
        assert_eq!(
            read_frame(&mut torn, 16).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn request_and_response_round_trip(id: u64, job in "[a-z_]{0,20}", input in proptest::collection::vec(any::<u8>(), 0..512)) {
            let req = postcard::to_stdvec(&Request { id, job: &job, input: &input }).unwrap();
            let mut framed = Vec::new();
            write_frame(&mut framed, &req).unwrap();
            let body = read_frame(&mut &framed[..], 1 << 20).unwrap().unwrap();
            let back: Request<'_> = postcard::from_bytes(&body).unwrap();
            prop_assert_eq!(back.id, id);
            prop_assert_eq!(back.job, &job[..]);
            prop_assert_eq!(back.input, &input[..]);
            prop_assert!(req.len() <= input.len() + job.len() + ENVELOPE);

            let resp = Response { id, result: Ok(input.clone()) };
            let bytes = postcard::to_stdvec(&resp).unwrap();
            let back: Response = postcard::from_bytes(&bytes).unwrap();
            prop_assert_eq!(back.result, Ok(input));
        }
    }
}
