//! TSIG keys (RFC 8945) for DNS UPDATE: made like API tokens (printed
//! once), but the secret is stored, since verifying an HMAC takes the key.

use sqlx::Row;

use super::{Store, StoreError, iso8601, now_unix};

/// The algorithms a key may have, by BIND's names.
pub const TSIG_ALGORITHMS: [&str; 5] = [
    "hmac-md5",
    "hmac-sha1",
    "hmac-sha256",
    "hmac-sha384",
    "hmac-sha512",
];

/// A stored key as `tsig list` shows it (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsigInfo {
    /// The key's name.
    pub name: String,
    /// The user it acts for.
    pub user: String,
    /// Its algorithm (BIND's name).
    pub algorithm: String,
    /// The zones it may change; empty: all of its user's.
    pub zones: Vec<String>,
    /// When it was made (ISO 8601 UTC).
    pub created_at: String,
    /// When it was revoked.
    pub revoked_at: Option<String>,
}

/// An active key, with what the DNS listener needs to verify and authorise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsigKey {
    /// The key's name, lowercase, without the final dot.
    pub name: String,
    /// Its algorithm (BIND's name).
    pub algorithm: String,
    /// The shared secret.
    pub secret: Vec<u8>,
    /// The user it acts for.
    pub user_id: i64,
    /// That user's name.
    pub user: String,
    /// The zones (domains) it may change; empty: all of its user's.
    pub zones: Vec<String>,
}

impl TsigKey {
    /// True if the key may act on the zone `domain`.
    pub fn allows(&self, domain: &str) -> bool {
        self.zones.is_empty() || self.zones.iter().any(|z| z.eq_ignore_ascii_case(domain))
    }

    /// How the change log names this key.
    pub fn actor(&self) -> String {
        format!("tsig:{} ({})", self.name, self.user)
    }
}

/// A key name as stored: lowercase, no final dot (names compare without
/// case in DNS, and nsupdate may send either spelling).
pub fn key_name(text: &str) -> String {
    text.trim_end_matches('.').to_ascii_lowercase()
}

fn split_zones(text: &str) -> Vec<String> {
    text.split(',')
        .filter(|z| !z.is_empty())
        .map(str::to_string)
        .collect()
}

impl Store {
    /// Makes a key for `user` with a fresh random secret as long as the
    /// algorithm's hash output (RFC 8945 §6 recommends at least that);
    /// returns the secret, the only time it leaves the store.
    pub async fn create_tsig_key(
        &self,
        user: &str,
        name: &str,
        algorithm: &str,
        zones: &[String],
    ) -> Result<Vec<u8>, StoreError> {
        let algorithm = algorithm.to_ascii_lowercase();
        let size = match algorithm.as_str() {
            "hmac-md5" => 16,
            "hmac-sha1" => 20,
            "hmac-sha256" => 32,
            "hmac-sha384" => 48,
            "hmac-sha512" => 64,
            _ => return Err(StoreError::BadAlgorithm(algorithm)),
        };
        let name = key_name(name);
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return Err(StoreError::Conflict {
                field: "name",
                detail: format!("bad key name '{name}' (letters, digits, '-', '_' and '.')"),
            });
        }
        let user = self.user(user).await?;
        let mut secret = vec![0u8; size];
        getrandom::fill(&mut secret)
            .map_err(|e| StoreError::Db(sqlx::Error::Protocol(format!("no randomness: {e}"))))?;
        let zones: Vec<String> = zones.iter().map(|z| key_name(z)).collect();
        let mut tx = self.write().await?;
        let taken: Option<i64> =
            sqlx::query_scalar("SELECT id FROM tsig_keys WHERE name = ? AND revoked_at IS NULL")
                .bind(&name)
                .fetch_optional(&mut *tx)
                .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict {
                field: "name",
                detail: format!("a key named '{name}' exists already (revoke it first)"),
            });
        }
        sqlx::query(
            "INSERT INTO tsig_keys (user_id, name, algorithm, secret, zones, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(user.id)
        .bind(&name)
        .bind(&algorithm)
        .bind(&secret)
        .bind(zones.join(","))
        .bind(now_unix())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(secret)
    }

    /// Keys, of one user or of all, oldest first.
    pub async fn tsig_keys(&self, user: Option<&str>) -> Result<Vec<TsigInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT k.name, u.name AS user, k.algorithm, k.zones, k.created_at, k.revoked_at \
             FROM tsig_keys k JOIN users u ON u.id = k.user_id \
             WHERE ? IS NULL OR u.name = ? ORDER BY k.id",
        )
        .bind(user)
        .bind(user)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(TsigInfo {
                    name: row.try_get("name")?,
                    user: row.try_get("user")?,
                    algorithm: row.try_get("algorithm")?,
                    zones: split_zones(row.try_get("zones")?),
                    created_at: iso8601(row.try_get("created_at")?),
                    revoked_at: row.try_get::<Option<i64>, _>("revoked_at")?.map(iso8601),
                })
            })
            .collect()
    }

    /// Revokes the active key of this name; false if there was none.
    pub async fn revoke_tsig_key(&self, name: &str) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE tsig_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
        )
        .bind(now_unix())
        .bind(key_name(name))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(done > 0)
    }

    /// The active key of this name, if any.
    pub async fn tsig_key(&self, name: &str) -> Result<Option<TsigKey>, StoreError> {
        let row = sqlx::query(
            "SELECT k.name, k.algorithm, k.secret, k.zones, u.id AS user_id, u.name AS user \
             FROM tsig_keys k JOIN users u ON u.id = k.user_id \
             WHERE k.name = ? AND k.revoked_at IS NULL",
        )
        .bind(key_name(name))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(TsigKey {
                name: row.try_get("name")?,
                algorithm: row.try_get("algorithm")?,
                secret: row.try_get("secret")?,
                user_id: row.try_get("user_id")?,
                user: row.try_get("user")?,
                zones: split_zones(row.try_get("zones")?),
            })
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::SqlitePool;

    #[sqlx::test(migrator = "crate::store::MIGRATOR")]
    async fn keys_are_found_by_name_until_revoked(pool: SqlitePool) {
        let store = Store::from_pool(pool);
        store.add_user("alice").await.unwrap();
        let zones = vec!["Example.com".to_string()];
        let secret = store
            .create_tsig_key("alice", "Acme.", "HMAC-SHA256", &zones)
            .await
            .unwrap();
        assert_eq!(secret.len(), 32);
        let key = store.tsig_key("acme").await.unwrap().unwrap();
        assert_eq!(
            (key.algorithm.as_str(), key.secret.clone()),
            ("hmac-sha256", secret)
        );
        assert!(key.allows("example.com") && !key.allows("example.net"));
        let again = store
            .create_tsig_key("alice", "acme", "hmac-md5", &[])
            .await;
        assert!(matches!(again, Err(StoreError::Conflict { .. })));
        let bad = store.create_tsig_key("alice", "x", "hmac-sha3", &[]).await;
        assert!(matches!(bad, Err(StoreError::BadAlgorithm(_))));
        assert!(store.revoke_tsig_key("ACME.").await.unwrap());
        assert_eq!(store.tsig_key("acme").await.unwrap(), None);
        assert_eq!(store.tsig_keys(None).await.unwrap().len(), 1);
    }
}
