//! What the deploy worker reads and writes: every zone's versions and
//! deploy state.

use super::{Store, StoreError, now_unix};

/// A zone as the deploy worker sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployTarget {
    /// Row id.
    pub id: i64,
    /// Stable identifier.
    pub uuid: String,
    /// The zone's name without the final dot (`.` for the root).
    pub domain: String,
    /// Bumped by every change to the zone's content.
    pub version: i64,
    /// The version named serves (0: never deployed).
    pub deployed_version: i64,
    /// The serial named serves, once deployed.
    pub deployed_serial: Option<u32>,
}

impl DeployTarget {
    /// True if the zone has changes named does not serve yet.
    pub fn is_pending(&self) -> bool {
        self.version > self.deployed_version
    }
}

impl Store {
    /// Zones by deploy state, and how many have changes not deployed.
    pub async fn zone_gauges(&self) -> Result<crate::metrics::ZoneGauges, StoreError> {
        let by_state: Vec<(String, i64)> =
            sqlx::query_as("SELECT deploy_state, count(*) FROM zones GROUP BY deploy_state")
                .fetch_all(&self.pool)
                .await?;
        let queue: i64 =
            sqlx::query_scalar("SELECT count(*) FROM zones WHERE version > deployed_version")
                .fetch_one(&self.pool)
                .await?;
        Ok(crate::metrics::ZoneGauges {
            by_state: by_state.into_iter().collect(),
            queue,
            secondaries: self.secondary_gauges().await?,
        })
    }

    /// Every zone, by domain.
    pub async fn deploy_targets(&self) -> Result<Vec<DeployTarget>, StoreError> {
        let rows: Vec<(i64, String, String, i64, i64, Option<i64>)> = sqlx::query_as(
            "SELECT id, lower(hex(uuid)), domain, version, deployed_version, deployed_serial \
             FROM zones ORDER BY domain",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(id, hex, domain, version, deployed_version, serial)| DeployTarget {
                    id,
                    uuid: uuid::Uuid::try_parse(&hex).map_or(hex, |u| u.to_string()),
                    domain,
                    version,
                    deployed_version,
                    deployed_serial: serial.and_then(|s| u32::try_from(s).ok()),
                },
            )
            .collect())
    }

    /// Records that named serves `version` of the zone with `serial`: the
    /// zone's serial becomes `serial` (the content of that version is
    /// unchanged, so its version is not bumped), and it is `deployed`
    /// unless a newer version came in meanwhile. `deployed_at` (since when
    /// named serves the serial, which the secondaries' lag counts from)
    /// moves only with the serial.
    pub async fn mark_deployed(
        &self,
        id: i64,
        version: i64,
        serial: u32,
    ) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        sqlx::query(
            "UPDATE zones SET deployed_version = ?1, deployed_serial = ?2, \
             deployed_at = CASE WHEN deployed_serial IS ?2 AND deployed_at IS NOT NULL \
             THEN deployed_at ELSE ?3 END, \
             deploy_error = NULL, \
             deploy_state = CASE WHEN version = ?1 THEN 'deployed' ELSE 'pending' END, \
             serial = CASE WHEN version = ?1 THEN ?2 ELSE serial END \
             WHERE id = ?4 AND deployed_version <= ?1",
        )
        .bind(version)
        .bind(i64::from(serial))
        .bind(now_unix())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records why `version` of the zone could not be deployed; named keeps
    /// serving what it served. The state is `failed` unless a newer version
    /// came in meanwhile (that one is tried next).
    pub async fn mark_failed(&self, id: i64, version: i64, error: &str) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        sqlx::query(
            "UPDATE zones SET deploy_error = ?1, \
             deploy_state = CASE WHEN version = ?2 THEN 'failed' ELSE 'pending' END \
             WHERE id = ?3",
        )
        .bind(error)
        .bind(version)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
