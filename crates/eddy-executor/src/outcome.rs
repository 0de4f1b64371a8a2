//! Debug mode's look at a finished task's output, whose type the executor
//! does not know: is it a `Result::Err`, and what does the error say?
//!
//! Stable Rust has no specialization, so a generic `spawn` cannot ask "is
//! `T` a `Result<_, E>` with `E: Debug`?". What it can do:
//!
//! * downcast the output (every task's output is `'static`) to a few
//!   common concrete types, `Result<(), E>` for the error types tasks
//!   usually return, and format the error with its `Debug`;
//! * for any other `Result`, recognise the type by its
//!   [`type_name`](std::any::type_name) and the variant by its
//!   [`discriminant`](std::mem::discriminant), and name the type instead.
//!
//! Both looks fail closed: a type name or a discriminant that does not
//! read as expected means "not an error", never a false report. Nothing
//! here runs unless debug mode is on (the task's stage says so, fixed at
//! spawn).

use std::any::{Any, type_name};
use std::error::Error;
use std::hash::{Hash, Hasher};
use std::mem::discriminant;

use eddy_core::JoinError;

/// A task's output that was a `Result::Err`.
#[derive(Debug, Clone)]
pub(crate) struct ErrOutput {
    /// The output's type, e.g. `core::result::Result<u32, my_app::Error>`.
    pub(crate) type_name: &'static str,
    /// The error's `Debug` text, for the types [`known_err`] knows.
    pub(crate) debug: Option<String>,
}

/// `Some` when `v` is a `Result::Err`.
pub(crate) fn err_output<T: 'static>(v: &T) -> Option<ErrOutput> {
    let type_name = type_name::<T>();
    if !(type_name.starts_with("core::result::Result<")
        || type_name.starts_with("std::result::Result<"))
    {
        return None;
    }
    let debug = match known_err(v) {
        Some(None) => return None,
        Some(Some(text)) => Some(text),
        None if is_err_variant(v) => None,
        None => return None,
    };
    Some(ErrOutput { type_name, debug })
}

/// For the output types tasks most often have: `Some(Some(text))` for an
/// error (its `Debug` text), `Some(None)` for `Ok`; `None` for other types.
fn known_err<T: 'static>(v: &T) -> Option<Option<String>> {
    let any: &dyn Any = v;
    macro_rules! known {
        ($($e:ty),* $(,)?) => {
            $(
                if let Some(r) = any.downcast_ref::<Result<(), $e>>() {
                    return Some(r.as_ref().err().map(|e| format!("{e:?}")));
                }
            )*
        };
    }
    known!(
        std::io::Error,
        Box<dyn Error + Send + Sync>,
        Box<dyn Error + Send>,
        Box<dyn Error>,
        String,
        &'static str,
        JoinError,
    );
    None
}

/// Feeds what `Hash` writes through FNV-1a: enough to tell two
/// discriminants apart without allocating.
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

fn variant_key<T>(v: &T) -> u64 {
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    discriminant(v).hash(&mut h);
    h.finish()
}

/// Whether the `Result` `v` is `Err`: `Result`'s variants have the implicit
/// discriminants `Ok = 0`, `Err = 1` whatever the payloads, so `v`'s
/// discriminant hashes as `Err::<(), ()>`'s does. If a future standard
/// library hashed discriminants differently per type, or not at all, this
/// says `false`.
fn is_err_variant<T>(v: &T) -> bool {
    let err = variant_key(&Err::<(), ()>(()));
    err != variant_key(&Ok::<(), ()>(())) && variant_key(v) == err
}

#[cfg(test)]
mod tests {
    use super::err_output;

    #[derive(Debug)]
    struct Custom;

    #[test]
    fn errors_of_known_types_carry_their_debug_text() {
        let e: std::io::Result<()> = Err(std::io::Error::other("disk full"));
        let out = err_output(&e).unwrap();
        assert!(out.debug.unwrap().contains("disk full"));
        assert!(err_output(&Ok::<(), String>(())).is_none());
        let out = err_output(&Err::<(), String>("no".into())).unwrap();
        assert_eq!(out.debug.as_deref(), Some("\"no\""));
    }

    #[test]
    fn other_results_are_named_by_type() {
        let out = err_output(&Err::<u32, Custom>(Custom)).unwrap();
        assert!(out.type_name.contains("Custom"), "{}", out.type_name);
        assert!(out.debug.is_none());
        assert!(err_output(&Ok::<u32, Custom>(1)).is_none());
        // A niche-packed result reads the same.
        assert!(err_output(&Err::<Box<u8>, ()>(())).is_some());
        assert!(err_output(&Ok::<Box<u8>, ()>(Box::new(1))).is_none());
    }

    #[test]
    fn other_types_are_never_errors() {
        #[allow(dead_code)]
        enum Lookalike {
            Ok(u8),
            Err(u8),
        }
        assert!(err_output(&Lookalike::Err(1)).is_none());
        assert!(err_output(&Some(1)).is_none());
        assert!(err_output(&()).is_none());
    }
}
