//! The check of the secondaries: after deploys, each configured secondary
//! is asked for the SOA of every zone it does not serve at the deployed
//! serial yet, until it does. What it answers is recorded per zone (the
//! zone detail's `deploy.secondaries`, `/metrics`).
//!
//! A secondary that lags is a warning, never a failed deploy: named serves
//! the zone, and the secondary transfers it from there when it can. A
//! secondary that answers but still serves an old serial a few seconds
//! after a deploy missed the NOTIFY (it was down, say), or that lacks a
//! zone its current catalog lists (its first transfer failed): named is
//! asked to send it again (`rndc notify`), rather than leaving the
//! secondary to its next refresh or retry, minutes or hours away.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{info, warn};

use super::named::{Named, Unreachable, soa_serial};
use crate::config::DeployConfig;
use crate::store::shape::{absolute_domain, stored_domain};
use crate::store::{SecondaryCheck, Seen, Store, now_unix};

/// How many SOA queries are in flight to one secondary at once.
const IN_FLIGHT: usize = 32;
/// The first and the longest wait between two checks of a secondary that
/// is behind.
const RETRY_FIRST: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_secs(2);
/// How long after a deploy a secondary that answers with another serial
/// is taken to have missed the NOTIFY; how often at most, and how many
/// times for one serial, a zone's NOTIFY is sent again (a secondary that
/// cannot transfer, with a wrong key say, is then left to its refresh and
/// to the warnings); how many are sent in one round at most.
const RENOTIFY_AFTER: i64 = 3;
/// How long after its deploy a zone may be missing from a secondary whose
/// catalog is current before its NOTIFY is sent again: long enough for a
/// backlog of transfers after a bulk import, far less than the secondary's
/// own retry of a failed first transfer (min-retry-time, 500 s).
const RENOTIFY_MISSING_AFTER: i64 = 60;
const RENOTIFY_EVERY: Duration = Duration::from_secs(30);
const RENOTIFY_TRIES: u32 = 3;
const RENOTIFY_PER_ROUND: usize = 16;

/// Follows what the configured secondaries serve.
pub struct SecondaryWatch {
    store: Store,
    /// By name (`address:port` as configured): where it answers DNS.
    secondaries: Vec<(String, SocketAddr)>,
    /// The catalog zone, asked first: a secondary that does not answer for
    /// it is marked unreachable for every zone without asking each.
    catalog: String,
    lag_warning: Duration,
    /// Every zone is asked again this often, in sync or not, so that a
    /// secondary that lost zones (rebuilt, say) is seen.
    full_check: Duration,
    /// `(zone, secondary, serial)` already warned of.
    warned: HashSet<(i64, String, u32)>,
    /// The primary, to send NOTIFY again.
    named: Named,
    /// Each zone's NOTIFY sent again, by absolute name.
    renotified: HashMap<String, Renotified>,
    /// Since when each secondary's catalog has been behind the primary's.
    catalog_behind: HashMap<String, Instant>,
}

impl SecondaryWatch {
    /// A watch of the secondaries of `config`; `None` if it lists none.
    pub fn new(store: Store, config: &DeployConfig) -> Result<Option<SecondaryWatch>, String> {
        if config.secondaries.is_empty() {
            return Ok(None);
        }
        Ok(Some(SecondaryWatch {
            store,
            secondaries: config
                .secondaries
                .iter()
                .map(|s| (s.dns().to_string(), s.dns()))
                .collect(),
            catalog: config.catalog_origin()?.to_string(),
            lag_warning: Duration::from_secs(config.secondary_lag_warning),
            full_check: Duration::from_secs(config.reconcile_interval),
            warned: HashSet::new(),
            named: Named::new(config),
            renotified: HashMap::new(),
            catalog_behind: HashMap::new(),
        }))
    }

    /// Checks until the task is dropped: at start, after each change of
    /// `deployed`, again and again while a secondary is behind, and every
    /// full-check interval.
    pub async fn run(mut self, mut deployed: watch::Receiver<u64>) {
        let names: Vec<String> = self.secondaries.iter().map(|(n, _)| n.clone()).collect();
        if let Err(e) = self.store.keep_secondaries(&names).await {
            warn!("cannot forget the secondaries no longer configured: {e}");
        }
        let mut last_full: Option<Instant> = None;
        let mut retry = RETRY_FIRST;
        loop {
            let full = last_full.is_none_or(|t| t.elapsed() >= self.full_check);
            if full {
                last_full = Some(Instant::now());
            }
            let behind = match self.round(full).await {
                Ok(behind) => behind,
                Err(e) => {
                    warn!("cannot check the secondaries: {e}");
                    1
                }
            };
            let wait = match behind {
                0 => {
                    retry = RETRY_FIRST;
                    self.full_check
                }
                _ => {
                    let wait = retry;
                    retry = (retry * 2).min(RETRY_MAX);
                    wait
                }
            };
            tokio::select! {
                _ = deployed.changed() => retry = RETRY_FIRST,
                _ = tokio::time::sleep(wait) => {}
            }
            deployed.mark_unchanged();
        }
    }

    /// Asks each secondary about the zones it is not known to serve at the
    /// deployed serial (every zone if `full`), records what changed, warns
    /// of long lags. Returns how many (zone, secondary) pairs are behind.
    async fn round(&mut self, full: bool) -> Result<usize, crate::store::StoreError> {
        let checks = self
            .store
            .secondary_checks(full, self.secondaries.len())
            .await?;
        let mut answers: Vec<(i64, &str, Seen)> = Vec::new();
        let mut behind = 0;
        // Zones (absolute names) whose NOTIFY a secondary seems to have
        // missed, with the serial it should serve.
        let mut missed_notify: Vec<(String, u32)> = Vec::new();
        let primary_catalog = self.named.served_serial(&self.catalog).await.ok().flatten();
        for (name, dns) in &self.secondaries {
            // Its catalog first: no answer, and it is unreachable for every
            // zone; behind the primary's for a while, and it missed the
            // NOTIFY of the catalog, and with it zones added or deleted.
            let catalog = soa_serial(*dns, &self.catalog).await;
            let catalog_current =
                matches!((&catalog, primary_catalog), (Ok(Some(s)), Some(p)) if *s == p);
            match (&catalog, primary_catalog) {
                (Ok(serial), Some(primary)) if *serial != Some(primary) => {
                    behind += 1;
                    let since = self
                        .catalog_behind
                        .entry(name.clone())
                        .or_insert_with(Instant::now);
                    if since.elapsed() >= Duration::from_secs(RENOTIFY_AFTER as u64) {
                        missed_notify.push((self.catalog.clone(), primary));
                    }
                }
                _ => {
                    self.catalog_behind.remove(name);
                }
            }
            let due: Vec<&SecondaryCheck> = checks
                .iter()
                .filter(|c| full || !in_sync(c, name))
                .collect();
            if due.is_empty() {
                continue;
            }
            let seen = match catalog {
                Err(Unreachable(reason)) => vec![
                    Seen {
                        serial: None,
                        error: Some(reason),
                    };
                    due.len()
                ],
                Ok(_) => {
                    ask_each(
                        *dns,
                        due.iter().map(|c| absolute_domain(&c.domain)).collect(),
                    )
                    .await
                }
            };
            let now = now_unix();
            for (check, seen) in due.into_iter().zip(seen) {
                if seen.serial != Some(check.deployed_serial) || seen.error.is_some() {
                    behind += 1;
                    let lag = now - check.deployed_at;
                    // It has the zone at an older serial: a missed NOTIFY.
                    // It lacks the zone though its catalog is current: its
                    // first transfer failed, and named tries again only
                    // after min-retry-time (500 s by default); a NOTIFY
                    // makes it try at once. (A zone it lacks while its
                    // catalog is behind comes with the catalog.)
                    let missed = match seen.serial {
                        Some(_) => lag >= RENOTIFY_AFTER,
                        // Not while a bulk of new zones is still queued
                        // for transfer on the secondary.
                        None => catalog_current && lag >= RENOTIFY_MISSING_AFTER,
                    };
                    if seen.error.is_none() && missed {
                        missed_notify.push((absolute_domain(&check.domain), check.deployed_serial));
                    }
                    let key = (check.zone_id, name.clone(), check.deployed_serial);
                    if lag >= self.lag_warning.as_secs() as i64 && self.warned.insert(key) {
                        warn!(
                            zone = %check.domain,
                            secondary = %name,
                            serial = check.deployed_serial,
                            serves = ?seen.serial,
                            error = seen.error.as_deref().unwrap_or(""),
                            "the secondary has not served the deployed serial for {lag} s"
                        );
                    }
                }
                if check.seen.get(name) != Some(&seen) {
                    answers.push((check.zone_id, name.as_str(), seen));
                }
            }
        }
        self.store.record_secondaries(&answers).await?;
        self.notify_again(missed_notify).await;
        // Warnings of zones caught up (or deleted) need not be kept.
        if behind == 0 {
            self.warned.clear();
        }
        Ok(behind)
    }
    /// Has named send the NOTIFY of each of `zones` (absolute names, with
    /// the serial a secondary should serve) again: once per zone, not
    /// twice within [`RENOTIFY_EVERY`], at most [`RENOTIFY_TRIES`] times
    /// for one serial, at most [`RENOTIFY_PER_ROUND`] zones.
    async fn notify_again(&mut self, zones: Vec<(String, u32)>) {
        // Forgotten after an hour: then tried again, a few times.
        self.renotified
            .retain(|_, r| r.at.elapsed() < Duration::from_secs(3600));
        let mut sent = 0;
        for (zone, serial) in zones {
            let tries = match self.renotified.get(&zone) {
                Some(r) if r.serial == serial => {
                    if r.tries >= RENOTIFY_TRIES || r.at.elapsed() < RENOTIFY_EVERY {
                        continue;
                    }
                    r.tries + 1
                }
                _ => 1,
            };
            if sent == RENOTIFY_PER_ROUND {
                break;
            }
            sent += 1;
            let at = Instant::now();
            self.renotified
                .insert(zone.clone(), Renotified { at, serial, tries });
            if tries == RENOTIFY_TRIES {
                warn!(
                    zone = %zone,
                    serial,
                    "a secondary still does not serve the serial: its NOTIFY is sent a \
                     last time (try {tries}); after that the secondary is left to its refresh"
                );
            }
            match self.named.rndc(&["notify", &stored_domain(&zone)]).await {
                Ok(_) => info!(zone = %zone, "a secondary missed the NOTIFY: sent again"),
                Err(Unreachable(reason)) => {
                    warn!(zone = %zone, "cannot send the NOTIFY again: {reason}");
                }
            }
        }
    }
}

/// A zone's NOTIFY sent again: when last, for which serial, how often.
struct Renotified {
    at: Instant,
    serial: u32,
    tries: u32,
}

/// True if the secondary `name` was last seen serving the deployed serial.
fn in_sync(check: &SecondaryCheck, name: &str) -> bool {
    check
        .seen
        .get(name)
        .is_some_and(|s| s.error.is_none() && s.serial == Some(check.deployed_serial))
}

/// The SOA serial of each of `zones` at `dns`, in their order.
async fn ask_each(dns: SocketAddr, zones: Vec<String>) -> Vec<Seen> {
    futures_util::stream::iter(zones.into_iter().map(|zone| async move {
        match soa_serial(dns, &zone).await {
            Ok(serial) => Seen {
                serial,
                error: None,
            },
            Err(Unreachable(reason)) => Seen {
                serial: None,
                error: Some(reason),
            },
        }
    }))
    .buffered(IN_FLIGHT)
    .collect()
    .await
}
