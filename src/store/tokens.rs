//! API tokens: `vps_` and 64 hex digits (256 random bits), shown once.
//!
//! Only a SHA-256 hash of each token is stored, with its first twelve
//! characters as a prefix to recognise it by (`token list`, `revoke`) and
//! to find its row; the hashes are then compared in constant time.
//! `last_used_at` is written at most once a minute per token, so reading
//! the API does not turn every request into a write.
//!
//! A token may be limited to some of its user's zones (`zones`, empty for
//! all): the API then treats every other zone as another user's (404), so
//! a token leaked from one site's deploy script cannot even tell which
//! other zones exist. Read-only is a choice of permissions (`dns:list`,
//! `dns:read`), not a separate flag.

use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{Store, StoreError, iso8601, now_unix};
use crate::zone::encoding::encode_hex;

/// Every permission a token can hold; `dns:*` grants all of them.
pub const PERMISSIONS: [&str; 6] = [
    "dns:list",
    "dns:read",
    "dns:create",
    "dns:update",
    "dns:delete",
    "dns:*",
];

/// Characters of a token kept as its prefix.
const PREFIX_LEN: usize = 12;

/// A token as `token list` shows it: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// First characters of the token (`vps_1a2b3c4d`).
    pub prefix: String,
    /// Label given at creation.
    pub name: String,
    /// The owning user.
    pub user: String,
    /// Granted permissions.
    pub permissions: Vec<String>,
    /// When it was made (ISO 8601).
    pub created_at: String,
    /// When it was last used, to the minute.
    pub last_used_at: Option<String>,
    /// When it stops working.
    pub expires_at: Option<String>,
    /// When it was revoked.
    pub revoked_at: Option<String>,
    /// The zones it is limited to; empty: all of its user's.
    pub zones: Vec<String>,
}

/// Who is calling, once a token is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The user's row id.
    pub user_id: i64,
    /// The user's name.
    pub user: String,
    /// The token's prefix, for the change log.
    pub token_prefix: String,
    /// Granted permissions.
    pub permissions: Vec<String>,
    /// The zones (lowercase domains) the token is limited to; empty: all
    /// of its user's.
    pub zones: Vec<String>,
}

impl Caller {
    /// True if the token may act on zone `domain` at all. A zone it may
    /// not is answered as if it did not exist.
    pub fn covers(&self, domain: &str) -> bool {
        self.zones.is_empty() || self.zones.iter().any(|z| z.eq_ignore_ascii_case(domain))
    }

    /// True if the token grants `permission` (or `dns:*`).
    pub fn may(&self, permission: &str) -> bool {
        self.permissions
            .iter()
            .any(|p| p == permission || p == "dns:*")
    }

    /// How the change log names this caller.
    pub fn actor(&self) -> String {
        format!("token:{} ({})", self.token_prefix, self.user)
    }
}

/// The SHA-256 of a secret, as stored (tokens, session ids).
pub(super) fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Equal contents, in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 256 random bits from the OS in lowercase hex.
pub(super) fn random_hex() -> Result<String, StoreError> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret)
        .map_err(|e| StoreError::Db(sqlx::Error::Protocol(format!("no randomness: {e}"))))?;
    let mut text = Vec::with_capacity(64);
    encode_hex(&secret, &mut text);
    text.make_ascii_lowercase();
    Ok(String::from_utf8_lossy(&text).into_owned())
}

impl Store {
    /// Makes a token for `user`; returns it (the only time it exists in
    /// clear) and its prefix.
    pub async fn create_token(
        &self,
        user: &str,
        name: &str,
        permissions: &[String],
        zones: &[String],
        expires_at: Option<i64>,
    ) -> Result<(String, String), StoreError> {
        if let Some(bad) = permissions
            .iter()
            .find(|p| !PERMISSIONS.contains(&p.as_str()))
        {
            return Err(StoreError::BadPermission(bad.clone()));
        }
        let user = self.user(user).await?;
        let token = format!("vps_{}", random_hex()?);
        let prefix = token[..PREFIX_LEN].to_string();
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO api_tokens (user_id, name, prefix, hash, permissions, zones, \
             created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(user.id)
        .bind(name)
        .bind(&prefix)
        .bind(hash(&token))
        .bind(permissions.join(","))
        .bind(zone_list(zones))
        .bind(now_unix())
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((token, prefix))
    }

    /// Tokens, of one user or of all, oldest first.
    pub async fn tokens(&self, user: Option<&str>) -> Result<Vec<TokenInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.prefix, t.name, u.name AS user, t.permissions, t.created_at, \
             t.last_used_at, t.expires_at, t.revoked_at, t.zones FROM api_tokens t \
             JOIN users u ON u.id = t.user_id WHERE ? IS NULL OR u.name = ? ORDER BY t.id",
        )
        .bind(user)
        .bind(user)
        .fetch_all(&self.pool)
        .await?;
        let time =
            |row: &sqlx::sqlite::SqliteRow, column: &str| -> Result<Option<String>, StoreError> {
                Ok(row.try_get::<Option<i64>, _>(column)?.map(iso8601))
            };
        rows.iter()
            .map(|row| {
                Ok(TokenInfo {
                    prefix: row.try_get("prefix")?,
                    name: row.try_get("name")?,
                    user: row.try_get("user")?,
                    permissions: split_permissions(row.try_get("permissions")?),
                    created_at: iso8601(row.try_get("created_at")?),
                    last_used_at: time(row, "last_used_at")?,
                    expires_at: time(row, "expires_at")?,
                    revoked_at: time(row, "revoked_at")?,
                    zones: split_permissions(row.try_get("zones")?),
                })
            })
            .collect()
    }

    /// Revokes the token(s) with this prefix; false if none was active.
    pub async fn revoke_token(&self, prefix: &str) -> Result<bool, StoreError> {
        self.revoke_token_of(None, prefix).await
    }

    /// Revokes the token(s) with this prefix if they are `user_id`'s (any
    /// user's with None); false if none was active.
    pub async fn revoke_token_of(
        &self,
        user_id: Option<i64>,
        prefix: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = ? WHERE prefix = ? AND revoked_at IS NULL \
             AND (?3 IS NULL OR user_id = ?3)",
        )
        .bind(now_unix())
        .bind(prefix)
        .bind(user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(done > 0)
    }

    /// The caller a token stands for, if it is valid: known, not revoked,
    /// not expired.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Caller>, StoreError> {
        if !token.starts_with("vps_") || token.len() < PREFIX_LEN || !token.is_ascii() {
            return Ok(None);
        }
        let now = now_unix();
        let rows = sqlx::query(
            "SELECT t.id, t.hash, t.permissions, t.zones, t.last_used_at, u.id AS user_id, u.name \
             FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.prefix = ? AND t.revoked_at IS NULL \
             AND (t.expires_at IS NULL OR t.expires_at > ?)",
        )
        .bind(&token[..PREFIX_LEN])
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        let wanted = hash(token);
        for row in &rows {
            let stored: Vec<u8> = row.try_get("hash")?;
            if !constant_time_eq(&stored, &wanted) {
                continue;
            }
            let last_used: Option<i64> = row.try_get("last_used_at")?;
            if last_used.is_none_or(|t| now - t >= 60) {
                let id: i64 = row.try_get("id")?;
                let mut tx = self.write().await?;
                sqlx::query("UPDATE api_tokens SET last_used_at = ? WHERE id = ?")
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
            return Ok(Some(Caller {
                user_id: row.try_get("user_id")?,
                user: row.try_get("name")?,
                token_prefix: token[..PREFIX_LEN].to_string(),
                permissions: split_permissions(row.try_get("permissions")?),
                zones: split_permissions(row.try_get("zones")?),
            }));
        }
        Ok(None)
    }
}

/// How a token's zones are stored: lowercase, without the final dot,
/// comma-separated (domains hold no commas).
fn zone_list(zones: &[String]) -> String {
    let zones: Vec<String> = zones
        .iter()
        .map(|z| z.trim().trim_end_matches('.').to_ascii_lowercase())
        .filter(|z| !z.is_empty())
        .collect();
    zones.join(",")
}

/// A comma-separated column as its items.
fn split_permissions(text: String) -> Vec<String> {
    text.split(',')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::SqlitePool;

    #[sqlx::test(migrator = "crate::store::MIGRATOR")]
    async fn tokens_authenticate_until_revoked_or_expired(pool: SqlitePool) {
        let store = Store::from_pool(pool);
        store.add_user("alice").await.unwrap();
        let perms = vec!["dns:read".to_string()];
        let (token, prefix) = store
            .create_token("alice", "ci", &perms, &[], None)
            .await
            .unwrap();
        assert!(token.starts_with("vps_") && token.len() == 68, "{token}");
        assert_eq!(prefix, token[..12]);
        let caller = store.authenticate(&token).await.unwrap().unwrap();
        assert_eq!(caller.user, "alice");
        assert!(caller.may("dns:read") && !caller.may("dns:delete"));
        let mut wrong = token.clone();
        wrong.replace_range(60..61, if &token[60..61] == "0" { "1" } else { "0" });
        assert_eq!(store.authenticate(&wrong).await.unwrap(), None);
        let listed = store.tokens(Some("alice")).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert!(listed[0].last_used_at.is_some());
        assert!(store.revoke_token(&prefix).await.unwrap());
        assert_eq!(store.authenticate(&token).await.unwrap(), None);
        let (old, _) = store
            .create_token("alice", "old", &perms, &[], Some(now_unix() - 1))
            .await
            .unwrap();
        assert_eq!(store.authenticate(&old).await.unwrap(), None);
        let bad = store
            .create_token("alice", "x", &["dns:all".to_string()], &[], None)
            .await;
        assert!(matches!(bad, Err(StoreError::BadPermission(_))));
    }

    #[sqlx::test(migrator = "crate::store::MIGRATOR")]
    async fn scoped_tokens_cover_their_zones_and_revoke_only_their_users(pool: SqlitePool) {
        let store = Store::from_pool(pool);
        store.add_user("alice").await.unwrap();
        let bob = store.add_user("bob").await.unwrap();
        let zones = vec!["A.example.".to_string(), "b.example".to_string()];
        let (token, prefix) = store
            .create_token("alice", "site", &["dns:read".to_string()], &zones, None)
            .await
            .unwrap();
        let caller = store.authenticate(&token).await.unwrap().unwrap();
        assert_eq!(caller.zones, ["a.example", "b.example"]);
        assert!(caller.covers("a.example") && caller.covers("B.Example"));
        assert!(!caller.covers("c.example"));
        assert_eq!(
            store.tokens(Some("alice")).await.unwrap()[0].zones,
            caller.zones
        );
        assert!(!store.revoke_token_of(Some(bob.id), &prefix).await.unwrap());
        assert!(store.authenticate(&token).await.unwrap().is_some());
        assert!(
            store
                .revoke_token_of(Some(caller.user_id), &prefix)
                .await
                .unwrap()
        );
        assert_eq!(store.authenticate(&token).await.unwrap(), None);
    }
}
