//! Statistics, the Markdown table, the machine description, and writing the
//! generated section of `docs/BENCHMARKS.md`.

use std::fmt::Write as _;
use std::io;
use std::path::PathBuf;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::Samples;
use crate::suite::Row;

/// Median, minimum and maximum of a cell's samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stat {
    /// The median (mean of the two middle samples for an even count).
    pub median: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
}

impl Stat {
    /// `None` for no samples.
    pub fn of(samples: &[f64]) -> Option<Stat> {
        if samples.is_empty() {
            return None;
        }
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        let median = if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2.0
        };
        Some(Stat {
            median,
            min: s[0],
            max: s[n - 1],
        })
    }
}

/// Three significant figures or so, without exponent notation.
pub fn num(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Operations per second for `us` µs per operation, rounded to three
/// significant figures or so: `212k`, `8.4k`.
pub fn rate(us: f64) -> String {
    let per_sec = 1e6 / us;
    if per_sec >= 1000.0 {
        format!("{}k", num(per_sec / 1000.0))
    } else {
        num(per_sec)
    }
}

/// What a cell without a value shows (no floor, no peer measured).
pub const NONE: &str = "—";

/// `a`'s median over `b`'s: two decimals, one from 10 up (`0.61`, `4.84`,
/// `21.3`); [`NONE`] if either is missing.
fn ratio(a: Option<Stat>, b: Option<Stat>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b.median > 0.0 => {
            let r = a.median / b.median;
            if r >= 10.0 {
                format!("{r:.1}")
            } else {
                format!("{r:.2}")
            }
        }
        _ => NONE.into(),
    }
}

/// The floor and eddy-over-floor columns: the floor's median (its spread is
/// small and would only widen the table) and the ratio, or [`NONE`] twice.
fn floor_cells(eddy: Option<Stat>, floor: Option<Stat>) -> [String; 2] {
    match floor {
        Some(f) => [num(f.median), ratio(eddy, Some(f))],
        None => [NONE.into(), NONE.into()],
    }
}

/// Collects rows as they are measured.
pub struct Report {
    quick: bool,
    lines: Vec<String>,
    notes: Vec<String>,
    /// One line per row with a rate: its medians as operations per second.
    rates: Vec<String>,
    /// Rows with both eddy and a peer measured: (row label, eddy's median
    /// over the best peer's).
    against_best: Vec<(String, f64)>,
    load_before: String,
}

/// The project's target: eddy's median at most this times the best peer's.
pub const TARGET: f64 = 0.8;

/// The lower of the peers' medians (every row is lower-is-better).
fn best_peer(tokio: Option<Stat>, smol: Option<Stat>) -> Option<Stat> {
    match (tokio, smol) {
        (Some(t), Some(s)) => Some(if t.median <= s.median { t } else { s }),
        (t, s) => t.or(s),
    }
}

const HEADER: &str = "| workload | flavour | unit | eddy | tokio | smol | eddy/tokio | eddy/smol | eddy/best | floor | eddy/floor |\n\
                      |---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|";

impl Report {
    /// Starts a report (notes the load average now).
    pub fn start(quick: bool) -> Report {
        println!("{HEADER}");
        Report {
            quick,
            lines: Vec::new(),
            notes: Vec::new(),
            rates: Vec::new(),
            against_best: Vec::new(),
            load_before: load_average(),
        }
    }

    fn note(&mut self, text: String) -> usize {
        match self.notes.iter().position(|n| *n == text) {
            Some(i) => i + 1,
            None => {
                self.notes.push(text);
                self.notes.len()
            }
        }
    }

    /// Adds a measured row and its floor's samples (empty if it has none);
    /// returns its table line.
    pub fn add(&mut self, row: &Row, samples: [Samples; 3], floor: Samples) -> String {
        let stats = samples.each_ref().map(|s| Stat::of(s));
        let mut cells = Vec::new();
        for (cell, stat) in row.cells.iter().zip(stats) {
            let text = match (cell, stat) {
                (_, None) => "skipped".into(),
                (_, Some(s)) => {
                    if s.min == s.max {
                        num(s.median)
                    } else {
                        format!("{} ({}–{})", num(s.median), num(s.min), num(s.max))
                    }
                }
            };
            cells.push(text);
        }
        if let Some(what) = row.rate {
            let per_sec = stats.map(|s| s.map_or(NONE.into(), |s| rate(s.median)));
            self.rates.push(format!(
                "{} ({}): eddy {}, tokio {}, smol {} {what}",
                row.name,
                row.flavor.label(),
                per_sec[0],
                per_sec[1],
                per_sec[2]
            ));
        }
        let best = best_peer(stats[1], stats[2]);
        if let (Some(e), Some(b)) = (stats[0], best) {
            if b.median > 0.0 {
                let label = format!("{} ({})", row.name, row.flavor.label());
                self.against_best.push((label, e.median / b.median));
            }
        }
        let ratios = [
            ratio(stats[0], stats[1]),
            ratio(stats[0], stats[2]),
            ratio(stats[0], best),
        ];
        let floor = floor_cells(stats[0], Stat::of(&floor));
        self.line(row, cells, ratios, floor)
    }

    /// Adds a row whose precondition failed; every cell says why.
    pub fn add_skipped(&mut self, row: &Row, reason: &str) -> String {
        let na = format!("n/a ({reason})");
        self.line(
            row,
            vec![na.clone(), na.clone(), na],
            [NONE.into(), NONE.into(), NONE.into()],
            floor_cells(None, None),
        )
    }

    fn line(
        &mut self,
        row: &Row,
        cells: Vec<String>,
        ratios: [String; 3],
        floor: [String; 2],
    ) -> String {
        let mut name = row.name.to_string();
        if let Some(p) = row.peers {
            let n = self.note(format!("peers use {p}"));
            let _ = write!(name, " [{n}]");
        }
        let [to_tokio, to_smol, to_best] = ratios;
        let [floor, to_floor] = floor;
        let line = format!(
            "| {name} | {} | {} | {} | {} | {} | {to_tokio} | {to_smol} | {to_best} | {floor} | {to_floor} |",
            row.flavor.label(),
            row.unit,
            cells[0],
            cells[1],
            cells[2],
        );
        self.lines.push(line.clone());
        line
    }

    /// The generated Markdown section: machine, versions, table, notes.
    pub fn finish(self) -> String {
        let mut md = String::new();
        let _ = writeln!(
            md,
            "Generated by `cargo xtask bench{}` on {} (UTC).\n",
            if self.quick { " --quick" } else { "" },
            today()
        );
        let _ = writeln!(md, "Machine: {}.\n", machine());
        let _ = writeln!(md, "Versions: {}.\n", versions());
        let _ = writeln!(
            md,
            "Load average (1, 5, 15 min) before the run: {}; after: {}.\n",
            self.load_before,
            load_average()
        );
        let _ = writeln!(
            md,
            "Median of the repetitions, min–max in brackets. Ratios are \
             eddy's median over the peer's: below 1 means eddy is faster \
             (or smaller). The floor is the work any runtime must do for \
             the row (allocation and queue push and pop per spawn; atomic, \
             push, pop and atomic per wake), timed without a runtime in \
             the same repetitions; eddy/floor is eddy's median over its \
             median. eddy/best is eddy's median over the better peer's; \
             the target is at most {TARGET}. {NONE}: not measured.\n"
        );
        let _ = writeln!(md, "{HEADER}");
        for l in &self.lines {
            let _ = writeln!(md, "{l}");
        }
        if !self.against_best.is_empty() {
            let over: Vec<String> = self
                .against_best
                .iter()
                .filter(|(_, r)| *r > TARGET)
                .map(|(l, r)| format!("{l} {r:.2}"))
                .collect();
            let _ = write!(
                md,
                "\n**Against the target (eddy ≤ {TARGET} × the best peer):** {} of {} rows meet it",
                self.against_best.len() - over.len(),
                self.against_best.len()
            );
            if over.is_empty() {
                let _ = writeln!(md, ".");
            } else {
                let _ = writeln!(md, "; over it: {}.", over.join(", "));
            }
        }
        if !self.notes.is_empty() {
            md.push('\n');
            for (i, n) in self.notes.iter().enumerate() {
                let _ = writeln!(md, "[{}] {n}.  ", i + 1);
            }
        }
        if !self.rates.is_empty() {
            let _ = writeln!(
                md,
                "\nThe same medians as rates (1e6 / µs per operation; higher is faster):\n"
            );
            for r in &self.rates {
                let _ = writeln!(md, "* {r}");
            }
        }
        md
    }
}

const BEGIN: &str = "<!-- BEGIN GENERATED BY eddy-bench: edit outside these markers -->";
const END: &str = "<!-- END GENERATED BY eddy-bench -->";

/// Replaces the generated section of `docs/BENCHMARKS.md` with `md`,
/// keeping the hand-written text around it (or creating the file).
pub fn write_doc(md: &str) -> io::Result<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/BENCHMARKS.md");
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let section = format!("{BEGIN}\n{md}{END}");
    let new = splice(&old, &section);
    std::fs::write(&path, new)?;
    Ok(path)
}

fn splice(old: &str, section: &str) -> String {
    match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if b < e => {
            format!("{}{section}{}", &old[..b], &old[e + END.len()..])
        }
        _ => format!("# Benchmarks\n\n{section}\n\n{old}"),
    }
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn load_average() -> String {
    read("/proc/loadavg")
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(", ")
}

fn machine() -> String {
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split(':').nth(1))
        .map_or("unknown CPU".into(), |s| s.trim().to_string());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_gib = read("/proc/meminfo")
        .lines()
        .find_map(|l| {
            l.strip_prefix("MemTotal:")?
                .split_whitespace()
                .next()?
                .parse::<f64>()
                .ok()
        })
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    let kernel = read("/proc/sys/kernel/osrelease").trim().to_string();
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "rustc (version unknown)".into());
    format!(
        "{cpu}, {cores} CPUs, {mem_gib:.0} GiB, Linux {kernel}, {rustc}, release profile (thin LTO)"
    )
}

/// The peers' versions, from the lock file this binary was built with.
fn versions() -> String {
    const LOCK: &str = include_str!("../../../Cargo.lock");
    const CRATES: [&str; 9] = [
        "tokio",
        "smol",
        "async-executor",
        "async-task",
        "async-io",
        "polling",
        "async-channel",
        "async-lock",
        "blocking",
    ];
    let eddy = env!("CARGO_PKG_VERSION");
    let mut out = vec![format!("eddy {eddy}")];
    for name in CRATES {
        let needle = format!("name = \"{name}\"\nversion = \"");
        if let Some(i) = LOCK.find(&needle) {
            let rest = &LOCK[i + needle.len()..];
            if let Some(v) = rest.split('"').next() {
                out.push(format!("{name} {v}"));
            }
        }
    }
    out.join(", ")
}

/// Today's date, `YYYY-MM-DD`, from the system clock.
fn today() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_min_max() {
        let s = Stat::of(&[5.0, 1.0, 3.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (3.0, 1.0, 5.0));
        assert_eq!(Stat::of(&[4.0, 2.0]).unwrap().median, 3.0);
        assert!(Stat::of(&[]).is_none());
    }

    fn stat(v: f64) -> Option<Stat> {
        Stat::of(&[v])
    }

    #[test]
    fn ratios_keep_three_figures() {
        assert_eq!(ratio(stat(61.0), stat(100.0)), "0.61");
        assert_eq!(ratio(stat(242.0), stat(50.0)), "4.84");
        assert_eq!(ratio(stat(213.0), stat(10.0)), "21.3");
        assert_eq!(ratio(stat(1.0), None), NONE);
        assert_eq!(ratio(None, stat(1.0)), NONE);
        assert_eq!(ratio(stat(1.0), stat(0.0)), NONE);
    }

    #[test]
    fn floor_columns() {
        assert_eq!(floor_cells(stat(52.0), stat(8.0)), ["8.00", "6.50"]);
        assert_eq!(floor_cells(None, stat(25.0)), ["25.0", NONE]);
        assert_eq!(floor_cells(stat(51.4), None), [NONE, NONE]);
    }

    fn row(floor: Option<crate::suite::Measure>) -> Row {
        use crate::suite::Cell;
        fn one(_: &crate::workloads::Cfg) -> f64 {
            1.0
        }
        Row {
            name: "w",
            flavor: crate::rt::Flavor::Current,
            unit: "ns/op",
            peers: None,
            floor,
            reps: 1,
            cells: [Cell::Run(one); 3],
            child: None,
            requires: None,
            rate: None,
        }
    }

    #[test]
    fn table_lines_end_with_the_floor() {
        fn f(_: &crate::workloads::Cfg) -> f64 {
            1.0
        }
        let mut r = Report {
            quick: true,
            lines: Vec::new(),
            notes: Vec::new(),
            rates: Vec::new(),
            against_best: Vec::new(),
            load_before: String::new(),
        };
        let with = r.add(
            &row(Some(f)),
            [vec![30.0, 50.0, 40.0], vec![80.0], vec![20.0]],
            vec![10.0, 9.0, 11.0],
        );
        assert_eq!(
            with,
            "| w | 1 thread | ns/op | 40.0 (30.0–50.0) | 80.0 | 20.0 | 0.50 | 2.00 | 2.00 | 10.0 | 4.00 |"
        );
        let without = r.add(&row(None), [vec![40.0], vec![], vec![]], vec![]);
        assert_eq!(
            without,
            "| w | 1 thread | ns/op | 40.0 | skipped | skipped | — | — | — | — | — |"
        );
        let skipped = r.add_skipped(&row(Some(f)), "no wrk");
        assert!(skipped.ends_with("| — | — | — | — | — |"), "{skipped}");
        // Every line has as many columns as the header.
        let cols = |l: &str| l.matches('|').count();
        let md = r.finish();
        assert!(
            md.contains("0 of 1 rows meet it; over it: w (1 thread) 2.00."),
            "{md}"
        );
        let header = md.lines().find(|l| l.starts_with("| workload")).unwrap();
        for l in md.lines().filter(|l| l.starts_with("| w ")) {
            assert_eq!(cols(l), cols(header), "{l}");
        }
    }

    #[test]
    fn rates_from_micros() {
        assert_eq!(rate(5.0), "200k");
        assert_eq!(rate(120.0), "8.33k");
        assert_eq!(rate(2000.0), "500");
    }

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn splice_keeps_hand_written_text() {
        let old = format!("intro\n{BEGIN}\nold table\n{END}\nprofile");
        let new = splice(&old, &format!("{BEGIN}\nnew{END}"));
        assert_eq!(new, format!("intro\n{BEGIN}\nnew{END}\nprofile"));
        assert!(splice("", "x").contains('x'));
    }

    #[test]
    fn versions_come_from_the_lock_file() {
        let v = versions();
        assert!(v.contains("tokio 1.") && v.contains("smol 2."), "{v}");
    }
}
