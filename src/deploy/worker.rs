//! The deploy loop: every zone whose `version > deployed_version` is
//! rendered, checked, swapped in and proved served by named.
//!
//! One pass at a time, so each zone has one deploy at a time. A pass starts
//! as soon as a change is committed (no waiting to gather more); writes
//! that arrive during it are picked up by the next, which deploys the
//! latest version once (a burst of writes becomes a few deploys).
//!
//! A pass works in batches of up to 64 zones, proved by named-checkzone
//! concurrently. New and deleted zones change the include file, rewritten
//! at most every 2 s of a pass and at its end, each time with one `rndc
//! reconfig` and one deploy of the catalog zone, which follows the zone
//! set so that secondaries follow it too.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{Instrument, debug, info, info_span, warn};

use super::catalog::{catalog_zone, file_serial, member_label};
use super::files::{self, Replication};
use super::named::{Named, Unreachable, soa_serial};
use super::plan::{Plan, plan, spacing, zone_serial};
use crate::atomic::{self, Staged};
use crate::config::{DeployConfig, Secondary};
use crate::metrics::Metrics;
use crate::render::{Template, render_to_vec};
use crate::store::shape::{absolute_domain, domain_text, stored_domain};
use crate::store::{DeployTarget, Store, StoreError, now_unix};
use crate::zone::Name;
use crate::zone::serial::{Policy, next_serial};

/// How often named is asked for the new serial while a load is young, and
/// after that.
const POLL_FAST: Duration = Duration::from_millis(2);
const POLL_SLOW: Duration = Duration::from_millis(25);
/// How long a load counts as young.
const POLL_FAST_FOR: Duration = Duration::from_millis(500);
/// How many zones of a flush are waited for at once.
const PROVE_AHEAD: usize = 32;
/// The longest wait between retries while named or rndc is down.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The deploy worker.
pub struct Deployer {
    store: Store,
    named: Named,
    zone_dir: PathBuf,
    include_file: PathBuf,
    policy: Policy,
    serve_timeout: Duration,
    reconcile_interval: Duration,
    /// Shared with the blocking threads that render and write zones.
    template: Arc<Template>,
    /// The domains of the zones of the include file (what named is
    /// configured to load); their files are [`files::zone_file`]'s.
    included: BTreeSet<String>,
    /// Versions refused for reasons a retry would not fix (named-checkzone
    /// said no, or named would not load it), by zone id: retried only when
    /// the zone changes again.
    refused: HashMap<i64, i64>,
    /// Zones failed for a reason of their own (not a verdict of
    /// named-checkzone or named): taken out of `refused` at the next
    /// reconcile, so that a disk or directory put right is used again.
    retry: HashSet<i64>,
    /// Deployed zones to deploy again: their file was changed behind
    /// bindbridge's back, or named does not serve them. Looked for at the
    /// first pass after start and whenever the include file was removed or
    /// changed by someone else ([`Deployer::restore`]).
    drifted: HashSet<i64>,
    restored: bool,
    /// The include file's size and time when bindbridge last wrote or read
    /// it: anything else means someone else changed it.
    include_seen: Option<(u64, std::time::SystemTime)>,
    /// Domains taken out of the include file whose files are to be removed
    /// once named has read it (kept across a failed `rndc reconfig`).
    removing: BTreeSet<String>,
    /// Files of zones under a name of an older bindbridge, to remove once
    /// the include file names their new files.
    stale: Vec<PathBuf>,
    metrics: Arc<Metrics>,
    catalog: Catalog,
    /// The secondaries every zone statement notifies and lets transfer.
    secondaries: Vec<Secondary>,
    /// Their TSIG keys, which the include file includes.
    key_file: Option<PathBuf>,
    /// Bumped after each pass that deployed something, for the check of
    /// the secondaries.
    deployed: watch::Sender<u64>,
}

/// The catalog zone, as named has it.
struct Catalog {
    origin: Name,
    /// Its domain as the include file writes it (lower case, no final dot).
    domain: String,
    path: PathBuf,
    /// True if the include file has it.
    included: bool,
    /// The serial and members named serves, once known.
    deployed: Option<(u32, Members)>,
    /// Members whose catalog was refused: not tried again until they change.
    refused: Option<Members>,
}

/// A catalog's members: member label → zone domain.
type Members = BTreeMap<String, String>;

/// What a deploy puts in named.
enum Subject {
    /// A zone of the store.
    Zone(DeployTarget),
    /// The catalog zone with these members.
    Catalog(Members),
}

/// One deploy of a file to named: what it is, and where it goes.
struct Deploy {
    subject: Subject,
    /// The version that was rendered.
    version: i64,
    serial: u32,
    origin: String,
    /// Its file.
    path: PathBuf,
    /// True if named is configured to load it.
    included: bool,
    /// True if its file exists.
    on_disk: bool,
    /// When it began.
    started: Instant,
    /// Its span.
    span: tracing::Span,
}

impl Deploy {
    /// `bytes`, the file's new content, written beside it in `dir`.
    fn stage(self, dir: &Path, bytes: &[u8]) -> Result<StagedZone, DeployError> {
        let staged = Staged::write(dir, bytes).map_err(|e| zone_io("write in", dir, e))?;
        Ok(StagedZone {
            deploy: self,
            staged,
        })
    }
}

/// A zone rendered and written beside its file, waiting for
/// named-checkzone.
struct StagedZone {
    deploy: Deploy,
    staged: Staged,
}

/// How many zones are staged, then checked concurrently, at a time.
const CHECK_BATCH: usize = 64;
/// How many zones of a batch are read, rendered and written at once.
const STAGE_AHEAD: usize = 8;

/// A future of a stream of a batch's deploys, boxed with the batch's
/// lifetime spelled out: the compiler cannot prove an unboxed stream of
/// borrowing futures Send for spawn.
type Boxed<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;
/// How long zones swapped in during a long pass may wait to be added to
/// named's configuration, served and listed in the catalog.
const FLUSH_AFTER: Duration = Duration::from_secs(2);

/// A zone written to disk in this pass, waiting to be proved served.
struct Installed {
    deploy: Deploy,
    /// The file it replaced, kept until named serves the new one.
    last_good: Option<PathBuf>,
}

/// Why a pass stopped early: named, rndc, the store or the include file
/// cannot be reached; everything not done is retried after a backoff.
type PassResult<T = ()> = Result<T, Unreachable>;

/// Why one deploy did not go through.
#[derive(Debug)]
enum DeployError {
    /// Nothing can be deployed now (named, rndc or the store cannot be
    /// reached): the pass stops, and is retried after a backoff.
    Unreachable(Unreachable),
    /// This zone cannot be deployed (it cannot be rendered, its file cannot
    /// be read or written, it has no serial above the deployed one): it
    /// alone is failed, with this message, and the pass goes on with the
    /// other zones. Retried at the next reconcile, or when it changes.
    Zone(String),
}

impl From<Unreachable> for DeployError {
    fn from(e: Unreachable) -> DeployError {
        DeployError::Unreachable(e)
    }
}

fn store_down(e: StoreError) -> Unreachable {
    Unreachable(format!("the store: {e}"))
}

/// A file of the include's, which every zone needs: the pass waits.
fn io_error(what: &str, path: &Path, e: std::io::Error) -> Unreachable {
    Unreachable(format!("cannot {what} {}: {e}", path.display()))
}

/// A file of one zone's: that zone fails.
fn zone_io(what: &str, path: &Path, e: std::io::Error) -> DeployError {
    DeployError::Zone(format!("cannot {what} {}: {e}", path.display()))
}

impl Deployer {
    /// A worker for `config`, with its zone directory and include file
    /// created if missing (the include file empty).
    pub fn new(
        store: Store,
        config: &DeployConfig,
        metrics: Arc<Metrics>,
    ) -> Result<Deployer, String> {
        std::fs::create_dir_all(&config.zone_dir)
            .map_err(|e| format!("cannot create {}: {e}", config.zone_dir.display()))?;
        remove_leftovers(&config.zone_dir)?;
        let listed = match std::fs::read_to_string(&config.include_file) {
            Ok(text) => files::included_zones(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                return Err(format!(
                    "cannot read {}: {e}",
                    config.include_file.display()
                ));
            }
        };
        // Files under a name that is no longer theirs (an older bindbridge
        // named a long domain's file after all of it): linked to their new
        // name now, removed once the include file names that.
        let mut stale = Vec::new();
        for (domain, old) in &listed {
            let new = files::zone_file(&config.zone_dir, domain);
            if *old != new {
                stale.extend(move_zone_file(old, &new));
            }
        }
        let mut included: BTreeSet<String> = listed.into_iter().map(|(d, _)| d).collect();
        let origin = config.catalog_origin()?;
        let domain = domain_text(origin.wire());
        // The catalog has a statement of its own, not one of a zone's.
        let before = included.len();
        included.retain(|d| !d.eq_ignore_ascii_case(&domain));
        let path = files::zone_file(&config.zone_dir, &domain);
        let catalog = Catalog {
            // Also when the include file lost it: its file is the one
            // secondaries follow, and dropping it would drop every zone.
            included: included.len() < before || path.is_file(),
            path,
            origin,
            domain,
            deployed: None,
            refused: None,
        };
        if !config.include_file.exists() {
            if let Some(dir) = config.include_file.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            let empty = files::include_text(&[], None, &Replication::default());
            atomic::replace(&config.include_file, empty.as_bytes())
                .map_err(|e| format!("cannot write {}: {e}", config.include_file.display()))?;
        }
        Ok(Deployer {
            store,
            named: Named::new(config),
            zone_dir: config.zone_dir.clone(),
            include_file: config.include_file.clone(),
            policy: config.serial_policy,
            serve_timeout: Duration::from_secs(config.serve_timeout),
            reconcile_interval: Duration::from_secs(config.reconcile_interval),
            template: Arc::new(Template::builtin()),
            included,
            refused: HashMap::new(),
            retry: HashSet::new(),
            drifted: HashSet::new(),
            restored: false,
            include_seen: None,
            removing: BTreeSet::new(),
            stale,
            metrics,
            catalog,
            secondaries: config.secondaries.clone(),
            key_file: config.key_file.clone(),
            deployed: watch::Sender::new(0),
        })
    }

    /// Changes after each pass that deployed something.
    pub fn deployed(&self) -> watch::Receiver<u64> {
        self.deployed.subscribe()
    }

    /// Deploys until the task is dropped: a pass at start (the reconcile
    /// after a restart), then one after each change to the store, after
    /// `wake` fires (another process changed the database) and every
    /// reconcile interval. While named is unreachable, passes back off.
    pub async fn run(mut self, mut wake: watch::Receiver<u64>) {
        let mut changes = self.store.watch_changes();
        let mut backoff: Option<Duration> = None;
        let mut next_pass = Instant::now();
        loop {
            tokio::time::sleep_until(next_pass).await;
            let (started, seen) = (Instant::now(), *changes.borrow_and_update());
            let done = self.pass().await;
            next_pass = Instant::now() + spacing(started.elapsed(), seen, *changes.borrow());
            match done {
                Ok(()) => backoff = None,
                Err(Unreachable(reason)) => {
                    let next = backoff.map_or(Duration::from_secs(1), |b| (b * 2).min(MAX_BACKOFF));
                    warn!("deploys paused for {next:?}: {reason}");
                    backoff = Some(next);
                }
            }
            match backoff {
                Some(wait) => tokio::time::sleep(wait).await,
                None => {
                    let reconcile = tokio::select! {
                        _ = changes.changed() => false,
                        _ = wake.changed() => false,
                        _ = tokio::time::sleep(self.reconcile_interval) => true,
                    };
                    if reconcile {
                        for id in self.retry.drain() {
                            self.refused.remove(&id);
                        }
                    }
                }
            }
            changes.mark_unchanged();
            wake.mark_unchanged();
        }
    }

    /// One pass over every zone.
    pub async fn pass(&mut self) -> PassResult {
        let targets = self.store.deploy_targets().await.map_err(store_down)?;
        if self.restored && self.include_seen != fingerprint(&self.include_file) {
            warn!(
                file = %self.include_file.display(),
                "the include file was removed or changed outside bindbridge; writing it again from the store"
            );
            self.restored = false;
        }
        if !self.restored {
            self.restore(&targets).await?;
            self.restored = true;
        }
        let drifted = std::mem::take(&mut self.drifted);
        let Plan { due, gone } = plan(&targets, &self.included, &drifted, &self.refused);
        // In batches: the zones of a batch are rendered and written beside
        // their files, proved by named-checkzone at once (one run per
        // core), and swapped in. Every FLUSH_AFTER, and at the end, the
        // zones swapped in so far are added to named's configuration (one
        // reconfig), proved served and listed in the catalog: a zone
        // created during a bulk import waits for one flush, not for the
        // whole import, and so do the secondaries.
        let batches: Vec<&[&DeployTarget]> = match due.is_empty() {
            true => vec![&[]],
            false => due.chunks(CHECK_BATCH).collect(),
        };
        let done = self.deploy_batches(&batches, gone, &targets).await;
        if done.is_err() {
            // Not deployed yet: still to do after the backoff.
            self.drifted.extend(drifted);
        }
        done
    }

    /// Stages, proves and swaps in each batch, flushing every
    /// [`FLUSH_AFTER`] and after the last.
    async fn deploy_batches(
        &mut self,
        batches: &[&[&DeployTarget]],
        mut gone: Vec<String>,
        targets: &[DeployTarget],
    ) -> PassResult {
        let last = batches.len() - 1;
        let mut installed = Vec::new();
        let mut since = Instant::now();
        for (i, batch) in batches.iter().enumerate() {
            self.install_batch(batch, &mut installed).await?;
            if i == last || since.elapsed() >= FLUSH_AFTER {
                let gone = std::mem::take(&mut gone);
                self.flush(std::mem::take(&mut installed), gone, targets)
                    .await?;
                since = Instant::now();
            }
        }
        Ok(())
    }

    /// Makes named serve the zones `installed` and drop the `gone` ones,
    /// proves each served, and deploys the catalog to match.
    async fn flush(
        &mut self,
        installed: Vec<Installed>,
        gone: Vec<String>,
        targets: &[DeployTarget],
    ) -> PassResult {
        let changed = !installed.is_empty() || !gone.is_empty();
        let (count, started) = (installed.len(), Instant::now());
        self.reconfigure(&installed, &gone).await?;
        let reconfigured = started.elapsed();
        // named loads the zones in an order of its own, and answers the
        // slower the busier it is (loading zones, transferring them to
        // secondaries): many zones asked about at once hide that.
        let waits: Vec<Boxed<'_, Result<Option<u32>, Unreachable>>> = (installed.iter())
            .map(|zone| {
                let wait = wait_served(&self.named, &zone.deploy, self.serve_timeout);
                Box::pin(wait.instrument(zone.deploy.span.clone())) as Boxed<'_, _>
            })
            .collect();
        let served: Vec<_> = futures_util::stream::iter(waits)
            .buffered(PROVE_AHEAD)
            .collect()
            .await;
        for (zone, served) in installed.into_iter().zip(served) {
            let span = zone.deploy.span.clone();
            self.settle(zone, served?).instrument(span).await?;
        }
        let proved = started.elapsed();
        self.deploy_catalog(targets).await?;
        if changed {
            self.deployed.send_modify(|n| *n += 1);
            debug!(
                zones = count,
                gone = gone.len(),
                reconfig_ms = reconfigured.as_millis() as u64,
                served_ms = (proved - reconfigured).as_millis() as u64,
                catalog_ms = (started.elapsed() - proved).as_millis() as u64,
                "flushed"
            );
        }
        Ok(())
    }

    /// Rewrites the include file if it is not what the configuration makes
    /// of its zones (secondaries or their keys changed since it was
    /// written), and has named read it again.
    async fn sync_include(&mut self) -> PassResult {
        let on_disk = std::fs::read_to_string(&self.include_file).unwrap_or_default();
        if on_disk != self.include_text() {
            info!(file = %self.include_file.display(), "the zone statements changed with the configuration or the store; rewriting them");
            self.write_include()?;
            self.named.rndc(&["reconfig"]).await?;
        } else {
            self.include_seen = fingerprint(&self.include_file);
        }
        Ok(())
    }

    /// Adds the zones of `installed` that named does not have yet to its
    /// configuration and takes the `gone` zones out (their files removed):
    /// one rewrite of the include file and one `rndc reconfig`, if either
    /// changes anything.
    async fn reconfigure(&mut self, installed: &[Installed], gone: &[String]) -> PassResult {
        let added: Vec<&Installed> = installed
            .iter()
            .filter(|z| match &z.deploy.subject {
                Subject::Zone(target) => !self.included.contains(&target.domain),
                Subject::Catalog(_) => false,
            })
            .collect();
        if added.is_empty() && gone.is_empty() && self.removing.is_empty() {
            return Ok(());
        }
        let added: Vec<String> = added
            .into_iter()
            .filter_map(|zone| subject_of(&zone.deploy).map(|t| t.domain))
            .collect();
        self.included.extend(added);
        for domain in gone {
            self.included.remove(domain);
        }
        // Remembered until named has read the include file without them:
        // a failed reconfig must not leave their files behind for good.
        self.removing.extend(gone.iter().cloned());
        self.write_include()?;
        self.named.rndc(&["reconfig"]).await?;
        for domain in std::mem::take(&mut self.removing) {
            // Created again meanwhile: the file is the new zone's.
            if self.included.contains(&domain) {
                continue;
            }
            let path = files::zone_file(&self.zone_dir, &domain);
            for file in [last_good_path(&path), journal_path(&path), path] {
                remove_if_there(&file);
            }
            info!(zone = %domain, "zone removed from named");
        }
        Ok(())
    }

    /// Deploys the catalog zone if the zones named serves are not the
    /// members it lists (or named does not serve it): after the zones are
    /// proved served, so that a secondary told of a zone can transfer it.
    ///
    /// Its members are the zones of the store that named serves or has
    /// served: a zone the store still holds never leaves it (a secondary
    /// would drop the zone at once), even while named does not serve it.
    /// A catalog that cannot be deployed is reported and tried again at the
    /// next pass; the zones' deploys go on.
    async fn deploy_catalog(&mut self, targets: &[DeployTarget]) -> PassResult {
        let members: Members = targets
            .iter()
            .filter(|t| self.included.contains(&t.domain) || t.deployed_serial.is_some())
            .filter(|t| !t.domain.eq_ignore_ascii_case(&self.catalog.domain))
            .map(|t| (member_label(&t.uuid), t.domain.clone()))
            .collect();
        match self.deploy_catalog_with(members).await {
            Ok(()) => Ok(()),
            Err(DeployError::Unreachable(e)) => Err(e),
            Err(DeployError::Zone(reason)) => self.give_up(None, reason).await,
        }
    }

    async fn deploy_catalog_with(&mut self, members: Members) -> Result<(), DeployError> {
        let catalog = &self.catalog;
        if catalog.included
            && catalog
                .deployed
                .as_ref()
                .is_some_and(|(_, m)| *m == members)
            || catalog.refused.as_ref() == Some(&members)
        {
            return Ok(());
        }
        let origin = catalog.origin.to_string();
        let path = catalog.path.clone();
        let included = catalog.included;
        let span = info_span!(
            "deploy",
            zone = %origin,
            members = members.len(),
            serial = tracing::field::Empty
        );
        let started = Instant::now();
        let served = match included {
            true => self.named.served_serial(&origin).await?,
            false => None,
        };
        let on_disk = read_zone_file(&path)?;
        // After a restart: what named serves may be these very members.
        if let (None, Some(serial), Some(disk)) = (&self.catalog.deployed, served, &on_disk)
            && self.render_catalog(serial, &members)? == *disk
        {
            self.catalog.deployed = Some((serial, members));
            return Ok(());
        }
        // Above every serial of it named or a secondary may have seen: what
        // named serves, what was deployed, the file's; and when named does
        // not serve it (just included, or rolled back), the secondaries'.
        let mut floors: Vec<u32> = [
            served,
            self.catalog.deployed.as_ref().map(|(s, _)| *s),
            on_disk
                .as_deref()
                .and_then(|disk| file_serial(disk, &self.catalog.origin)),
        ]
        .into_iter()
        .flatten()
        .collect();
        if served.is_none() {
            for secondary in &self.secondaries {
                if let Ok(Some(seen)) = soa_serial(secondary.dns(), &origin).await {
                    floors.push(seen);
                }
            }
        }
        let last = floors.iter().copied().max().unwrap_or(0);
        let serial = next_serial(self.policy, last, &floors, now_unix())
            .map_err(|e| DeployError::Zone(format!("no serial for {origin}: {e}")))?;
        span.record("serial", serial);
        let bytes = self.render_catalog(serial, &members)?;
        let zone = Deploy {
            subject: Subject::Catalog(members),
            version: 0,
            serial,
            origin,
            path,
            included,
            on_disk: on_disk.is_some(),
            started,
            span: span.clone(),
        }
        .stage(&self.zone_dir, &bytes)?;
        let Some(zone) = self.check_and_swap(vec![zone]).await?.pop() else {
            return Ok(());
        };
        if !included {
            self.catalog.included = true;
            self.write_include()?;
            self.named.rndc(&["reconfig"]).await?;
        }
        Ok(self.prove(zone).instrument(span).await?)
    }

    fn render_catalog(&self, serial: u32, members: &Members) -> Result<Vec<u8>, DeployError> {
        let zone =
            catalog_zone(&self.catalog.origin, serial, members).map_err(DeployError::Zone)?;
        render(&self.template, &zone)
    }

    /// Stages every zone of `batch`, proves the staged files with
    /// named-checkzone concurrently, and swaps in those it accepts (the
    /// others are failed); the swapped ones join `installed`.
    async fn install_batch(
        &mut self,
        batch: &[&DeployTarget],
        installed: &mut Vec<Installed>,
    ) -> PassResult {
        let mut to_stage = Vec::new();
        for target in batch {
            if target.domain.eq_ignore_ascii_case(&self.catalog.domain) {
                let reason = format!(
                    "{} is the name of the catalog zone (deploy.catalog_zone)",
                    self.catalog.origin
                );
                self.fail(target, reason).await?;
                continue;
            }
            // One span per deploy: from reading the zone to named serving
            // it (version and serial are filled in once read and chosen).
            let span = info_span!(
                "deploy",
                zone = %target.domain,
                version = tracing::field::Empty,
                serial = tracing::field::Empty
            );
            to_stage.push((*target, span));
        }
        // A few at a time: one zone's file waits for its fsync while the
        // next ones are read and rendered (one at a time, the fsyncs were
        // most of a bulk deploy's time).
        let stages: Vec<Boxed<'_, Result<Option<StagedZone>, DeployError>>> = (to_stage.iter())
            .map(|(target, span)| {
                Box::pin(self.stage(target, span.clone()).instrument(span.clone())) as Boxed<'_, _>
            })
            .collect();
        let started = Instant::now();
        let results: Vec<_> = futures_util::stream::iter(stages)
            .buffered(STAGE_AHEAD)
            .collect()
            .await;
        let stage_took = started.elapsed();
        let mut staged = Vec::new();
        for ((target, span), result) in to_stage.into_iter().zip(results) {
            match result {
                Ok(Some(zone)) => staged.push(zone),
                // Deployed as it is (or deleted): no retry is due.
                Ok(None) => {
                    self.retry.remove(&target.id);
                }
                Err(DeployError::Unreachable(e)) => return Err(e),
                Err(DeployError::Zone(reason)) => {
                    self.fail_for_now(target, reason).instrument(span).await?;
                }
            }
        }
        let count = staged.len();
        installed.extend(self.check_and_swap(staged).await?);
        debug!(
            zones = count,
            stage_ms = stage_took.as_millis() as u64,
            check_and_swap_ms = (started.elapsed() - stage_took).as_millis() as u64,
            "batch installed"
        );
        Ok(())
    }

    /// Proves `staged` and swaps in what named would load; what it
    /// refuses is refused. The batch is loaded by one named-checkconf
    /// run ([`Named::loads`]); each zone it did not load (or every zone,
    /// when that cannot be used) is judged by named-checkzone, one run per
    /// core at once, whose output is the refusal's reason.
    async fn check_and_swap(
        &mut self,
        staged: Vec<StagedZone>,
    ) -> Result<Vec<Installed>, Unreachable> {
        let parallel = std::thread::available_parallelism().map_or(1, |n| n.get());
        let zones: Vec<(&str, &Path)> = (staged.iter())
            .map(|z| (z.deploy.origin.as_str(), z.staged.path()))
            .collect();
        let loaded = match zones.len() {
            0 | 1 => None,
            _ => self.named.loads(&zones, &self.zone_dir).await,
        }
        .unwrap_or_else(|| vec![false; staged.len()]);
        type Check<'a> = Boxed<'a, Result<Result<(), String>, Unreachable>>;
        let checks: Vec<Check<'_>> = (staged.iter().zip(loaded))
            .map(|(zone, loaded)| {
                if loaded {
                    return Box::pin(std::future::ready(Ok(Ok(())))) as Check<'_>;
                }
                let check = check(
                    &self.named,
                    &zone.deploy.origin,
                    &zone.staged,
                    &zone.deploy.path,
                );
                Box::pin(check.instrument(zone.deploy.span.clone())) as Check<'_>
            })
            .collect();
        let verdicts: Vec<_> = futures_util::stream::iter(checks)
            .buffered(parallel)
            .collect()
            .await;
        let mut installed = Vec::new();
        for (zone, verdict) in staged.into_iter().zip(verdicts) {
            let span = zone.deploy.span.clone();
            match verdict? {
                Ok(()) => {
                    let subject = subject_of(&zone.deploy);
                    match self.swap(zone).instrument(span.clone()).await {
                        Ok(done) => installed.push(done),
                        Err(DeployError::Unreachable(e)) => return Err(e),
                        Err(DeployError::Zone(reason)) => {
                            self.give_up(subject, reason).instrument(span).await?;
                        }
                    }
                }
                Err(output) => self.refuse(zone.deploy, output).instrument(span).await?,
            }
        }
        // One sync of the zone directory (every zone file's) for the
        // batch's renames, before a deploy of them is recorded.
        if let Some(zone) = installed.first() {
            atomic::sync_dir(&zone.deploy.path).map_err(|e| io_error("sync", &self.zone_dir, e))?;
        }
        Ok(installed)
    }

    /// A deploy of `subject` failed for a reason of its own: a zone is
    /// failed until the next reconcile or change, the catalog is tried
    /// again at the next pass.
    async fn give_up(&mut self, subject: Option<DeployTarget>, reason: String) -> PassResult {
        match subject {
            Some(target) => self.fail_for_now(&target, reason).await,
            None => {
                warn!("deploy of the catalog zone failed: {reason}");
                self.metrics.deploy_failed();
                Ok(())
            }
        }
    }

    /// named-checkzone refused a file: a zone is failed until it changes,
    /// the catalog is not tried again until its members change.
    async fn refuse(&mut self, deploy: Deploy, output: String) -> PassResult {
        match deploy.subject {
            Subject::Zone(target) => {
                let reason = format!("named-checkzone refused the zone: {output}");
                self.fail(&target, reason).await
            }
            Subject::Catalog(members) => {
                warn!("named-checkzone refused the catalog zone: {output}");
                self.catalog.refused = Some(members);
                self.metrics.deploy_failed();
                Ok(())
            }
        }
    }

    /// Renders the zone of `target` and writes it beside its file.
    /// `None`: nothing to deploy (the content was unchanged, or the zone
    /// was deleted).
    async fn stage(
        &self,
        target: &DeployTarget,
        span: tracing::Span,
    ) -> Result<Option<StagedZone>, DeployError> {
        let started = Instant::now();
        let (info, mut zone) = match self.store.load_zone(&target.uuid).await {
            Ok(loaded) => loaded,
            Err(StoreError::UnknownZone(_)) => return Ok(None),
            Err(e) => return Err(store_down(e).into()),
        };
        let target = DeployTarget {
            version: info.version,
            ..target.clone()
        };
        tracing::Span::current().record("version", info.version);
        let origin = zone.origin.to_string();
        let path = files::zone_file(&self.zone_dir, &target.domain);
        let included = self.included.contains(&target.domain);
        // A zone named is not configured to load has no serial there.
        let served = match included {
            true => self.named.served_serial(&origin).await?,
            false => None,
        };
        // The serial: the stored one if it is above everything named or
        // its secondaries may have seen, else the policy's next one.
        let stored = info.fields.soa.serial;
        let floors: Vec<u32> = [target.deployed_serial, served]
            .into_iter()
            .flatten()
            .collect();
        let serial = zone_serial(self.policy, stored, &floors, now_unix()).map_err(|e| {
            DeployError::Zone(format!(
                "no SOA serial for {origin} follows the stored, deployed and served ones: {e}"
            ))
        })?;
        tracing::Span::current().record("serial", serial);
        zone.set_soa_serial(serial);
        // Rendering, reading and the fsync of the staged file are the
        // long, blocking part of a deploy: off the async threads, which
        // serve the API meanwhile.
        let (template, dir, file) = (
            Arc::clone(&self.template),
            self.zone_dir.clone(),
            path.clone(),
        );
        // The file named serves may be this content under a serial not
        // recorded as deployed (a pass stopped, or bindbridge was killed,
        // after named loaded it and before the deploy was recorded): that
        // serial is then recorded, rather than the same content deployed
        // again under another one.
        let prepared =
            tokio::task::spawn_blocking(move || prepare(&template, zone, served, &file, &dir))
                .await
                .map_err(|e| DeployError::Zone(format!("the deploy of {origin} stopped: {e}")))??;
        let (staged, on_disk) = match prepared {
            Prepared::Staged { staged, on_disk } => (staged, on_disk),
            Prepared::Unchanged(served) => {
                self.store
                    .mark_deployed(target.id, target.version, served)
                    .await
                    .map_err(store_down)?;
                return Ok(None);
            }
        };
        let deploy = Deploy {
            subject: Subject::Zone(target),
            version: info.version,
            serial,
            origin,
            path,
            included,
            on_disk,
            started,
            span,
        };
        Ok(Some(StagedZone { deploy, staged }))
    }

    /// Renames a proved staged file over the zone's file, keeping the file
    /// it replaces as the last good one, and reloads the zone if named has
    /// it.
    async fn swap(&self, zone: StagedZone) -> Result<Installed, DeployError> {
        let StagedZone { deploy, staged } = zone;
        let path = &deploy.path;
        let last_good = match deploy.on_disk && deploy.included {
            true => {
                let backup = last_good_path(path);
                let _ = std::fs::remove_file(&backup);
                std::fs::hard_link(path, &backup).map_err(|e| zone_io("keep", path, e))?;
                Some(backup)
            }
            false => None,
        };
        // The directory is synced once for the batch (check_and_swap).
        staged
            .rename(path)
            .map_err(|e| zone_io("install", path, e))?;
        if deploy.included {
            self.reload(&deploy.origin, path).await?;
        }
        Ok(Installed { deploy, last_good })
    }

    /// What a start (or a pass that finds the include file removed or
    /// changed behind bindbridge's back) does first. The store is the
    /// truth, not the include file: every zone of the store that named has
    /// served is put back into it if its file is sound, and deployed again
    /// if not; a deployed zone whose file is not what bindbridge wrote
    /// (edited or removed behind its back) is reported and deployed again;
    /// and so is one whose deployed serial named does not serve.
    async fn restore(&mut self, targets: &[DeployTarget]) -> PassResult {
        let mut back = Vec::new();
        for target in targets {
            if target.deployed_serial.is_none()
                || target.domain.eq_ignore_ascii_case(&self.catalog.domain)
            {
                continue;
            }
            let path = files::zone_file(&self.zone_dir, &target.domain);
            let listed = self.included.contains(&target.domain);
            let sound = match (target.is_pending(), listed) {
                (false, _) => self.is_deployed_file(target, &path).await?,
                // Changes to deploy: what the file holds is checked only if
                // the include lost it (else this pass replaces it anyway).
                (true, true) => true,
                (true, false) => {
                    path.is_file()
                        && self
                            .named
                            .checkzone(&absolute_domain(&target.domain), &path)
                            .await?
                            .ok
                }
            };
            match (listed, sound) {
                (true, true) => {}
                (true, false) => {
                    warn!(
                        zone = %target.domain,
                        file = %path.display(),
                        "the zone file was changed outside bindbridge; deploying the store's content again"
                    );
                    self.drifted.insert(target.id);
                }
                (false, true) => back.push(target.domain.clone()),
                (false, false) => {
                    warn!(
                        zone = %target.domain,
                        file = %path.display(),
                        "the include file does not list the zone and its file is not sound; deploying it again"
                    );
                    self.drifted.insert(target.id);
                }
            }
        }
        if !back.is_empty() {
            warn!(
                zones = back.len(),
                file = %self.include_file.display(),
                "the include file did not list zones of the store; listing them again"
            );
        }
        self.included.extend(back);
        self.sync_include().await?;
        self.check_served(targets).await
    }

    /// True if the file at `path` is the deployed version of `target`'s
    /// zone; false if not, or if it cannot be read or rendered (which its
    /// deploy then reports).
    async fn is_deployed_file(&self, target: &DeployTarget, path: &Path) -> PassResult<bool> {
        let Some(serial) = target.deployed_serial else {
            return Ok(false);
        };
        let mut zone = match self.store.load_zone(&target.uuid).await {
            Ok((_, zone)) => zone,
            // Deleted meanwhile: the next pass takes it out.
            Err(StoreError::UnknownZone(_)) => return Ok(true),
            Err(e) => return Err(store_down(e)),
        };
        let disk = match read_zone_file(path) {
            Ok(disk) => disk,
            Err(_) => return Ok(false),
        };
        Ok(same_as_disk(&self.template, &mut zone, serial, disk.as_deref()).unwrap_or(false))
    }

    /// Waits, up to the serve timeout, until named serves the deployed
    /// serial of every deployed zone it is configured with (a zone just
    /// put back into its configuration takes a moment to load); those it
    /// still does not serve are deployed again. So the API's `deployed`
    /// says what named serves, and the catalog lists what it can transfer.
    async fn check_served(&mut self, targets: &[DeployTarget]) -> PassResult {
        let mut unproved: Vec<&DeployTarget> = targets
            .iter()
            .filter(|t| {
                !t.is_pending()
                    && t.deployed_serial.is_some()
                    && self.included.contains(&t.domain)
                    && !self.drifted.contains(&t.id)
            })
            .collect();
        let deadline = Instant::now() + self.serve_timeout;
        loop {
            let mut left = Vec::new();
            for target in unproved {
                let served = self
                    .named
                    .served_serial(&absolute_domain(&target.domain))
                    .await?;
                if served != target.deployed_serial {
                    left.push(target);
                }
            }
            unproved = left;
            if unproved.is_empty() || Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(POLL_SLOW).await;
        }
        for target in unproved {
            warn!(
                zone = %target.domain,
                serial = target.deployed_serial,
                "named does not serve the deployed serial; deploying the zone again"
            );
            self.drifted.insert(target.id);
        }
        Ok(())
    }

    /// Removes the files left under a former name (see [`Deployer::new`])
    /// once the include file names the new ones.
    fn remove_stale(&mut self) {
        for file in std::mem::take(&mut self.stale) {
            remove_if_there(&file);
        }
    }

    /// `rndc reload ZONE`. named skips a file that is not newer than its
    /// last load ("up to date"): then the file's time is moved a second
    /// ahead and the reload asked again.
    async fn reload(&self, origin: &str, path: &Path) -> Result<(), DeployError> {
        let zone = stored_domain(origin);
        let said = self.reload_once(&zone).await?;
        if said.contains("up to date") || said.contains("up-to-date") {
            let later = std::time::SystemTime::now() + Duration::from_secs(1);
            std::fs::File::options()
                .write(true)
                .open(path)
                .and_then(|f| f.set_modified(later))
                .map_err(|e| zone_io("touch", path, e))?;
            self.reload_once(&zone).await?;
        }
        Ok(())
    }

    /// One `rndc reload ZONE`: what named said. A zone the include file
    /// lists but named does not have (an `rndc reconfig` that failed, or
    /// named started before the include file listed it) is loaded by a
    /// reconfig instead; any other refusal fails this zone alone.
    async fn reload_once(&self, zone: &str) -> Result<String, DeployError> {
        match self.named.rndc_answer(&["reload", zone]).await? {
            Ok(said) => Ok(said),
            Err(said) if said.contains("not found") => {
                warn!(%zone, "named does not have the zone its include file lists; rndc reconfig");
                Ok(self.named.rndc(&["reconfig"]).await?)
            }
            Err(said) => Err(DeployError::Zone(format!(
                "rndc reload {zone}: {}",
                said.replace('\n', "; ")
            ))),
        }
    }

    /// Waits until named serves the new serial, then marks the zone
    /// deployed; if it does not in time, puts the last good file back and
    /// marks the zone failed with what named says of it.
    async fn prove(&mut self, zone: Installed) -> PassResult {
        let served = wait_served(&self.named, &zone.deploy, self.serve_timeout).await?;
        self.settle(zone, served).await
    }

    /// Marks `zone` deployed if named serves its serial (`served`, as
    /// [`wait_served`] found), else rolls it back.
    async fn settle(&mut self, zone: Installed, served: Option<u32>) -> PassResult {
        if served != Some(zone.deploy.serial) {
            return self.roll_back(zone, served).await;
        }
        match zone.deploy.subject {
            Subject::Zone(target) => {
                self.store
                    .mark_deployed(target.id, zone.deploy.version, zone.deploy.serial)
                    .await
                    .map_err(store_down)?;
                self.refused.remove(&target.id);
            }
            Subject::Catalog(members) => {
                self.catalog.deployed = Some((zone.deploy.serial, members));
                self.catalog.refused = None;
            }
        }
        if let Some(backup) = &zone.last_good {
            let _ = std::fs::remove_file(backup);
        }
        let took = zone.deploy.started.elapsed();
        self.metrics.deploy_ok(took);
        info!(elapsed_ms = took.as_millis() as u64, "deployed");
        Ok(())
    }

    async fn roll_back(&mut self, zone: Installed, served: Option<u32>) -> PassResult {
        let name = stored_domain(&zone.deploy.origin);
        let status = match self.named.rndc(&["zonestatus", &name]).await {
            Ok(text) | Err(Unreachable(text)) => text,
        };
        let mut reason = format!(
            "named did not serve serial {} within {:?} (it serves {}); rndc zonestatus: {}",
            zone.deploy.serial,
            self.serve_timeout,
            served.map_or("nothing".to_string(), |s| s.to_string()),
            status.replace('\n', "; ")
        );
        match &zone.last_good {
            Some(backup) => {
                let restored = match std::fs::rename(backup, &zone.deploy.path)
                    .and_then(|()| atomic::sync_dir(&zone.deploy.path))
                {
                    Ok(()) => self.reload(&zone.deploy.origin, &zone.deploy.path).await,
                    Err(e) => Err(zone_io("restore", backup, e)),
                };
                match restored {
                    Ok(()) => {}
                    Err(DeployError::Unreachable(e)) => return Err(e),
                    Err(DeployError::Zone(e)) => reason.push_str(&format!("; {e}")),
                }
            }
            None => {
                // A new zone named would not load: out of its configuration.
                match &zone.deploy.subject {
                    Subject::Zone(target) => {
                        self.included.remove(&target.domain);
                    }
                    Subject::Catalog(_) => self.catalog.included = false,
                }
                self.write_include()?;
                self.named.rndc(&["reconfig"]).await?;
                let _ = std::fs::remove_file(&zone.deploy.path);
            }
        }
        match zone.deploy.subject {
            Subject::Zone(target) => self.fail(&target, reason).await,
            Subject::Catalog(_) => {
                // named-checkzone took it: tried again at the next pass.
                warn!(zone = %zone.deploy.origin, "deploy of the catalog zone failed: {reason}");
                self.metrics.deploy_failed();
                Ok(())
            }
        }
    }

    async fn fail(&mut self, target: &DeployTarget, reason: String) -> PassResult {
        warn!(zone = %target.domain, version = target.version, "deploy failed: {reason}");
        self.store
            .mark_failed(target.id, target.version, &reason)
            .await
            .map_err(store_down)?;
        self.refused.insert(target.id, target.version);
        // A verdict waits for a change; only fail_for_now retries sooner.
        self.retry.remove(&target.id);
        self.metrics.deploy_failed();
        Ok(())
    }

    /// Fails the zone of `target` for a reason of its own (see
    /// [`DeployError::Zone`]): tried again at the next reconcile.
    async fn fail_for_now(&mut self, target: &DeployTarget, reason: String) -> PassResult {
        self.fail(target, reason).await?;
        self.retry.insert(target.id);
        Ok(())
    }

    fn write_include(&mut self) -> PassResult {
        atomic::replace(&self.include_file, self.include_text().as_bytes())
            .map_err(|e| io_error("write", &self.include_file, e))?;
        self.include_seen = fingerprint(&self.include_file);
        // Nothing names the files left under old names any more (named
        // reads this file at its next reconfig or start).
        self.remove_stale();
        Ok(())
    }

    /// The include file for the zones named is to load.
    fn include_text(&self) -> String {
        let zones: Vec<(String, PathBuf)> = self
            .included
            .iter()
            .map(|d| (d.clone(), files::zone_file(&self.zone_dir, d)))
            .collect();
        let catalog = self
            .catalog
            .included
            .then_some((self.catalog.domain.as_str(), self.catalog.path.as_path()));
        let replication = Replication {
            secondaries: &self.secondaries,
            key_file: self.key_file.as_deref(),
        };
        files::include_text(&zones, catalog, &replication)
    }
}

/// A zone rendered for a deploy.
enum Prepared {
    /// The same content as the serial that named serves: nothing to
    /// deploy.
    Unchanged(u32),
    /// Written beside its file; `on_disk`: there is a file.
    Staged { staged: Staged, on_disk: bool },
}

/// Renders `zone` (its new serial set) and writes it beside its file at
/// `path` in `dir`, unless named serves it already: `serving` is the
/// serial named serves, and the file at `path` what it loaded if it
/// renders to the same bytes at that serial.
fn prepare(
    template: &Template,
    mut zone: crate::zone::Zone,
    serving: Option<u32>,
    path: &Path,
    dir: &Path,
) -> Result<Prepared, DeployError> {
    let on_disk = file_len(path)?;
    let bytes = render(template, &zone)?;
    // Only a file of the same length can be the same content (serials of
    // equal width), so most changes are told apart without reading the
    // file or rendering a second time.
    if let (Some(served), Some(len)) = (serving, on_disk)
        && len == bytes.len() as u64
        && same_as_disk(
            template,
            &mut zone,
            served,
            read_zone_file(path)?.as_deref(),
        )?
    {
        // The copy a stopped deploy kept is of no use any more.
        remove_if_there(&last_good_path(path));
        return Ok(Prepared::Unchanged(served));
    }
    let staged = Staged::write(dir, &bytes).map_err(|e| zone_io("write in", dir, e))?;
    Ok(Prepared::Staged {
        staged,
        on_disk: on_disk.is_some(),
    })
}

fn render(template: &Template, zone: &crate::zone::Zone) -> Result<Vec<u8>, DeployError> {
    render_to_vec(zone, template)
        .map_err(|e| DeployError::Zone(format!("cannot render {}: {e}", zone.origin)))
}

/// True if `zone` with `serial` renders to exactly `on_disk`.
fn same_as_disk(
    template: &Template,
    zone: &mut crate::zone::Zone,
    serial: u32,
    on_disk: Option<&[u8]>,
) -> Result<bool, DeployError> {
    let Some(disk) = on_disk else {
        return Ok(false);
    };
    zone.set_soa_serial(serial);
    Ok(render(template, zone)? == disk)
}

/// The zone a deploy is of; `None` for the catalog.
fn subject_of(deploy: &Deploy) -> Option<DeployTarget> {
    match &deploy.subject {
        Subject::Zone(target) => Some(target.clone()),
        Subject::Catalog(_) => None,
    }
}

/// Waits until named serves the serial of `deploy`, for at most
/// `timeout`: the serial named serves at the end.
async fn wait_served(
    named: &Named,
    deploy: &Deploy,
    timeout: Duration,
) -> Result<Option<u32>, Unreachable> {
    let asked = Instant::now();
    loop {
        let served = named.served_serial(&deploy.origin).await?;
        if served == Some(deploy.serial) || asked.elapsed() >= timeout {
            return Ok(served);
        }
        let young = asked.elapsed() < POLL_FAST_FOR;
        tokio::time::sleep(if young { POLL_FAST } else { POLL_SLOW }).await;
    }
}

/// named-checkzone on a staged file: `Err` with what it said (naming the
/// zone's file, not the temporary one) if it refuses it.
async fn check(
    named: &Named,
    origin: &str,
    staged: &Staged,
    path: &Path,
) -> Result<Result<(), String>, Unreachable> {
    let verdict = named.checkzone(origin, staged.path()).await?;
    Ok(match verdict.ok {
        true => Ok(()),
        false => Err(verdict.output.replace(
            &staged.path().display().to_string(),
            &path.display().to_string(),
        )),
    })
}

/// The length of a zone file; `None` if there is none.
fn file_len(path: &Path) -> Result<Option<u64>, DeployError> {
    match std::fs::metadata(path) {
        Ok(meta) => Ok(Some(meta.len())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(zone_io("read", path, e)),
    }
}

/// The bytes of a zone file; `None` if there is none.
fn read_zone_file(path: &Path) -> Result<Option<Vec<u8>>, DeployError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(zone_io("read", path, e)),
    }
}

/// named's journal of a zone file (`ixfr-from-differences`): removed with
/// the zone, so that a zone created again under the name, once named has
/// dropped the old one, does not start from the old one's history.
fn journal_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".jnl");
    PathBuf::from(name)
}

/// Where the file a deploy replaces is kept until the new one is served.
fn last_good_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".last-good");
    PathBuf::from(name)
}

/// Removes `file`; one that is not there is no error, and any other only
/// a warning (a file left behind harms nothing served).
fn remove_if_there(file: &Path) {
    match std::fs::remove_file(file) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            warn!("cannot remove {}: {e}", file.display());
        }
        _ => {}
    }
}

/// The size and time of a file, to tell whether someone else changed it.
fn fingerprint(path: &Path) -> Option<(u64, std::time::SystemTime)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

/// Removes what a killed bindbridge may have left in the zone directory:
/// staged files that never reached named-checkzone or their name
/// ([`atomic::Staged`]), and the last good copies of deploys in flight
/// (the zone's file is whole, old or new, and the zone is still pending,
/// so it is deployed again). Nothing else runs in the directory yet.
fn remove_leftovers(zone_dir: &Path) -> Result<(), String> {
    let entries = std::fs::read_dir(zone_dir)
        .map_err(|e| format!("cannot read {}: {e}", zone_dir.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let staged = name.starts_with(".bindbridge-") && name.ends_with(".tmp");
        if staged || name.ends_with(".last-good") {
            info!(file = %entry.path().display(), "removing a file left by a stopped deploy");
            remove_if_there(&entry.path());
        }
    }
    Ok(())
}

/// Gives the zone file at `old` (and named's journal of it) the name `new`
/// as a second link, or a copy where a link cannot be made; the old names,
/// to remove once nothing names them. Nothing if there is no file at `old`
/// (the zone is then deployed again) or already one at `new`.
fn move_zone_file(old: &Path, new: &Path) -> Vec<PathBuf> {
    let mut stale = Vec::new();
    for (from, to) in [
        (old.to_path_buf(), new.to_path_buf()),
        (journal_path(old), journal_path(new)),
    ] {
        if !from.is_file() {
            continue;
        }
        if !to.exists()
            && let Err(e) =
                std::fs::hard_link(&from, &to).or_else(|_| std::fs::copy(&from, &to).map(|_| ()))
        {
            warn!("cannot move {} to {}: {e}", from.display(), to.display());
            continue;
        }
        stale.push(from);
    }
    stale
}
