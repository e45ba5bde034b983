//! What a run measured: throughput, latency percentiles, errors, the server's CPU and memory — printed, as JSON,
//! and as an SVG plot of throughput and latency per second.

use std::{collections::BTreeMap, fmt::Write as _, time::Duration};

use serde::Serialize;

use crate::Pace;

/// One iteration.
pub(crate) struct Sample {
    /// When it started, from the start of the run.
    pub(crate) at: Duration,
    pub(crate) latency: Duration,
    pub(crate) error: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ServerUsage {
    /// Of one core: 200 is both cores of a two-core machine.
    pub(crate) cpu_percent: f64,
    pub(crate) rss_end_mib: f64,
    pub(crate) rss_peak_mib: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Latency {
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    mean_ms: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Second {
    second: u64,
    completed: usize,
    errors: usize,
    p50_ms: f64,
    p99_ms: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Report {
    label: Option<String>,
    scenario: String,
    /// `closed loop, 32 in flight` or `open loop, 5000/s`.
    pace: String,
    wall_seconds: f64,
    completed: usize,
    errors: usize,
    /// Completed iterations per second of wall time.
    pub(crate) throughput: f64,
    pub(crate) latency: Option<Latency>,
    server: Option<ServerUsage>,
    /// Up to five error messages, with how often each occurred.
    error_examples: BTreeMap<String, usize>,
    per_second: Vec<Second>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn latency(mut millis: Vec<f64>) -> Option<Latency> {
    if millis.is_empty() {
        return None;
    }
    millis.sort_by(f64::total_cmp);
    Some(Latency {
        p50_ms: percentile(&millis, 0.50),
        p90_ms: percentile(&millis, 0.90),
        p99_ms: percentile(&millis, 0.99),
        max_ms: *millis.last().expect("not empty"),
        mean_ms: millis.iter().sum::<f64>() / millis.len() as f64,
    })
}

impl Report {
    pub(crate) fn new(
        scenario: &str,
        pace: &Pace,
        wall: Duration,
        samples: Vec<Sample>,
        server: Option<ServerUsage>,
    ) -> Report {
        let mut error_examples: BTreeMap<String, usize> = BTreeMap::new();
        let mut seconds: BTreeMap<u64, (Vec<f64>, usize)> = BTreeMap::new();
        let mut ok = Vec::new();
        for sample in &samples {
            let second = seconds.entry(sample.at.as_secs()).or_default();
            match &sample.error {
                Some(error) => {
                    second.1 += 1;
                    if error_examples.len() < 5 || error_examples.contains_key(error) {
                        *error_examples.entry(error.clone()).or_default() += 1;
                    }
                }
                None => {
                    let ms = sample.latency.as_secs_f64() * 1000.0;
                    second.0.push(ms);
                    ok.push(ms);
                }
            }
        }
        let per_second = seconds
            .into_iter()
            .map(|(second, (millis, errors))| {
                let completed = millis.len();
                let latency = latency(millis);
                Second {
                    second,
                    completed,
                    errors,
                    p50_ms: latency.as_ref().map_or(0.0, |l| l.p50_ms),
                    p99_ms: latency.as_ref().map_or(0.0, |l| l.p99_ms),
                }
            })
            .collect();
        let completed = ok.len();
        Report {
            label: pace.label.clone(),
            scenario: scenario.to_owned(),
            pace: match pace.rate {
                Some(rate) => format!("open loop, {rate}/s"),
                None => format!("closed loop, {} in flight", pace.concurrency),
            },
            wall_seconds: wall.as_secs_f64(),
            completed,
            errors: samples.len() - completed,
            throughput: completed as f64 / wall.as_secs_f64(),
            latency: latency(ok),
            server,
            error_examples,
            per_second,
        }
    }

    /// Prints the summary and writes the JSON and the plot asked for; fails when every iteration failed.
    pub(crate) fn publish(&self, pace: &Pace) -> Result<(), String> {
        println!("{}", self.summary());
        if let Some(path) = &pace.json {
            let text = serde_json::to_string_pretty(self).expect("a report always serialises");
            std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        if let Some(path) = &pace.svg {
            std::fs::write(path, self.svg()).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        if self.completed == 0 {
            return Err(format!("nothing completed: {:?}", self.error_examples));
        }
        Ok(())
    }

    pub(crate) fn summary(&self) -> String {
        let mut text = format!(
            "{}{} ({}): {} done in {:.1} s = {:.0}/s, {} errors",
            self.label.as_deref().map(|l| format!("{l}: ")).unwrap_or_default(),
            self.scenario,
            self.pace,
            self.completed,
            self.wall_seconds,
            self.throughput,
            self.errors
        );
        if let Some(l) = &self.latency {
            let _ = write!(
                text,
                "; latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms
            );
        }
        if let Some(s) = &self.server {
            let _ = write!(
                text,
                "; server CPU {:.0}% of a core, RSS {:.1} MiB (peak {:.1})",
                s.cpu_percent, s.rss_end_mib, s.rss_peak_mib
            );
        }
        for (error, count) in &self.error_examples {
            let _ = write!(text, "\n  {count} × {error}");
        }
        text
    }

    /// Throughput (bars, left axis) and p50/p99 latency (lines, right axis) per second.
    fn svg(&self) -> String {
        const W: f64 = 720.0;
        const H: f64 = 320.0;
        const LEFT: f64 = 60.0;
        const RIGHT: f64 = 60.0;
        const TOP: f64 = 30.0;
        const BOTTOM: f64 = 40.0;
        let seconds = self.per_second.len().max(1) as f64;
        let max_rate = self.per_second.iter().map(|s| s.completed).max().unwrap_or(1).max(1) as f64;
        let max_ms = self.per_second.iter().map(|s| s.p99_ms).fold(0.001, f64::max);
        let x = |i: f64| LEFT + (W - LEFT - RIGHT) * i / seconds;
        let y_rate = |v: f64| H - BOTTOM - (H - TOP - BOTTOM) * v / max_rate;
        let y_ms = |v: f64| H - BOTTOM - (H - TOP - BOTTOM) * v / max_ms;
        let mut svg = format!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="11">
<rect width="{W}" height="{H}" fill="#fff"/>
<text x="{LEFT}" y="18" font-size="13">{} — {}</text>
"##,
            escape(self.label.as_deref().unwrap_or(&self.scenario)),
            escape(&self.pace)
        );
        let bar = (W - LEFT - RIGHT) / seconds * 0.8;
        for (i, s) in self.per_second.iter().enumerate() {
            let _ = writeln!(
                svg,
                r##"<rect x="{:.1}" y="{:.1}" width="{bar:.1}" height="{:.1}" fill="#9ec5f8"/>"##,
                x(i as f64),
                y_rate(s.completed as f64),
                H - BOTTOM - y_rate(s.completed as f64)
            );
        }
        for (field, color) in [("p50", "#1a7f37"), ("p99", "#c62828")] {
            let points: Vec<String> = self
                .per_second
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let v = if field == "p50" { s.p50_ms } else { s.p99_ms };
                    format!("{:.1},{:.1}", x(i as f64) + bar / 2.0, y_ms(v))
                })
                .collect();
            let _ = writeln!(
                svg,
                r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"/>"#,
                points.join(" ")
            );
        }
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" y1="{b}" x2="{r}" y2="{b}" stroke="#333"/>
<text x="{LEFT}" y="{t}">0 s</text><text x="{r}" y="{t}" text-anchor="end">{seconds:.0} s</text>
<text x="6" y="{TOP}" fill="#0b5cad">{max_rate:.0}/s</text><text x="6" y="{b}" fill="#0b5cad">0</text>
<text x="{W2}" y="{TOP}" text-anchor="end" fill="#c62828">{max_ms:.1} ms</text>
<text x="{LEFT}" y="{legend}" fill="#0b5cad">■ completed per second</text>
<text x="{l2}" y="{legend}" fill="#1a7f37">— p50 latency</text><text x="{l3}" y="{legend}" fill="#c62828">— p99 latency</text>
</svg>
"##,
            b = H - BOTTOM,
            r = W - RIGHT,
            t = H - BOTTOM + 14.0,
            W2 = W - 4.0,
            legend = H - 8.0,
            l2 = LEFT + 170.0,
            l3 = LEFT + 270.0,
        );
        svg
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
