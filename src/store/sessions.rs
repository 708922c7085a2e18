//! Dashboard sessions and the count of failed logins.
//!
//! A session id is 256 random bits handed to the browser once, in its
//! cookie; the table keeps only its SHA-256 hash (like API tokens), so
//! reading the database gives nobody a session. Every login makes a new
//! id, whatever cookie the browser came with: an id planted before the
//! login (session fixation) never becomes a logged-in one.
//!
//! A token made in the dashboard is held in its session row until the
//! page after the POST shows it ([`Store::hold_new_token`]), sealed with
//! the session id: the database alone reveals neither.
//!
//! Failed logins are kept per account and per client address for
//! [`LOGIN_WINDOW`] seconds, in the database rather than in memory, so
//! that a restart does not reset the count and every process sees it.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::Row;

use super::tokens::{constant_time_eq, hash, random_hex};
use super::{Store, StoreError, now_unix};

/// How long a session lasts from its login, in seconds (12 hours: a
/// working day, then log in again).
pub const SESSION_LIFETIME: i64 = 12 * 3600;

/// Seconds over which failed logins are counted.
pub const LOGIN_WINDOW: i64 = 60;

/// Failed logins allowed per account, and per address, in a window; the
/// next attempt is refused until the oldest one leaves the window.
pub const LOGIN_FAILURES_ALLOWED: i64 = 5;

/// A logged-in session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The user's row id.
    pub user_id: i64,
    /// The user's name.
    pub user: String,
    /// The token this session's forms must send back (CSRF).
    pub csrf: String,
}

impl Session {
    /// True if `sent` is this session's CSRF token (compared in constant
    /// time).
    pub fn csrf_matches(&self, sent: &str) -> bool {
        constant_time_eq(self.csrf.as_bytes(), sent.as_bytes())
    }
}

impl Store {
    /// Starts a session for `user_id`; returns its id (the only time it
    /// exists in clear) and the session. Expired sessions are removed on
    /// the way.
    pub async fn create_session(&self, user_id: i64) -> Result<(String, Session), StoreError> {
        let id = random_hex()?;
        let csrf = random_hex()?;
        let now = now_unix();
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM sessions WHERE expires_at <= ?")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, csrf, created_at, expires_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(hash(&id))
        .bind(user_id)
        .bind(&csrf)
        .bind(now)
        .bind(now + SESSION_LIFETIME)
        .execute(&mut *tx)
        .await?;
        let user: String = sqlx::query_scalar("SELECT name FROM users WHERE id = ?")
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok((
            id,
            Session {
                user_id,
                user,
                csrf,
            },
        ))
    }

    /// The live session with this id, if any.
    pub async fn session(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(
            "SELECT s.user_id, s.csrf, u.name FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_hash = ? AND s.expires_at > ?",
        )
        .bind(hash(id))
        .bind(now_unix())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(Session {
                user_id: row.try_get("user_id")?,
                user: row.try_get("name")?,
                csrf: row.try_get("csrf")?,
            })
        })
        .transpose()
    }

    /// Ends the session with this id (logout); nothing if there is none.
    pub async fn end_session(&self, id: &str) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM sessions WHERE id_hash = ?")
            .bind(hash(id))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Holds a new API token for the next [`Store::take_new_token`] of
    /// session `id` (one display, after a redirect), replacing any held.
    pub async fn hold_new_token(&self, id: &str, token: &str) -> Result<(), StoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce)
            .map_err(|e| StoreError::Db(sqlx::Error::Protocol(format!("no randomness: {e}"))))?;
        let mut sealed = nonce.to_vec();
        sealed.extend(seal(id, &nonce, token.as_bytes()));
        let mut tx = self.write().await?;
        sqlx::query("UPDATE sessions SET new_token = ? WHERE id_hash = ?")
            .bind(sealed)
            .bind(hash(id))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The token held for session `id`, cleared as it is read: a second
    /// call (a reload of the page) gets None.
    pub async fn take_new_token(&self, id: &str) -> Result<Option<String>, StoreError> {
        // Read first, so that pages without a token take no write lock.
        let held: Option<Vec<u8>> = sqlx::query_scalar(
            "SELECT new_token FROM sessions WHERE id_hash = ? AND new_token IS NOT NULL",
        )
        .bind(hash(id))
        .fetch_optional(&self.pool)
        .await?;
        let Some(held) = held else { return Ok(None) };
        let mut tx = self.write().await?;
        // Only the request that clears it shows it, if two race.
        let cleared =
            sqlx::query("UPDATE sessions SET new_token = NULL WHERE id_hash = ? AND new_token = ?")
                .bind(hash(id))
                .bind(&held)
                .execute(&mut *tx)
                .await?;
        tx.commit().await?;
        if cleared.rows_affected() == 0 || held.len() < NONCE_LEN {
            return Ok(None);
        }
        let (nonce, sealed) = held.split_at(NONCE_LEN);
        Ok(String::from_utf8(seal(id, nonce, sealed)).ok())
    }

    /// Seconds until another login may be tried under any of `keys`
    /// (`user:NAME`, `addr:IP`), or None if it may be now.
    pub async fn login_blocked(&self, keys: &[String]) -> Result<Option<i64>, StoreError> {
        let now = now_unix();
        let mut wait = None;
        for key in keys {
            // The oldest failure that must leave the window before the
            // count drops below the limit.
            let row = sqlx::query(
                "SELECT count(*) AS n, (SELECT at FROM login_failures WHERE key = ?1 AND at > ?2 \
                 ORDER BY at DESC LIMIT 1 OFFSET ?3) AS oldest \
                 FROM login_failures WHERE key = ?1 AND at > ?2",
            )
            .bind(key)
            .bind(now - LOGIN_WINDOW)
            .bind(LOGIN_FAILURES_ALLOWED - 1)
            .fetch_one(&self.pool)
            .await?;
            let count: i64 = row.try_get("n")?;
            let oldest: Option<i64> = row.try_get("oldest")?;
            if count >= LOGIN_FAILURES_ALLOWED
                && let Some(oldest) = oldest
            {
                let seconds = (oldest + LOGIN_WINDOW - now).max(1);
                wait = Some(wait.map_or(seconds, |w: i64| w.max(seconds)));
            }
        }
        Ok(wait)
    }

    /// Counts a failed login under each of `keys`, and forgets failures
    /// older than the window.
    pub async fn login_failed(&self, keys: &[String]) -> Result<(), StoreError> {
        let now = now_unix();
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM login_failures WHERE at <= ?")
            .bind(now - LOGIN_WINDOW)
            .execute(&mut *tx)
            .await?;
        for key in keys {
            sqlx::query("INSERT INTO login_failures (key, at) VALUES (?, ?)")
                .bind(key)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Bytes of the random nonce stored before a sealed token.
const NONCE_LEN: usize = 16;

/// `text` XORed with HMAC-SHA256(session id, nonce ‖ block number), a
/// keystream only the holder of the session id can make (the database
/// keeps its hash); sealing and opening are the same step. The nonce is
/// new for every token, so no two tokens share a keystream.
fn seal(id: &str, nonce: &[u8], text: &[u8]) -> Vec<u8> {
    text.chunks(32)
        .zip(0u32..)
        .flat_map(|(chunk, block)| {
            let mut mac = <Hmac<Sha256>>::new_from_slice(id.as_bytes())
                .expect("HMAC takes keys of any length");
            mac.update(nonce);
            mac.update(&block.to_be_bytes());
            let stream = mac.finalize().into_bytes();
            chunk
                .iter()
                .zip(stream)
                .map(|(b, k)| b ^ k)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::SqlitePool;

    #[sqlx::test(migrator = "crate::store::MIGRATOR")]
    async fn sessions_are_found_by_their_id_only_and_end(pool: SqlitePool) {
        let store = Store::from_pool(pool);
        let alice = store.add_user("alice").await.unwrap();
        let (id, session) = store.create_session(alice.id).await.unwrap();
        assert_eq!(id.len(), 64);
        assert_eq!(store.session(&id).await.unwrap(), Some(session.clone()));
        assert!(session.csrf_matches(&session.csrf) && !session.csrf_matches("x"));
        // Only the hash is stored.
        let stored: Vec<u8> = sqlx::query_scalar("SELECT id_hash FROM sessions")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(stored, hash(&id));
        assert_eq!(store.session(&session.csrf).await.unwrap(), None);
        store.end_session(&id).await.unwrap();
        assert_eq!(store.session(&id).await.unwrap(), None);
    }

    #[sqlx::test(migrator = "crate::store::MIGRATOR")]
    async fn a_held_token_is_taken_once_by_its_session_and_stored_sealed(pool: SqlitePool) {
        let store = Store::from_pool(pool);
        let alice = store.add_user("alice").await.unwrap();
        let (id, _) = store.create_session(alice.id).await.unwrap();
        let (other, _) = store.create_session(alice.id).await.unwrap();
        let token = format!("vps_{}", "ab12".repeat(16));
        store.hold_new_token(&id, &token).await.unwrap();
        let stored: Vec<u8> =
            sqlx::query_scalar("SELECT new_token FROM sessions WHERE new_token IS NOT NULL")
                .fetch_one(&store.pool)
                .await
                .unwrap();
        assert_eq!(stored.len(), NONCE_LEN + token.len());
        assert!(
            !stored
                .windows(8)
                .any(|w| token.as_bytes().windows(8).any(|t| t == w))
        );
        assert_eq!(store.take_new_token(&other).await.unwrap(), None);
        assert_eq!(store.take_new_token(&id).await.unwrap(), Some(token));
        assert_eq!(store.take_new_token(&id).await.unwrap(), None);
    }

    #[sqlx::test(migrator = "crate::store::MIGRATOR")]
    async fn passwords_check_and_a_new_one_ends_sessions(pool: SqlitePool) {
        let store = Store::from_pool(pool);
        let alice = store.add_user("alice").await.unwrap();
        assert_eq!(
            store.check_password("alice", "whatever1").await.unwrap(),
            None
        );
        store.set_password("alice", "correct horse").await.unwrap();
        let stored: String = sqlx::query_scalar("SELECT password_hash FROM users")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert_eq!(
            store
                .check_password("alice", "correct horse")
                .await
                .unwrap(),
            Some(alice.clone())
        );
        assert_eq!(
            store.check_password("alice", "wrong horse").await.unwrap(),
            None
        );
        assert_eq!(
            store.check_password("bob", "correct horse").await.unwrap(),
            None
        );
        assert!(matches!(
            store.set_password("alice", "short").await,
            Err(StoreError::Password(_))
        ));
        let (id, _) = store.create_session(alice.id).await.unwrap();
        store.set_password("alice", "battery staple").await.unwrap();
        assert_eq!(store.session(&id).await.unwrap(), None);
    }

    #[sqlx::test(migrator = "crate::store::MIGRATOR")]
    async fn the_sixth_failure_in_a_minute_waits(pool: SqlitePool) {
        let store = Store::from_pool(pool);
        let keys = vec!["user:alice".to_string(), "addr:192.0.2.1".to_string()];
        for _ in 0..LOGIN_FAILURES_ALLOWED - 1 {
            store.login_failed(&keys).await.unwrap();
        }
        assert_eq!(store.login_blocked(&keys).await.unwrap(), None);
        store.login_failed(&keys).await.unwrap();
        let wait = store.login_blocked(&keys).await.unwrap().unwrap();
        assert!((1..=LOGIN_WINDOW).contains(&wait), "{wait}");
        let other = vec!["user:bob".to_string(), "addr:192.0.2.2".to_string()];
        assert_eq!(store.login_blocked(&other).await.unwrap(), None);
    }
}
