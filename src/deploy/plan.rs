//! The decisions of a deploy pass, apart from its I/O: which zones are due,
//! which named should stop serving, which serial a zone goes out with, and
//! when the next pass may start. Nothing here reads the store, a file or named, so every rule is
//! unit-tested without them.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use crate::store::DeployTarget;
use crate::zone::serial::{Policy, next_serial, serial_gt};

/// What a pass does.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Plan<'t> {
    /// Zones to render, prove and swap in, in the store's order.
    pub due: Vec<&'t DeployTarget>,
    /// Zones named serves (`included`) that the store no longer holds.
    pub gone: Vec<String>,
}

/// The plan for `targets`, the store's zones: due are those with changes
/// named does not serve and those whose files `drifted` (changed behind
/// bindbridge's back), except a version named-checkzone already `refused`
/// (zone id → version); gone are the `included` domains no target has.
pub(super) fn plan<'t>(
    targets: &'t [DeployTarget],
    included: &BTreeSet<String>,
    drifted: &HashSet<i64>,
    refused: &HashMap<i64, i64>,
) -> Plan<'t> {
    let due = (targets.iter())
        .filter(|t| t.is_pending() || drifted.contains(&t.id))
        .filter(|t| refused.get(&t.id) != Some(&t.version))
        .collect();
    let stored: HashSet<&str> = targets.iter().map(|t| t.domain.as_str()).collect();
    let gone = (included.iter())
        .filter(|d| !stored.contains(d.as_str()))
        .cloned()
        .collect();
    Plan { due, gone }
}

/// The serial a zone goes out with: the `stored` one if it is above every
/// serial named or its secondaries may have seen (`floors`: the deployed
/// and the served one), else the policy's next one above them all. An
/// error when none can be (RFC 1982 leaves serials 2^31 apart unordered,
/// and a step may not exceed 2^31 − 1).
pub(super) fn zone_serial(
    policy: Policy,
    stored: u32,
    floors: &[u32],
    now_unix: i64,
) -> Result<u32, String> {
    if floors.iter().all(|&f| serial_gt(stored, f)) {
        return Ok(stored);
    }
    next_serial(policy, stored, floors, now_unix).map_err(|e| e.to_string())
}

/// The longest a pass may be held back by [`spacing`].
const MAX_SPACING: Duration = Duration::from_secs(1);

/// How long the pass after one that took `took` waits, given the store's
/// change counter when that pass began (`seen`) and when it ended (`now`).
/// Under a stream of changes (more than one came in during the pass), as
/// long again as the pass took: deploys then take at most half the time,
/// leaving the rest to the writes, and each takes in more of the stream.
/// A single change, or one after a quiet spell, is deployed at once.
pub(super) fn spacing(took: Duration, seen: u64, now: u64) -> Duration {
    match now.wrapping_sub(seen) > 1 {
        true => took.min(MAX_SPACING),
        false => Duration::ZERO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(id: i64, domain: &str, version: i64, deployed_version: i64) -> DeployTarget {
        DeployTarget {
            id,
            uuid: format!("uuid-{id}"),
            domain: domain.into(),
            version,
            deployed_version,
            deployed_serial: Some(1),
        }
    }

    #[test]
    fn due_are_changed_or_drifted_zones_not_refused_at_their_version() {
        let targets = vec![
            target(1, "served.example", 3, 3),
            target(2, "changed.example", 4, 3),
            target(3, "drifted.example", 2, 2),
            target(4, "refused.example", 5, 4),
            target(5, "refused-then-changed.example", 7, 4),
        ];
        let drifted = HashSet::from([3]);
        let refused = HashMap::from([(4, 5), (5, 6)]);
        let plan = plan(&targets, &BTreeSet::new(), &drifted, &refused);
        let due: Vec<&str> = plan.due.iter().map(|t| t.domain.as_str()).collect();
        assert_eq!(
            due,
            [
                "changed.example",
                "drifted.example",
                "refused-then-changed.example"
            ]
        );
        assert!(plan.gone.is_empty());
    }

    #[test]
    fn gone_are_included_zones_the_store_no_longer_holds() {
        let targets = vec![target(1, "kept.example", 1, 1)];
        let included = BTreeSet::from(["deleted.example".to_string(), "kept.example".to_string()]);
        let plan = plan(&targets, &included, &HashSet::new(), &HashMap::new());
        assert!(plan.due.is_empty());
        assert_eq!(plan.gone, ["deleted.example"]);
    }

    #[test]
    fn the_stored_serial_goes_out_only_above_every_floor() {
        let now = 1_800_000_000;
        // Above what was deployed and is served: as stored.
        assert_eq!(zone_serial(Policy::Increment, 10, &[9, 8], now), Ok(10));
        // Never deployed, nothing served: as stored.
        assert_eq!(zone_serial(Policy::Increment, 10, &[], now), Ok(10));
        // Not above what named serves: the policy's next one above it.
        assert_eq!(zone_serial(Policy::Increment, 10, &[12], now), Ok(13));
        // Across the wrap of the serial space (RFC 1982): 1 follows 2^32 − 1.
        assert_eq!(zone_serial(Policy::Increment, 1, &[u32::MAX], now), Ok(1));
    }

    #[test]
    fn a_serial_exactly_half_the_space_away_is_an_error() {
        // RFC 1982: 2^31 apart, neither is greater, and no single step of
        // at most 2^31 − 1 from the stored one passes the served one.
        let got = zone_serial(Policy::Increment, 1000 + (1 << 31), &[1000], 0);
        assert!(got.is_err(), "{got:?}");
    }

    #[test]
    fn only_a_stream_of_changes_spaces_the_passes() {
        let took = Duration::from_millis(60);
        // No change or one during the pass: the next one starts at once.
        assert_eq!(spacing(took, 7, 7), Duration::ZERO);
        assert_eq!(spacing(took, 7, 8), Duration::ZERO);
        // A stream: as long again as the pass took, within the cap.
        assert_eq!(spacing(took, 7, 40), took);
        assert_eq!(spacing(Duration::from_secs(9), 7, 40), MAX_SPACING);
        // The counter wraps.
        assert_eq!(spacing(took, u64::MAX, 3), took);
    }
}
