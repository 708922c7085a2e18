//! User accounts: the owners of zones (and, with the API, of tokens).
//!
//! A user may have a password for the dashboard, kept as an argon2id hash
//! (RFC 9106) in PHC string form, so that its parameters travel with it
//! and stronger ones can come later without a migration. Hashing takes
//! tens of milliseconds of CPU on purpose: it runs on tokio's blocking
//! threads, never on the ones serving requests.

use sqlx::Row;

use super::{Store, StoreError, iso8601, now_unix};

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// When it was added (ISO 8601 UTC).
    pub created_at: String,
}

impl Store {
    /// Adds a user.
    pub async fn add_user(&self, name: &str) -> Result<User, StoreError> {
        let mut tx = self.write().await?;
        if user_by_name(&mut tx, name).await?.is_some() {
            return Err(StoreError::UserExists(name.to_string()));
        }
        let created_at = now_unix();
        let id = sqlx::query("INSERT INTO users (name, created_at) VALUES (?, ?)")
            .bind(name)
            .bind(created_at)
            .execute(&mut *tx)
            .await?
            .last_insert_rowid();
        tx.commit().await?;
        Ok(User {
            id,
            name: name.to_string(),
            created_at: iso8601(created_at),
        })
    }

    /// The user called `name`.
    pub async fn user(&self, name: &str) -> Result<User, StoreError> {
        let mut conn = self.pool.acquire().await?;
        user_by_name(&mut conn, name)
            .await?
            .ok_or_else(|| StoreError::UnknownUser(name.to_string()))
    }

    /// The user called `name`, added if missing (for the default account).
    pub async fn user_or_add(&self, name: &str) -> Result<User, StoreError> {
        match self.user(name).await {
            Err(StoreError::UnknownUser(_)) => match self.add_user(name).await {
                // Another process added it in between.
                Err(StoreError::UserExists(_)) => self.user(name).await,
                other => other,
            },
            other => other,
        }
    }

    /// Every user, by name.
    pub async fn users(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query("SELECT id, name, created_at FROM users ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(user_from_row).collect()
    }
}

/// Shortest password accepted: NIST SP 800-63B §5.1.1.2 asks for at
/// least 8 characters of a password the user chose.
pub const MIN_PASSWORD_CHARS: usize = 8;

impl Store {
    /// Sets (or replaces) the password of `name`; the user's sessions end,
    /// so a stolen session does not outlive a password change.
    pub async fn set_password(&self, name: &str, password: &str) -> Result<(), StoreError> {
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(StoreError::Password(format!(
                "a password needs at least {MIN_PASSWORD_CHARS} characters"
            )));
        }
        let user = self.user(name).await?;
        let password = password.to_string();
        let hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| StoreError::Password(e.to_string()))??;
        let mut tx = self.write().await?;
        sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(hash)
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = ?")
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// True if `name` has a dashboard password.
    pub async fn has_password(&self, name: &str) -> Result<bool, StoreError> {
        let set: Option<bool> =
            sqlx::query_scalar("SELECT password_hash IS NOT NULL FROM users WHERE name = ?")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        set.ok_or_else(|| StoreError::UnknownUser(name.to_string()))
    }

    /// The user `name` if `password` is theirs. An unknown user costs
    /// the same hashing time as a wrong password, so the answer's timing
    /// does not tell which names exist.
    pub async fn check_password(
        &self,
        name: &str,
        password: &str,
    ) -> Result<Option<User>, StoreError> {
        let row = sqlx::query("SELECT password_hash FROM users WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        let stored: Option<String> = match &row {
            Some(row) => row.try_get("password_hash")?,
            None => None,
        };
        let password = password.to_string();
        let matches = tokio::task::spawn_blocking(move || match stored {
            Some(stored) => verify_password(&stored, &password),
            None => {
                // Same work as a real check, result thrown away.
                let _ = hash_password(&password);
                Ok(false)
            }
        })
        .await
        .map_err(|e| StoreError::Password(e.to_string()))??;
        match matches {
            true => self.user(name).await.map(Some),
            false => Ok(None),
        }
    }
}

/// An argon2id hash of `password` with a fresh random salt, with the
/// crate's default parameters (OWASP's m=19 MiB, t=2, p=1).
fn hash_password(password: &str) -> Result<String, StoreError> {
    use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Password(e.to_string()))
}

/// Whether `password` matches the PHC string `stored` (argon2 compares in
/// constant time).
fn verify_password(stored: &str, password: &str) -> Result<bool, StoreError> {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    let parsed = PasswordHash::new(stored).map_err(|e| StoreError::Password(e.to_string()))?;
    Ok(argon2::Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
}

async fn user_by_name(
    conn: &mut sqlx::SqliteConnection,
    name: &str,
) -> Result<Option<User>, StoreError> {
    let row = sqlx::query("SELECT id, name, created_at FROM users WHERE name = ?")
        .bind(name)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(user_from_row).transpose()
}

fn user_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<User, StoreError> {
    Ok(User {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        created_at: iso8601(row.try_get("created_at")?),
    })
}
