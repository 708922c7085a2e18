//! User accounts: the owners of zones (and, with the API, of tokens).

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
