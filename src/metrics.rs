//! `/metrics`: counters kept in memory, shown in the Prometheus text
//! format (version 0.0.4).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the deploy-latency buckets, in seconds.
const DEPLOY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Everything `/metrics` counts.
#[derive(Debug, Default)]
pub struct Metrics {
    deploys_ok: AtomicU64,
    deploys_failed: AtomicU64,
    /// Deploys per latency bucket (the last one is +Inf).
    deploy_buckets: [AtomicU64; DEPLOY_BUCKETS.len() + 1],
    deploy_micros: AtomicU64,
    /// API requests by (route, method, status).
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
}

/// Zone counts read from the store when `/metrics` is asked for.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ZoneGauges {
    /// Zones by deploy state (`pending`, `deployed`, `failed`).
    pub by_state: BTreeMap<String, i64>,
    /// Zones with changes named does not serve yet.
    pub queue: i64,
    /// By secondary: its zones in sync, behind and unreachable, its lag.
    pub secondaries: BTreeMap<String, crate::store::SecondaryGauge>,
}

impl Metrics {
    /// A deploy proved served after `took`.
    pub fn deploy_ok(&self, took: Duration) {
        self.deploys_ok.fetch_add(1, Ordering::Relaxed);
        let seconds = took.as_secs_f64();
        let bucket = DEPLOY_BUCKETS
            .iter()
            .position(|&le| seconds <= le)
            .unwrap_or(DEPLOY_BUCKETS.len());
        self.deploy_buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.deploy_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    /// A deploy that failed (the zone kept its last good file).
    pub fn deploy_failed(&self) {
        self.deploys_failed.fetch_add(1, Ordering::Relaxed);
    }

    /// Deploys proved served so far.
    pub fn deploys(&self) -> u64 {
        self.deploys_ok.load(Ordering::Relaxed)
    }

    /// An API request answered.
    pub fn request(&self, route: &str, method: &str, status: u16) {
        let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        *requests
            .entry((route.to_string(), method.to_string(), status))
            .or_default() += 1;
    }

    /// The Prometheus text of every metric.
    pub fn render(&self, zones: &ZoneGauges) -> String {
        let mut out = String::new();
        let _ = self.write(&mut out, zones);
        out
    }

    fn write(&self, out: &mut String, zones: &ZoneGauges) -> std::fmt::Result {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        writeln!(
            out,
            "# HELP bindbridge_deploys_total Zone deploys finished, by result."
        )?;
        writeln!(out, "# TYPE bindbridge_deploys_total counter")?;
        writeln!(
            out,
            "bindbridge_deploys_total{{result=\"ok\"}} {}",
            load(&self.deploys_ok)
        )?;
        writeln!(
            out,
            "bindbridge_deploys_total{{result=\"failed\"}} {}",
            load(&self.deploys_failed)
        )?;
        writeln!(
            out,
            "# HELP bindbridge_deploy_duration_seconds From rendering a zone to named serving its new serial."
        )?;
        writeln!(out, "# TYPE bindbridge_deploy_duration_seconds histogram")?;
        let mut cumulative = 0;
        for (i, bucket) in self.deploy_buckets.iter().enumerate() {
            cumulative += load(bucket);
            let le = DEPLOY_BUCKETS
                .get(i)
                .map_or("+Inf".to_string(), |b| b.to_string());
            writeln!(
                out,
                "bindbridge_deploy_duration_seconds_bucket{{le=\"{le}\"}} {cumulative}"
            )?;
        }
        writeln!(
            out,
            "bindbridge_deploy_duration_seconds_sum {}",
            load(&self.deploy_micros) as f64 / 1e6
        )?;
        writeln!(out, "bindbridge_deploy_duration_seconds_count {cumulative}")?;
        writeln!(out, "# HELP bindbridge_zones Zones by deploy state.")?;
        writeln!(out, "# TYPE bindbridge_zones gauge")?;
        for state in ["pending", "deployed", "failed"] {
            let count = zones.by_state.get(state).copied().unwrap_or(0);
            writeln!(out, "bindbridge_zones{{state=\"{state}\"}} {count}")?;
        }
        writeln!(
            out,
            "# HELP bindbridge_deploy_queue Zones with changes named does not serve yet."
        )?;
        writeln!(out, "# TYPE bindbridge_deploy_queue gauge")?;
        writeln!(out, "bindbridge_deploy_queue {}", zones.queue)?;
        writeln!(
            out,
            "# HELP bindbridge_secondary_zones Deployed zones by what a secondary serves: the deployed serial (in_sync), another or none (behind), or no answer (unreachable)."
        )?;
        writeln!(out, "# TYPE bindbridge_secondary_zones gauge")?;
        for (secondary, gauge) in &zones.secondaries {
            for (state, count) in [
                ("in_sync", gauge.in_sync),
                ("behind", gauge.behind),
                ("unreachable", gauge.unreachable),
            ] {
                writeln!(
                    out,
                    "bindbridge_secondary_zones{{secondary=\"{secondary}\",state=\"{state}\"}} {count}"
                )?;
            }
        }
        writeln!(
            out,
            "# HELP bindbridge_secondary_lag_seconds Seconds since the oldest deploy a secondary does not serve yet (0: in sync)."
        )?;
        writeln!(out, "# TYPE bindbridge_secondary_lag_seconds gauge")?;
        for (secondary, gauge) in &zones.secondaries {
            writeln!(
                out,
                "bindbridge_secondary_lag_seconds{{secondary=\"{secondary}\"}} {}",
                gauge.lag_seconds
            )?;
        }
        writeln!(
            out,
            "# HELP bindbridge_api_requests_total API requests answered, by route, method and status."
        )?;
        writeln!(out, "# TYPE bindbridge_api_requests_total counter")?;
        let requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        for ((route, method, status), count) in requests.iter() {
            writeln!(
                out,
                "bindbridge_api_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {count}"
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_format_has_every_family_and_cumulative_buckets() {
        let metrics = Metrics::default();
        metrics.deploy_ok(Duration::from_millis(3));
        metrics.deploy_ok(Duration::from_millis(40));
        metrics.deploy_failed();
        metrics.request("/api/v1/dns-zones", "GET", 200);
        metrics.request("/api/v1/dns-zones", "GET", 200);
        let lagging = crate::store::SecondaryGauge {
            in_sync: 3,
            behind: 1,
            unreachable: 0,
            lag_seconds: 7,
        };
        let zones = ZoneGauges {
            by_state: BTreeMap::from([("deployed".to_string(), 4)]),
            queue: 1,
            secondaries: BTreeMap::from([("192.0.2.2:53".to_string(), lagging)]),
        };
        let text = metrics.render(&zones);
        for line in [
            "bindbridge_deploys_total{result=\"ok\"} 2",
            "bindbridge_secondary_zones{secondary=\"192.0.2.2:53\",state=\"in_sync\"} 3",
            "bindbridge_secondary_zones{secondary=\"192.0.2.2:53\",state=\"behind\"} 1",
            "bindbridge_secondary_lag_seconds{secondary=\"192.0.2.2:53\"} 7",
            "bindbridge_deploys_total{result=\"failed\"} 1",
            "bindbridge_deploy_duration_seconds_bucket{le=\"0.005\"} 1",
            "bindbridge_deploy_duration_seconds_bucket{le=\"0.05\"} 2",
            "bindbridge_deploy_duration_seconds_bucket{le=\"+Inf\"} 2",
            "bindbridge_deploy_duration_seconds_count 2",
            "bindbridge_zones{state=\"deployed\"} 4",
            "bindbridge_zones{state=\"failed\"} 0",
            "bindbridge_deploy_queue 1",
            "bindbridge_api_requests_total{route=\"/api/v1/dns-zones\",method=\"GET\",status=\"200\"} 2",
        ] {
            assert!(
                text.contains(&format!("{line}\n")),
                "no {line:?} in\n{text}"
            );
        }
    }
}
