//! `#[eddy::main]` and `#[eddy::test]`: write `async fn main()` and
//! `async fn` tests, and have them run on an eddy runtime.
//!
//! Use them through the facade (`eddy::main`, `eddy::test`, on by default
//! with the `macros` feature); this crate only rewrites the function:
//!
//! ```text
//! #[eddy::main(flavor = "multi_thread", worker_threads = 4)]
//! async fn main() -> io::Result<()> { BODY }
//! ```
//!
//! becomes
//!
//! ```text
//! fn main() -> io::Result<()> {
//!     let body = async move { BODY };
//!     eddy::Builder::multi_thread().worker_threads(4).build()
//!         .expect("eddy::main: cannot build the runtime")
//!         .block_on(body)
//! }
//! ```
//!
//! `#[eddy::test]` does the same under `#[test]`, on eddy's test runtime by
//! default (`eddy::test::Builder`: virtual time that jumps to the next
//! timer, a seeded schedule that is printed on failure and replayed with
//! `EDDY_SEED`, deadlocks failing the test, debug mode on).
//!
//! # Arguments
//!
//! | argument | `main` | `test` | meaning |
//! |---|---|---|---|
//! | `flavor = "current_thread"` / `"multi_thread"` | default `current_thread` (as `eddy::run`) | default `current_thread` | which runtime |
//! | `worker_threads = N` | multi-thread only | multi-thread only | worker count (default: one per core) |
//! | `debug = true/false` | default off (`EDDY_DEBUG=1` still works) | default on | debug mode |
//! | `virtual_time = true/false` | default off | default on | manual clock with auto-advance (current-thread only) |
//! | `seed = N` | current-thread only | current-thread only | fixed schedule seed (test default: `EDDY_SEED`, else fresh and printed) |
//! | `trace_tasks = true/false` | default off | default off | one `tracing` span per task (`Builder::trace_tasks`; needs the facade's `tracing` feature) |
//! | `crate = "path"` | | | where the facade is, for crates that re-export it (default `::eddy`) |
//!
//! Misuse is a compile error at the attribute, not a runtime surprise: a
//! non-`async` fn, parameters, an unknown argument, a value of the wrong
//! type, or an option the chosen flavour cannot honour (a `seed` or
//! `virtual_time` on the multi-thread flavour, whose schedule cannot be
//! replayed).
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//!
//! #[eddy::main]
//! async fn main() {
//!     let t = eddy::spawn(async { 40 + 2 });
//!     eddy::sleep(Duration::from_millis(1)).await;
//!     assert_eq!(t.await.unwrap(), 42);
//! }
//! ```

#![forbid(unsafe_code)]

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{quote, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ItemFn, Lit, MetaNameValue, Token};

/// Runs `async fn main` on an eddy runtime.
///
/// Without arguments this is `fn main() { eddy::run(async { .. }) }`: a
/// current-thread runtime, like `asyncio.run(main())`. The return type is
/// kept, so `async fn main() -> Result<(), E>` works. Arguments: see the
/// [crate docs](crate) (`flavor`, `worker_threads`, `debug`,
/// `virtual_time`, `seed`, `trace_tasks`, `crate`).
///
/// # Panics
///
/// The generated `main` panics if the runtime cannot be built (the OS
/// refused an epoll instance or a thread), with the I/O error.
///
/// # Examples
///
/// ```
/// #[eddy::main(flavor = "multi_thread", worker_threads = 2)]
/// async fn main() -> std::io::Result<()> {
///     let parts = eddy::gather_all((0..4).map(|i| eddy::spawn(async move { i * i }))).await;
///     let total: i32 = parts.into_iter().map(Result::unwrap).sum();
///     assert_eq!(total, 14);
///     Ok(())
/// }
/// ```
///
/// Virtual time makes a program that sleeps an hour finish at once:
///
/// ```
/// #[eddy::main(virtual_time = true)]
/// async fn main() {
///     eddy::sleep(std::time::Duration::from_secs(3600)).await;
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Main, args.into(), item.into()).into()
}

/// Runs an `async fn` test on an eddy runtime.
///
/// By default the test runs on eddy's test runtime (`eddy::test::Builder`):
/// virtual time, a seeded schedule (from `EDDY_SEED`, else a fresh seed that
/// is printed if the test fails), deadlocks failing the test, debug mode on.
/// `virtual_time = false` runs it on a plain current-thread runtime with the
/// real clock; `flavor = "multi_thread"` on a multi-thread runtime (real
/// time, no replayable seed). Both keep debug mode on and fail a deadlocked
/// test after the default grace (`eddy::debug::DEFAULT_DEADLOCK_GRACE`). Arguments: see the [crate docs](crate).
///
/// # Examples
///
/// ```
/// # // Doc tests are not compiled with `--test`; call the test by hand.
/// use std::time::Duration;
///
/// #[eddy::test]
/// async fn timeout_fires_at_its_deadline() {
///     let slow = eddy::sleep(Duration::from_secs(10));
///     assert!(eddy::timeout(Duration::from_secs(5), slow).await.is_err());
/// }
///
/// #[eddy::test(seed = 7)]
/// async fn replays_seed_seven() {
///     let a = eddy::spawn(async { 1 });
///     assert_eq!(a.await.unwrap(), 1);
/// }
///
/// #[eddy::test(flavor = "multi_thread", worker_threads = 2)]
/// async fn runs_in_parallel() -> Result<(), eddy::JoinError> {
///     assert_eq!(eddy::spawn(async { 3 }).await?, 3);
///     Ok(())
/// }
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Test, args.into(), item.into()).into()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Main,
    Test,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Main => "eddy::main",
            Kind::Test => "eddy::test",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    CurrentThread,
    MultiThread,
}

struct Options {
    flavor: Option<(Flavor, Span)>,
    worker_threads: Option<(Expr, Span)>,
    debug: Option<bool>,
    virtual_time: Option<(bool, Span)>,
    seed: Option<(Expr, Span)>,
    trace_tasks: Option<bool>,
    krate: Option<syn::Path>,
}

const ARGUMENTS: &str = "flavor, worker_threads, debug, virtual_time, seed, trace_tasks, crate";

fn expand(kind: Kind, args: TokenStream2, item: TokenStream2) -> TokenStream2 {
    // Parse the function first, so that an error in the arguments still
    // leaves the function in place and the user sees one error, not many.
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => return with_item(e.to_compile_error(), item),
    };
    let is_async = func.sig.asyncness.is_some();
    match options(args).and_then(|o| rewrite(kind, o, func)) {
        Ok(out) => out,
        // An `async fn main` left in place would add rustc's "main function
        // is not allowed to be async" to the real error.
        Err(e) if kind == Kind::Main && is_async => {
            let error = e.to_compile_error();
            quote!(#error fn main() {})
        }
        Err(e) => with_item(e.to_compile_error(), item),
    }
}

/// The error next to the untouched item, so the item's own code still
/// type-checks and rust-analyzer keeps working on it.
fn with_item(error: TokenStream2, item: TokenStream2) -> TokenStream2 {
    quote!(#error #item)
}

fn options(args: TokenStream2) -> syn::Result<Options> {
    let pairs = Punctuated::<MetaNameValue, Token![,]>::parse_terminated.parse2(args)?;
    let mut o = Options {
        flavor: None,
        worker_threads: None,
        debug: None,
        virtual_time: None,
        seed: None,
        trace_tasks: None,
        krate: None,
    };
    for pair in pairs {
        let path = &pair.path;
        let name = quote!(#path).to_string().replace(' ', "");
        let span = pair.span();
        let value = pair.value;
        match name.as_str() {
            "flavor" => {
                let s = string(&value, "flavor")?;
                let f = match s.as_str() {
                    "current_thread" => Flavor::CurrentThread,
                    "multi_thread" => Flavor::MultiThread,
                    other => {
                        return Err(syn::Error::new(
                            value.span(),
                            format!(
                                "unknown flavor `{other}`; expected \"current_thread\" or \"multi_thread\""
                            ),
                        ));
                    }
                };
                set(&mut o.flavor, (f, span), span, "flavor")?;
            }
            "worker_threads" => {
                integer(&value, "worker_threads", true)?;
                set(&mut o.worker_threads, (value, span), span, "worker_threads")?;
            }
            "debug" => set(&mut o.debug, boolean(&value, "debug")?, span, "debug")?,
            "virtual_time" => {
                let b = boolean(&value, "virtual_time")?;
                set(&mut o.virtual_time, (b, span), span, "virtual_time")?;
            }
            "seed" => {
                integer(&value, "seed", false)?;
                set(&mut o.seed, (value, span), span, "seed")?;
            }
            "trace_tasks" => set(
                &mut o.trace_tasks,
                boolean(&value, "trace_tasks")?,
                span,
                "trace_tasks",
            )?,
            "crate" => {
                let s = string(&value, "crate")?;
                let path = syn::parse_str::<syn::Path>(&s)
                    .map_err(|e| syn::Error::new(value.span(), format!("`crate`: {e}")))?;
                set(&mut o.krate, path, span, "crate")?;
            }
            _ => {
                return Err(syn::Error::new(
                    span,
                    format!("unknown argument `{name}`; expected one of: {ARGUMENTS}"),
                ));
            }
        }
    }
    Ok(o)
}

fn set<T>(slot: &mut Option<T>, value: T, span: Span, name: &str) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(span, format!("`{name}` is given twice")));
    }
    *slot = Some(value);
    Ok(())
}

fn literal(value: &Expr) -> Option<&Lit> {
    match value {
        Expr::Lit(ExprLit { lit, .. }) => Some(lit),
        Expr::Group(g) => literal(&g.expr),
        _ => None,
    }
}

fn string(value: &Expr, name: &str) -> syn::Result<String> {
    match literal(value) {
        Some(Lit::Str(s)) => Ok(s.value()),
        _ => Err(syn::Error::new(
            value.span(),
            format!("`{name}` takes a string, e.g. {name} = \"...\""),
        )),
    }
}

fn boolean(value: &Expr, name: &str) -> syn::Result<bool> {
    match literal(value) {
        Some(Lit::Bool(b)) => Ok(b.value),
        _ => Err(syn::Error::new(
            value.span(),
            format!("`{name}` takes `true` or `false`"),
        )),
    }
}

fn integer(value: &Expr, name: &str, nonzero: bool) -> syn::Result<()> {
    match literal(value) {
        Some(Lit::Int(i)) => {
            let n: u64 = i.base10_parse()?;
            if nonzero && n == 0 {
                return Err(syn::Error::new(
                    value.span(),
                    format!("`{name}` must be at least 1"),
                ));
            }
            Ok(())
        }
        _ => Err(syn::Error::new(
            value.span(),
            format!("`{name}` takes an integer literal"),
        )),
    }
}

fn rewrite(kind: Kind, o: Options, func: ItemFn) -> syn::Result<TokenStream2> {
    let sig = &func.sig;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new(
            sig.fn_token.span,
            format!(
                "the `async` keyword is missing from the function declaration: #[{}] runs an `async fn`",
                kind.name()
            ),
        ));
    }
    if !sig.inputs.is_empty() {
        return Err(syn::Error::new(
            sig.inputs.span(),
            format!("#[{}] functions take no arguments", kind.name()),
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(syn::Error::new(
            sig.generics.span(),
            format!("#[{}] functions cannot be generic", kind.name()),
        ));
    }
    if kind == Kind::Main && sig.ident != "main" {
        return Err(syn::Error::new(
            sig.ident.span(),
            "#[eddy::main] goes on `async fn main`; for other functions call `eddy::run` or build a `Runtime`",
        ));
    }
    if kind == Kind::Test
        && let Some(attr) = func.attrs.iter().find(|a| a.path().is_ident("test"))
    {
        return Err(syn::Error::new(
            attr.span(),
            "#[eddy::test] already adds #[test]; remove this one",
        ));
    }

    let flavor = o.flavor.map_or(Flavor::CurrentThread, |(f, _)| f);
    let multi = flavor == Flavor::MultiThread;
    if let Some((_, span)) = &o.worker_threads
        && !multi
    {
        return Err(syn::Error::new(
            *span,
            "`worker_threads` needs flavor = \"multi_thread\"",
        ));
    }
    if multi {
        if let Some((_, span)) = &o.seed {
            return Err(syn::Error::new(
                *span,
                "`seed` needs flavor = \"current_thread\": the multi-thread schedule cannot be replayed",
            ));
        }
        if let Some((true, span)) = o.virtual_time {
            return Err(syn::Error::new(
                span,
                "`virtual_time` needs flavor = \"current_thread\": virtual time jumps when the one thread is idle",
            ));
        }
    }

    let krate = o.krate.unwrap_or_else(|| syn::parse_quote!(::eddy));
    let virtual_time = o
        .virtual_time
        .map_or(kind == Kind::Test && !multi, |(b, _)| b);
    let seed = o.seed.map(|(e, _)| quote!(.seed(#e)));
    let debug = o.debug.map(|d| quote!(.debug(#d)));
    let trace = o.trace_tasks.map(|t| quote!(.trace_tasks(#t)));

    let runtime = if kind == Kind::Test && virtual_time {
        // The test runtime prints the seed on failure and fails deadlocks.
        quote! {
            #krate::test::Builder::new() #seed #debug #trace .run(body)
        }
    } else {
        let debug = match (kind, &debug) {
            // Tests run in debug mode unless told otherwise.
            (Kind::Test, None) => Some(quote!(.debug(true))),
            _ => debug,
        };
        // A deadlocked test fails instead of hanging, on every runtime a
        // test can ask for (the test runtime above does the same).
        let deadlock = (kind == Kind::Test).then(|| {
            quote!(.deadlock_detection(
                #krate::debug::DeadlockAction::Panic,
                #krate::debug::DEFAULT_DEADLOCK_GRACE
            ))
        });
        let builder = if multi {
            let workers = o.worker_threads.map(|(e, _)| quote!(.worker_threads(#e)));
            quote!(#krate::Builder::multi_thread() #workers)
        } else {
            let clock =
                virtual_time.then(|| quote!(.manual_clock(#krate::time::ManualClock::new(), true)));
            quote!(#krate::Builder::current_thread() #clock #seed)
        };
        let what = kind.name();
        quote! {
            #builder #debug #deadlock #trace
                .build()
                .unwrap_or_else(|e| ::core::panic!("{}: cannot build the runtime: {}", #what, e))
                .block_on(body)
        }
    };

    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = func;
    let mut sig = sig;
    sig.asyncness = None;
    let test_attr = (kind == Kind::Test).then(|| quote!(#[::core::prelude::v1::test]));
    let body_span = block.span();
    let body = quote_spanned! {body_span=>
        let body = async move #block;
    };
    Ok(quote! {
        #test_attr
        #(#attrs)*
        #vis #sig {
            #body
            #runtime
        }
    })
}
