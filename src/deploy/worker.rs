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
use tracing::{Instrument, info, info_span, warn};

use super::catalog::{catalog_zone, file_serial, member_label};
use super::files::{self, Replication};
use super::named::{Named, Unreachable, soa_serial};
use crate::atomic::{self, Staged};
use crate::config::{DeployConfig, Secondary};
use crate::metrics::Metrics;
use crate::render::{Template, render_to_vec};
use crate::store::shape::{domain_text, stored_domain};
use crate::store::{DeployTarget, Store, StoreError, now_unix};
use crate::zone::Name;
use crate::zone::serial::{Policy, next_serial, serial_gt};

/// How often named is asked for the new serial while a load is young, and
/// after that.
const POLL_FAST: Duration = Duration::from_millis(2);
const POLL_SLOW: Duration = Duration::from_millis(25);
/// How long a load counts as young.
const POLL_FAST_FOR: Duration = Duration::from_millis(500);
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
    template: Template,
    /// The domains of the zones of the include file (what named is
    /// configured to load); their files are [`files::zone_file`]'s.
    included: BTreeSet<String>,
    /// Versions refused for reasons a retry would not fix (named-checkzone
    /// said no, or named would not load it), by zone id: retried only when
    /// the zone changes again.
    refused: HashMap<i64, i64>,
    /// Deployed zones whose file was changed behind bindbridge's back, to
    /// deploy again; looked for once, at the first pass after start.
    drifted: HashSet<i64>,
    drift_checked: bool,
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
    fn stage(self, dir: &Path, bytes: &[u8]) -> Result<StagedZone, Unreachable> {
        let staged = Staged::write(dir, bytes).map_err(|e| io_error("write in", dir, e))?;
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
/// How long zones swapped in during a long pass may wait to be added to
/// named's configuration, served and listed in the catalog.
const FLUSH_AFTER: Duration = Duration::from_secs(2);

/// A zone written to disk in this pass, waiting to be proved served.
struct Installed {
    deploy: Deploy,
    /// The file it replaced, kept until named serves the new one.
    last_good: Option<PathBuf>,
}

/// Why a pass stopped early: named, rndc or the store cannot be reached;
/// everything not done is retried after a backoff.
type PassResult = Result<(), Unreachable>;

fn store_down(e: StoreError) -> Unreachable {
    Unreachable(format!("the store: {e}"))
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> Unreachable {
    Unreachable(format!("cannot {what} {}: {e}", path.display()))
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
        let mut included: BTreeSet<String> = match std::fs::read_to_string(&config.include_file) {
            Ok(text) => files::included_domains(&text).into_iter().collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeSet::new(),
            Err(e) => {
                return Err(format!(
                    "cannot read {}: {e}",
                    config.include_file.display()
                ));
            }
        };
        let origin = config.catalog_origin()?;
        let domain = domain_text(origin.wire());
        // The catalog has a statement of its own, not one of a zone's.
        let before = included.len();
        included.retain(|d| !d.eq_ignore_ascii_case(&domain));
        let catalog = Catalog {
            path: files::zone_file(&config.zone_dir, &domain),
            origin,
            domain,
            included: included.len() < before,
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
            template: Template::builtin(),
            included,
            refused: HashMap::new(),
            drifted: HashSet::new(),
            drift_checked: false,
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
        loop {
            match self.pass().await {
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
                    tokio::select! {
                        _ = changes.changed() => {}
                        _ = wake.changed() => {}
                        _ = tokio::time::sleep(self.reconcile_interval) => {}
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
        if !self.drift_checked {
            self.sync_include().await?;
            self.find_drift(&targets).await?;
            self.drift_checked = true;
        }
        let drifted = std::mem::take(&mut self.drifted);
        let due: Vec<&DeployTarget> = targets
            .iter()
            .filter(|t| t.is_pending() || drifted.contains(&t.id))
            .filter(|t| self.refused.get(&t.id) != Some(&t.version))
            .collect();
        // Zones named should stop serving: deleted from the store.
        let stored: HashSet<&str> = targets.iter().map(|t| t.domain.as_str()).collect();
        let gone: Vec<String> = self
            .included
            .iter()
            .filter(|d| !stored.contains(d.as_str()))
            .cloned()
            .collect();
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
        self.reconfigure(&installed, &gone).await?;
        for zone in installed {
            let span = zone.deploy.span.clone();
            self.prove(zone).instrument(span).await?;
        }
        self.deploy_catalog(targets).await?;
        if changed {
            self.deployed.send_modify(|n| *n += 1);
        }
        Ok(())
    }

    /// Rewrites the include file if it is not what the configuration makes
    /// of its zones (secondaries or their keys changed since it was
    /// written), and has named read it again.
    async fn sync_include(&mut self) -> PassResult {
        let on_disk = std::fs::read_to_string(&self.include_file).unwrap_or_default();
        if on_disk != self.include_text() {
            info!(file = %self.include_file.display(), "the zone statements changed with the configuration; rewriting them");
            self.write_include()?;
            self.named.rndc(&["reconfig"]).await?;
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
        if added.is_empty() && gone.is_empty() {
            return Ok(());
        }
        for zone in added {
            if let Subject::Zone(target) = &zone.deploy.subject {
                self.included.insert(target.domain.clone());
            }
        }
        for domain in gone {
            self.included.remove(domain);
        }
        self.write_include()?;
        self.named.rndc(&["reconfig"]).await?;
        for domain in gone {
            let path = files::zone_file(&self.zone_dir, domain);
            for file in [last_good_path(&path), journal_path(&path), path] {
                match std::fs::remove_file(&file) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        warn!("cannot remove {}: {e}", file.display());
                    }
                    _ => {}
                }
            }
            info!(zone = %domain, "zone removed from named");
        }
        Ok(())
    }

    /// Deploys the catalog zone if the zones named serves are not the
    /// members it lists (or named does not serve it): after the zones are
    /// proved served, so that a secondary told of a zone can transfer it.
    async fn deploy_catalog(&mut self, targets: &[DeployTarget]) -> PassResult {
        let members: Members = targets
            .iter()
            .filter(|t| self.included.contains(&t.domain))
            .map(|t| (member_label(&t.uuid), t.domain.clone()))
            .collect();
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
            .map_err(|e| Unreachable(format!("no serial for {origin}: {e}")))?;
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
        self.prove(zone).instrument(span).await
    }

    fn render_catalog(&self, serial: u32, members: &Members) -> Result<Vec<u8>, Unreachable> {
        let zone = catalog_zone(&self.catalog.origin, serial, members).map_err(Unreachable)?;
        self.render(&zone)
    }

    /// Stages every zone of `batch`, proves the staged files with
    /// named-checkzone concurrently, and swaps in those it accepts (the
    /// others are failed); the swapped ones join `installed`.
    async fn install_batch(
        &mut self,
        batch: &[&DeployTarget],
        installed: &mut Vec<Installed>,
    ) -> PassResult {
        let mut staged = Vec::new();
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
            if let Some(zone) = self.stage(target, span.clone()).instrument(span).await? {
                staged.push(zone);
            }
        }
        installed.extend(self.check_and_swap(staged).await?);
        Ok(())
    }

    /// Proves `staged` with named-checkzone, one run per core at once, and
    /// swaps in what it accepts; what it refuses is refused.
    async fn check_and_swap(
        &mut self,
        staged: Vec<StagedZone>,
    ) -> Result<Vec<Installed>, Unreachable> {
        let parallel = std::thread::available_parallelism().map_or(1, |n| n.get());
        // Boxed with the batch's lifetime spelled out: the compiler cannot
        // prove an unboxed stream of borrowing futures Send for spawn.
        type Check<'a> = std::pin::Pin<
            Box<dyn Future<Output = Result<Result<(), String>, Unreachable>> + Send + 'a>,
        >;
        let checks: Vec<Check<'_>> = staged
            .iter()
            .map(|zone| {
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
                Ok(()) => installed.push(self.swap(zone).instrument(span).await?),
                Err(output) => self.refuse(zone.deploy, output).instrument(span).await?,
            }
        }
        Ok(installed)
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
        &mut self,
        target: &DeployTarget,
        span: tracing::Span,
    ) -> Result<Option<StagedZone>, Unreachable> {
        let started = Instant::now();
        let (info, mut zone) = match self.store.load_zone(&target.uuid).await {
            Ok(loaded) => loaded,
            Err(StoreError::UnknownZone(_)) => return Ok(None),
            Err(e) => return Err(store_down(e)),
        };
        let target = DeployTarget {
            version: info.version,
            ..target.clone()
        };
        tracing::Span::current().record("version", info.version);
        let origin = zone.origin.to_string();
        let path = files::zone_file(&self.zone_dir, &target.domain);
        let included = self.included.contains(&target.domain);
        let on_disk = file_len(&path)?;
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
        let serial = match floors.iter().all(|&f| serial_gt(stored, f)) {
            true => stored,
            false => next_serial(self.policy, stored, &floors, now_unix())
                .map_err(|e| Unreachable(format!("no serial for {origin}: {e}")))?,
        };
        tracing::Span::current().record("serial", serial);
        zone.set_soa_serial(serial);
        let bytes = self.render(&zone)?;
        // The same content as what named serves: nothing to deploy. Only a
        // file of the same length can be that (serials of equal width), so
        // most changes are told apart without reading the file or
        // rendering a second time.
        if let (true, Some(deployed), Some(len)) = (included, target.deployed_serial, on_disk)
            && served == Some(deployed)
            && len == bytes.len() as u64
            && self.same_as_disk(&mut zone, deployed, read_zone_file(&path)?.as_deref())?
        {
            self.store
                .mark_deployed(target.id, target.version, deployed)
                .await
                .map_err(store_down)?;
            return Ok(None);
        }
        let deploy = Deploy {
            subject: Subject::Zone(target),
            version: info.version,
            serial,
            origin,
            path,
            included,
            on_disk: on_disk.is_some(),
            started,
            span,
        };
        deploy.stage(&self.zone_dir, &bytes).map(Some)
    }

    /// Renames a proved staged file over the zone's file, keeping the file
    /// it replaces as the last good one, and reloads the zone if named has
    /// it.
    async fn swap(&self, zone: StagedZone) -> Result<Installed, Unreachable> {
        let StagedZone { deploy, staged } = zone;
        let path = &deploy.path;
        let last_good = match deploy.on_disk && deploy.included {
            true => {
                let backup = last_good_path(path);
                let _ = std::fs::remove_file(&backup);
                std::fs::hard_link(path, &backup).map_err(|e| io_error("keep", path, e))?;
                Some(backup)
            }
            false => None,
        };
        staged
            .install(path)
            .map_err(|e| io_error("install", path, e))?;
        if deploy.included {
            self.reload(&deploy.origin, path).await?;
        }
        Ok(Installed { deploy, last_good })
    }

    /// True if `zone` with `serial` renders to exactly `on_disk`.
    fn same_as_disk(
        &self,
        zone: &mut crate::zone::Zone,
        serial: u32,
        on_disk: Option<&[u8]>,
    ) -> Result<bool, Unreachable> {
        let Some(disk) = on_disk else {
            return Ok(false);
        };
        zone.set_soa_serial(serial);
        Ok(self.render(zone)? == disk)
    }

    /// Finds the deployed zones whose file is not what bindbridge wrote
    /// (edited or removed behind its back): they are reported, and the next
    /// deploys put the store's content back, with a new serial.
    async fn find_drift(&mut self, targets: &[DeployTarget]) -> PassResult {
        let deployed = targets
            .iter()
            .filter(|t| !t.is_pending() && self.included.contains(&t.domain));
        for target in deployed {
            let Some(serial) = target.deployed_serial else {
                continue;
            };
            let mut zone = match self.store.load_zone(&target.uuid).await {
                Ok((_, zone)) => zone,
                Err(StoreError::UnknownZone(_)) => continue,
                Err(e) => return Err(store_down(e)),
            };
            let path = files::zone_file(&self.zone_dir, &target.domain);
            let on_disk = read_zone_file(&path)?;
            if !self.same_as_disk(&mut zone, serial, on_disk.as_deref())? {
                warn!(
                    zone = %target.domain,
                    file = %path.display(),
                    "the zone file was changed outside bindbridge; deploying the store's content again"
                );
                self.drifted.insert(target.id);
            }
        }
        Ok(())
    }

    fn render(&self, zone: &crate::zone::Zone) -> Result<Vec<u8>, Unreachable> {
        render_to_vec(zone, &self.template)
            .map_err(|e| Unreachable(format!("cannot render {}: {e}", zone.origin)))
    }

    /// `rndc reload ZONE`. named skips a file that is not newer than its
    /// last load ("up to date"): then the file's time is moved a second
    /// ahead and the reload asked again.
    async fn reload(&self, origin: &str, path: &Path) -> PassResult {
        let zone = stored_domain(origin);
        let said = self.named.rndc(&["reload", &zone]).await?;
        if said.contains("up to date") || said.contains("up-to-date") {
            let later = std::time::SystemTime::now() + Duration::from_secs(1);
            std::fs::File::options()
                .write(true)
                .open(path)
                .and_then(|f| f.set_modified(later))
                .map_err(|e| io_error("touch", path, e))?;
            self.named.rndc(&["reload", &zone]).await?;
        }
        Ok(())
    }

    /// Waits until named serves the new serial, then marks the zone
    /// deployed; if it does not in time, puts the last good file back and
    /// marks the zone failed with what named says of it.
    async fn prove(&mut self, zone: Installed) -> PassResult {
        let asked = Instant::now();
        let deadline = asked + self.serve_timeout;
        loop {
            let served = self.named.served_serial(&zone.deploy.origin).await?;
            if served == Some(zone.deploy.serial) {
                break;
            }
            if Instant::now() >= deadline {
                return self.roll_back(zone, served).await;
            }
            let young = asked.elapsed() < POLL_FAST_FOR;
            tokio::time::sleep(if young { POLL_FAST } else { POLL_SLOW }).await;
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
        let reason = format!(
            "named did not serve serial {} within {:?} (it serves {}); rndc zonestatus: {}",
            zone.deploy.serial,
            self.serve_timeout,
            served.map_or("nothing".to_string(), |s| s.to_string()),
            status.replace('\n', "; ")
        );
        match &zone.last_good {
            Some(backup) => {
                std::fs::rename(backup, &zone.deploy.path)
                    .map_err(|e| io_error("restore", backup, e))?;
                atomic::sync_dir(&zone.deploy.path)
                    .map_err(|e| io_error("sync", &zone.deploy.path, e))?;
                self.reload(&zone.deploy.origin, &zone.deploy.path).await?;
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
        self.metrics.deploy_failed();
        Ok(())
    }

    fn write_include(&self) -> PassResult {
        atomic::replace(&self.include_file, self.include_text().as_bytes())
            .map_err(|e| io_error("write", &self.include_file, e))
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
fn file_len(path: &Path) -> Result<Option<u64>, Unreachable> {
    match std::fs::metadata(path) {
        Ok(meta) => Ok(Some(meta.len())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error("read", path, e)),
    }
}

/// The bytes of a zone file; `None` if there is none.
fn read_zone_file(path: &Path) -> Result<Option<Vec<u8>>, Unreachable> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error("read", path, e)),
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
