//! Dashboard sessions and the count of failed logins.
//!
//! A session id is 256 random bits handed to the browser once, in its
//! cookie; the table keeps only its SHA-256 hash (like API tokens), so
//! reading the database gives nobody a session. Every login makes a new
//! id, whatever cookie the browser came with: an id planted before the
//! login (session fixation) never becomes a logged-in one.
//!
//! Failed logins are kept per account and per client address for
//! [`LOGIN_WINDOW`] seconds, in the database rather than in memory, so
//! that a restart does not reset the count and every process sees it.

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
