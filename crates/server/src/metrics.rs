//! Prometheus metrics (`/metrics`, text format 0.0.4), kept in atomics: requests by area and
//! status class and their durations, SMTP sessions and messages, the group commit's batch sizes,
//! outbound deliveries, the queue's depth, and errors.
//!
//! Architecture Invariant: no label carries personal data. Areas are a fixed list (an unknown
//! path is "other"), never a path, an address, a name or an IP.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The API's endpoint families, and the rest of what the server answers. A request is counted
/// under one of these, never under its own path.
pub const AREAS: &[&str] = &[
    "info",
    "signup",
    "login",
    "logout",
    "session",
    "account",
    "keys",
    "blobs",
    "folders",
    "messages",
    "items",
    "policy",
    "transparency",
    "openapi.json",
    "wkd",
    "health",
    "metrics",
    "app",
    "other",
];

const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Request durations, in seconds.
const DURATION_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Messages per group-commit batch (the batch holds at most `--smtp-commit-batch`, default 64).
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// A fixed-bucket histogram.
pub struct Histogram {
    bounds: &'static [f64],
    /// One count per bound, then one for +Inf; not cumulative (made so when written).
    counts: Vec<AtomicU64>,
    /// The sum, in millionths, so that it fits an atomic integer.
    sum_micros: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, value: f64) {
        let index = self.bounds.iter().position(|bound| value <= *bound).unwrap_or(self.bounds.len());
        self.counts[index].fetch_add(1, Relaxed);
        self.sum_micros.fetch_add((value.max(0.0) * 1e6) as u64, Relaxed);
    }

    fn write(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (index, count) in self.counts.iter().enumerate() {
            cumulative += count.load(Relaxed);
            let bound = self.bounds.get(index).map_or("+Inf".to_owned(), |bound| bound.to_string());
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_sum {}", self.sum_micros.load(Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count {cumulative}");
    }
}

/// What happened to one message offered over SMTP.
#[derive(Debug, Clone, Copy)]
pub enum SmtpOutcome {
    /// Stored; the client got 250.
    Stored,
    /// Refused for good (5xx).
    Refused,
    /// Refused for now (4xx): the client tries again.
    Deferred,
}

/// Every metric the server keeps.
pub struct Metrics {
    started_at: SystemTime,
    requests: Vec<[AtomicU64; 5]>,
    request_seconds: Histogram,
    smtp_sessions: AtomicU64,
    smtp_open: AtomicI64,
    smtp_stored: AtomicU64,
    smtp_refused: AtomicU64,
    smtp_deferred: AtomicU64,
    commit_batch: Histogram,
    commit_failures: AtomicU64,
    outbound_delivered: AtomicU64,
    outbound_deferred: AtomicU64,
    outbound_bounced: AtomicU64,
    job_failures: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// Counts an open SMTP session until dropped.
pub struct OpenSession<'a>(&'a Metrics);

impl Drop for OpenSession<'_> {
    fn drop(&mut self) {
        self.0.smtp_open.fetch_sub(1, Relaxed);
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics {
            started_at: SystemTime::now(),
            requests: AREAS.iter().map(|_| Default::default()).collect(),
            request_seconds: Histogram::new(DURATION_BUCKETS),
            smtp_sessions: AtomicU64::new(0),
            smtp_open: AtomicI64::new(0),
            smtp_stored: AtomicU64::new(0),
            smtp_refused: AtomicU64::new(0),
            smtp_deferred: AtomicU64::new(0),
            commit_batch: Histogram::new(BATCH_BUCKETS),
            commit_failures: AtomicU64::new(0),
            outbound_delivered: AtomicU64::new(0),
            outbound_deferred: AtomicU64::new(0),
            outbound_bounced: AtomicU64::new(0),
            job_failures: AtomicU64::new(0),
        }
    }

    /// The area a request path counts under.
    pub fn area_of(path: &str) -> &'static str {
        let family = if let Some(rest) = path.strip_prefix("/api/v1/") {
            rest.split('/').next().unwrap_or("")
        } else if path.starts_with("/.well-known/openpgpkey/") {
            "wkd"
        } else if path == "/healthz" || path == "/readyz" {
            "health"
        } else if path == "/metrics" {
            "metrics"
        } else if path.starts_with("/api/") {
            "other"
        } else {
            "app"
        };
        AREAS.iter().find(|area| **area == family).copied().unwrap_or("other")
    }

    pub fn request(&self, area: &str, status: u16, took: Duration) {
        let row = AREAS.iter().position(|known| *known == area).unwrap_or(AREAS.len() - 1);
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.requests[row][class].fetch_add(1, Relaxed);
        self.request_seconds.observe(took.as_secs_f64());
    }

    /// An SMTP session opened; it counts as open until the guard is dropped.
    pub fn smtp_session(&self) -> OpenSession<'_> {
        self.smtp_sessions.fetch_add(1, Relaxed);
        self.smtp_open.fetch_add(1, Relaxed);
        OpenSession(self)
    }

    pub fn smtp_message(&self, outcome: SmtpOutcome) {
        match outcome {
            SmtpOutcome::Stored => &self.smtp_stored,
            SmtpOutcome::Refused => &self.smtp_refused,
            SmtpOutcome::Deferred => &self.smtp_deferred,
        }
        .fetch_add(1, Relaxed);
    }

    pub fn commit_batch(&self, messages: usize) {
        self.commit_batch.observe(messages as f64);
    }

    pub fn commit_failed(&self) {
        self.commit_failures.fetch_add(1, Relaxed);
    }

    pub fn outbound(&self, delivered: usize, deferred: usize, bounced: usize) {
        self.outbound_delivered.fetch_add(delivered as u64, Relaxed);
        self.outbound_deferred.fetch_add(deferred as u64, Relaxed);
        self.outbound_bounced.fetch_add(bounced as u64, Relaxed);
    }

    pub fn job_failed(&self) {
        self.job_failures.fetch_add(1, Relaxed);
    }

    /// The text format, with the gauges read now (`queue_depth`: `None` when the database did
    /// not answer, and the scrape says so as an error instead).
    pub fn render(&self, queue_depth: Option<u64>) -> String {
        let mut out = String::with_capacity(8 * 1024);
        let counter = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        };
        let gauge = |out: &mut String, name: &str, help: &str, value: i64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
        };
        let started = self.started_at.duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs());
        gauge(&mut out, "plico_start_time_seconds", "When this process started, in Unix seconds.", started as i64);

        let name = "plico_http_requests_total";
        let _ = writeln!(out, "# HELP {name} HTTP requests answered, by endpoint family and status class.");
        let _ = writeln!(out, "# TYPE {name} counter");
        for (area, classes) in AREAS.iter().zip(&self.requests) {
            for (class, count) in STATUS_CLASSES.iter().zip(classes) {
                let count = count.load(Relaxed);
                if count > 0 {
                    let _ = writeln!(out, "{name}{{area=\"{area}\",status=\"{class}\"}} {count}");
                }
            }
        }
        self.request_seconds.write(&mut out, "plico_http_request_duration_seconds", "Time to answer an HTTP request.");

        counter(&mut out, "plico_smtp_sessions_total", "SMTP sessions opened.", self.smtp_sessions.load(Relaxed));
        gauge(&mut out, "plico_smtp_sessions_open", "SMTP sessions open now.", self.smtp_open.load(Relaxed));
        let name = "plico_smtp_messages_total";
        let _ = writeln!(out, "# HELP {name} Messages offered over SMTP, by what became of them.");
        let _ = writeln!(out, "# TYPE {name} counter");
        for (outcome, count) in
            [("stored", &self.smtp_stored), ("refused", &self.smtp_refused), ("deferred", &self.smtp_deferred)]
        {
            let _ = writeln!(out, "{name}{{outcome=\"{outcome}\"}} {}", count.load(Relaxed));
        }
        self.commit_batch.write(
            &mut out,
            "plico_commit_batch_messages",
            "Messages made durable together by one group commit.",
        );

        let name = "plico_outbound_recipients_total";
        let _ = writeln!(out, "# HELP {name} Outbound deliveries per recipient, by outcome.");
        let _ = writeln!(out, "# TYPE {name} counter");
        for (outcome, count) in [
            ("delivered", &self.outbound_delivered),
            ("deferred", &self.outbound_deferred),
            ("bounced", &self.outbound_bounced),
        ] {
            let _ = writeln!(out, "{name}{{outcome=\"{outcome}\"}} {}", count.load(Relaxed));
        }
        let name = "plico_errors_total";
        let _ = writeln!(out, "# HELP {name} Failures the operator should look at, by kind.");
        let _ = writeln!(out, "# TYPE {name} counter");
        let http_5xx: u64 = self.requests.iter().map(|classes| classes[4].load(Relaxed)).sum();
        let queue_unreadable = u64::from(queue_depth.is_none());
        for (kind, count) in [
            ("http_5xx", http_5xx),
            ("commit", self.commit_failures.load(Relaxed)),
            ("job", self.job_failures.load(Relaxed)),
            ("scrape_database", queue_unreadable),
        ] {
            let _ = writeln!(out, "{name}{{kind=\"{kind}\"}} {count}");
        }
        if let Some(depth) = queue_depth {
            gauge(&mut out, "plico_outbound_queue_depth", "Messages waiting for another server.", depth as i64);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas_are_a_fixed_list_and_a_path_never_becomes_a_label() {
        assert_eq!(Metrics::area_of("/api/v1/login/start"), "login");
        assert_eq!(Metrics::area_of("/api/v1/keys/alice@plico.test"), "keys");
        assert_eq!(Metrics::area_of("/api/v1/alice@plico.test"), "other");
        assert_eq!(Metrics::area_of("/.well-known/openpgpkey/hu/abc"), "wkd");
        assert_eq!(Metrics::area_of("/inbox/secret-folder-name"), "app");
        assert_eq!(Metrics::area_of("/readyz"), "health");
    }

    #[test]
    fn histograms_are_cumulative_and_counters_add_up() {
        let metrics = Metrics::new();
        for size in [1, 3, 3, 64, 300] {
            metrics.commit_batch(size);
        }
        metrics.request("login", 200, Duration::from_millis(3));
        metrics.request("login", 429, Duration::from_millis(30));
        metrics.request("nonsense", 500, Duration::from_secs(20));
        {
            let _open = metrics.smtp_session();
            assert!(metrics.render(Some(0)).contains("plico_smtp_sessions_open 1\n"));
        }
        let text = metrics.render(Some(7));
        assert!(text.contains("plico_commit_batch_messages_bucket{le=\"1\"} 1\n"), "{text}");
        assert!(text.contains("plico_commit_batch_messages_bucket{le=\"4\"} 3\n"), "{text}");
        assert!(text.contains("plico_commit_batch_messages_bucket{le=\"64\"} 4\n"), "{text}");
        assert!(text.contains("plico_commit_batch_messages_bucket{le=\"+Inf\"} 5\n"), "{text}");
        assert!(text.contains("plico_commit_batch_messages_sum 371\n"), "{text}");
        assert!(text.contains("plico_http_requests_total{area=\"login\",status=\"2xx\"} 1\n"), "{text}");
        assert!(text.contains("plico_http_requests_total{area=\"login\",status=\"4xx\"} 1\n"), "{text}");
        assert!(text.contains("plico_http_requests_total{area=\"other\",status=\"5xx\"} 1\n"), "{text}");
        assert!(text.contains("plico_errors_total{kind=\"http_5xx\"} 1\n"), "{text}");
        assert!(text.contains("plico_smtp_sessions_open 0\n"), "{text}");
        assert!(text.contains("plico_smtp_sessions_total 1\n"), "{text}");
        assert!(text.contains("plico_outbound_queue_depth 7\n"), "{text}");
        assert!(!metrics.render(None).contains("plico_outbound_queue_depth"));
    }
}
