//! What the secondaries serve of each deployed zone: written by the check
//! of the secondaries, read by the zone detail and `/metrics`.

use std::collections::BTreeMap;

use super::{Store, StoreError, iso8601, now_unix};

/// A deployed zone, and what each secondary was last seen serving of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondaryCheck {
    /// Row id.
    pub zone_id: i64,
    /// The zone's name without the final dot (`.` for the root).
    pub domain: String,
    /// The serial named serves.
    pub deployed_serial: u32,
    /// When named started serving it (unix time).
    pub deployed_at: i64,
    /// By secondary: what it was last seen answering.
    pub seen: BTreeMap<String, Seen>,
}

/// What a secondary answered for a zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The serial it serves; `None` if it does not serve the zone.
    pub serial: Option<u32>,
    /// Why it could not be asked.
    pub error: Option<String>,
}

/// What a secondary serves of one zone, for the zone detail.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SecondaryState {
    /// The secondary, `address:port` as configured.
    pub address: String,
    /// The serial it serves (`null`: it does not serve the zone).
    pub serial: Option<u32>,
    /// True if that is the serial named serves.
    pub in_sync: bool,
    /// Since when it has answered this way.
    pub since: String,
    /// Why it could not be asked.
    pub error: Option<String>,
}

/// One secondary's zones for `/metrics`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SecondaryGauge {
    /// Zones it serves at the deployed serial.
    pub in_sync: i64,
    /// Zones it serves at another serial, or not at all.
    pub behind: i64,
    /// Zones it could not be asked about.
    pub unreachable: i64,
    /// Seconds since the oldest deploy it has not caught up with.
    pub lag_seconds: i64,
}

impl Store {
    /// The deployed zones with what the secondaries were last seen serving
    /// of them: all of them if `all`, else those that fewer than
    /// `secondaries` (the number configured) serve at the deployed serial.
    pub async fn secondary_checks(
        &self,
        all: bool,
        secondaries: usize,
    ) -> Result<Vec<SecondaryCheck>, StoreError> {
        type Row = (
            i64,
            String,
            i64,
            Option<i64>,
            Option<String>,
            Option<i64>,
            Option<String>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT z.id, z.domain, z.deployed_serial, z.deployed_at, s.secondary, s.serial, s.error \
             FROM zones z LEFT JOIN secondary_serials s ON s.zone_id = z.id \
             WHERE z.deployed_serial IS NOT NULL AND (?1 OR \
             (SELECT count(*) FROM secondary_serials i WHERE i.zone_id = z.id \
             AND i.error IS NULL AND i.serial = z.deployed_serial) < ?2) \
             ORDER BY z.id",
        )
        .bind(all)
        .bind(i64::try_from(secondaries).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        let mut checks: Vec<SecondaryCheck> = Vec::new();
        for (zone_id, domain, serial, deployed_at, secondary, seen, error) in rows {
            if checks.last().is_none_or(|c| c.zone_id != zone_id) {
                checks.push(SecondaryCheck {
                    zone_id,
                    domain,
                    deployed_serial: u32::try_from(serial).unwrap_or(0),
                    deployed_at: deployed_at.unwrap_or(0),
                    seen: BTreeMap::new(),
                });
            }
            if let (Some(secondary), Some(check)) = (secondary, checks.last_mut()) {
                let serial = seen.and_then(|s| u32::try_from(s).ok());
                check.seen.insert(secondary, Seen { serial, error });
            }
        }
        Ok(checks)
    }

    /// Records what secondaries answered, `(zone id, secondary, answer)`;
    /// `since` moves only when the answer differs from the last one.
    pub async fn record_secondaries(&self, seen: &[(i64, &str, Seen)]) -> Result<(), StoreError> {
        if seen.is_empty() {
            return Ok(());
        }
        let now = now_unix();
        let mut tx = self.write().await?;
        for (zone_id, secondary, answer) in seen {
            // A zone deleted meanwhile has no row to refer to: skipped.
            sqlx::query(
                "INSERT INTO secondary_serials (zone_id, secondary, serial, error, since) \
                 SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM zones WHERE id = ?1) \
                 ON CONFLICT (zone_id, secondary) DO UPDATE SET \
                 since = CASE WHEN serial IS excluded.serial AND error IS excluded.error \
                 THEN since ELSE excluded.since END, \
                 serial = excluded.serial, error = excluded.error",
            )
            .bind(zone_id)
            .bind(secondary)
            .bind(answer.serial.map(i64::from))
            .bind(&answer.error)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Forgets every secondary but `configured`.
    pub async fn keep_secondaries(&self, configured: &[String]) -> Result<(), StoreError> {
        let list = serde_json::to_string(configured).unwrap_or_else(|_| "[]".to_string());
        let mut tx = self.write().await?;
        sqlx::query(
            "DELETE FROM secondary_serials WHERE secondary NOT IN (SELECT value FROM json_each(?1))",
        )
        .bind(list)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// What each secondary serves of one zone, by address.
    pub async fn zone_secondaries(&self, zone_id: i64) -> Result<Vec<SecondaryState>, StoreError> {
        type Row = (String, Option<i64>, Option<String>, i64, Option<i64>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT s.secondary, s.serial, s.error, s.since, z.deployed_serial \
             FROM secondary_serials s JOIN zones z ON z.id = s.zone_id \
             WHERE s.zone_id = ?1 ORDER BY s.secondary",
        )
        .bind(zone_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(address, serial, error, since, deployed)| SecondaryState {
                address,
                serial: serial.and_then(|s| u32::try_from(s).ok()),
                in_sync: serial.is_some() && serial == deployed,
                since: iso8601(since),
                error,
            })
            .collect())
    }

    /// Each secondary's zones in sync, behind and unreachable, and its lag.
    pub async fn secondary_gauges(&self) -> Result<BTreeMap<String, SecondaryGauge>, StoreError> {
        let rows: Vec<(String, i64, i64, i64, Option<i64>)> = sqlx::query_as(
            "SELECT s.secondary, \
             sum(s.error IS NULL AND s.serial IS z.deployed_serial), \
             sum(s.error IS NULL AND s.serial IS NOT z.deployed_serial), \
             sum(s.error IS NOT NULL), \
             min(CASE WHEN s.serial IS NOT z.deployed_serial THEN z.deployed_at END) \
             FROM secondary_serials s JOIN zones z ON z.id = s.zone_id \
             WHERE z.deployed_serial IS NOT NULL GROUP BY s.secondary",
        )
        .fetch_all(&self.pool)
        .await?;
        let now = now_unix();
        Ok(rows
            .into_iter()
            .map(|(secondary, in_sync, behind, unreachable, oldest)| {
                let gauge = SecondaryGauge {
                    in_sync,
                    behind,
                    unreachable,
                    lag_seconds: oldest.map_or(0, |t| (now - t).max(0)),
                };
                (secondary, gauge)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::zones::tests::alices_zone;
    use sqlx::SqlitePool;

    fn answered(serial: u32) -> Seen {
        Seen {
            serial: Some(serial),
            error: None,
        }
    }

    #[sqlx::test(migrator = "crate::store::MIGRATOR")]
    async fn what_secondaries_serve_is_kept_per_zone_and_counted_per_secondary(pool: SqlitePool) {
        let (store, _, zone) = alices_zone(pool).await;
        assert!(
            store.secondary_checks(true, 2).await.unwrap().is_empty(),
            "not deployed yet"
        );
        store
            .mark_deployed(zone.id, zone.version, 2026112701)
            .await
            .unwrap();
        let checks = store.secondary_checks(true, 2).await.unwrap();
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].deployed_serial, 2026112701);
        assert!(checks[0].seen.is_empty());

        let down = Seen {
            serial: None,
            error: Some("192.0.2.3:53 did not answer".to_string()),
        };
        store
            .record_secondaries(&[
                (zone.id, "192.0.2.2:53", answered(2026112701)),
                (zone.id, "192.0.2.3:53", down.clone()),
            ])
            .await
            .unwrap();
        let states = store.zone_secondaries(zone.id).await.unwrap();
        assert_eq!(states.len(), 2);
        assert!(states[0].in_sync && states[0].serial == Some(2026112701));
        assert!(!states[1].in_sync && states[1].error == down.error);
        let checks = store.secondary_checks(true, 2).await.unwrap();
        assert_eq!(checks[0].seen.get("192.0.2.3:53"), Some(&down));

        // A new deploy: the secondary that served the old serial is behind.
        store
            .mark_deployed(zone.id, zone.version, 2026112702)
            .await
            .unwrap();
        let gauges = store.secondary_gauges().await.unwrap();
        let behind = &gauges["192.0.2.2:53"];
        assert_eq!(
            (behind.in_sync, behind.behind, behind.unreachable),
            (0, 1, 0)
        );
        assert_eq!(gauges["192.0.2.3:53"].unreachable, 1);
        assert!(!store.zone_secondaries(zone.id).await.unwrap()[0].in_sync);

        // A secondary taken out of the configuration is forgotten.
        store
            .keep_secondaries(&["192.0.2.2:53".to_string()])
            .await
            .unwrap();
        let states = store.zone_secondaries(zone.id).await.unwrap();
        assert_eq!(states.len(), 1);
        assert_eq!(states[0].address, "192.0.2.2:53");

        // Only zones some secondary is behind on are due, unless all are.
        assert_eq!(store.secondary_checks(false, 1).await.unwrap().len(), 1);
        store
            .record_secondaries(&[(zone.id, "192.0.2.2:53", answered(2026112702))])
            .await
            .unwrap();
        assert!(store.secondary_checks(false, 1).await.unwrap().is_empty());
        assert_eq!(store.secondary_checks(true, 1).await.unwrap().len(), 1);

        // A deleted zone takes its rows along, and an answer about it that
        // comes late is not kept.
        store.delete_zone(&zone, "test").await.unwrap();
        store
            .record_secondaries(&[(zone.id, "192.0.2.2:53", answered(2026112702))])
            .await
            .unwrap();
        assert!(store.secondary_gauges().await.unwrap().is_empty());
    }
}
