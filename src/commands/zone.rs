//! `bindbridge export`, `zone list|show` and `user add|list`: what is stored.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;

use super::{could_not_run, open_existing_store, open_store, write_failure};
use crate::api::views::SoaView;
use crate::cli::{ExportArgs, Format, TokenCommand, TsigCommand, UserCommand, ZoneCommand};
use crate::compile::{self, Destination};
use crate::render::Template;
use crate::store::{StoreError, ZoneInfo};

/// `bindbridge export ZONE [-o FILE] [--check]`.
pub async fn export(db: PathBuf, args: ExportArgs) -> io::Result<ExitCode> {
    let store = match open_existing_store(&db).await {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let loaded = store.load_zone(&args.zone).await;
    store.close().await;
    let zone = match loaded {
        Ok((_, zone)) => zone,
        Err(e) => return Ok(store_failure(&e)),
    };
    let destination = match &args.output {
        Some(path) => Destination::File(path),
        None => Destination::Stdout,
    };
    match compile::write_output(&zone, &Template::builtin(), destination, args.check) {
        Ok(Some(verdict)) if !verdict.accepted => {
            eprintln!(
                "bindbridge: named-checkzone rejects zone {}: {}",
                args.zone,
                verdict.output.trim()
            );
            Ok(ExitCode::from(1))
        }
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(e) => write_failure(&e),
    }
}

/// An unknown zone or user is the input's fault (1); anything else is 2.
fn store_failure(e: &StoreError) -> ExitCode {
    match e {
        StoreError::UnknownZone(_)
        | StoreError::UnknownUser(_)
        | StoreError::UserExists(_)
        | StoreError::Password(_) => {
            eprintln!("bindbridge: {e}");
            ExitCode::from(1)
        }
        _ => could_not_run(e),
    }
}

/// `bindbridge zone list|show`.
pub async fn zone(db: PathBuf, command: ZoneCommand) -> io::Result<ExitCode> {
    let (key, format) = match command {
        ZoneCommand::History { zone } => return history(db, &zone).await,
        ZoneCommand::List { format } => (None, format),
        ZoneCommand::Show { zone, format } => (Some(zone), format),
    };
    let store = match open_existing_store(&db).await {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let result = match &key {
        None => store.zones().await,
        Some(zone) => store.zone(zone).await.map(|z| vec![z]),
    };
    store.close().await;
    let zones = match result {
        Ok(z) => z,
        Err(e) => return Ok(store_failure(&e)),
    };
    let mut out = io::stdout().lock();
    match (format, key.is_some()) {
        (Format::Text, false) => out.write_all(zone_table(&zones).as_bytes())?,
        (Format::Text, true) => out.write_all(zone_details(&zones[0]).as_bytes())?,
        (Format::Json, _) => {
            for z in &zones {
                writeln!(out, "{}", zone_json(z))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `bindbridge zone history ZONE`: one line per change, oldest first.
async fn history(db: PathBuf, zone: &str) -> io::Result<ExitCode> {
    let store = match open_existing_store(&db).await {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let history = store.history(zone).await;
    store.close().await;
    match history {
        Ok(changes) if changes.is_empty() => {
            Ok(store_failure(&StoreError::UnknownZone(zone.into())))
        }
        Ok(changes) => {
            for c in changes {
                let record = c
                    .record_uuid
                    .map(|u| format!(" record {u}"))
                    .unwrap_or_default();
                let after = c.after.map(|a| format!(" {a}")).unwrap_or_default();
                writeln!(
                    io::stdout(),
                    "{}  {}  {}{record}{after}",
                    c.at,
                    c.actor,
                    c.action
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(store_failure(&e)),
    }
}

fn zone_table(zones: &[ZoneInfo]) -> String {
    let mut rows = vec![[
        "DOMAIN".to_string(),
        "SERIAL".into(),
        "RECORDS".into(),
        "OWNER".into(),
        "DEPLOY".into(),
        "UUID".into(),
    ]];
    for z in zones {
        rows.push([
            z.fields.domain.clone(),
            z.fields.soa.serial.to_string(),
            z.record_count.to_string(),
            z.owner.clone(),
            deploy_summary(z),
            z.uuid.clone(),
        ]);
    }
    let mut widths = [0usize; 6];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// `deployed`, `failed`, or `pending (version 3, deployed 2)`.
fn deploy_summary(z: &ZoneInfo) -> String {
    match z.deploy_state.as_str() {
        "deployed" if z.deployed_version >= z.version => "deployed".into(),
        state => format!(
            "{state} (version {}, deployed {})",
            z.version, z.deployed_version
        ),
    }
}

fn zone_details(z: &ZoneInfo) -> String {
    let f = &z.fields;
    let mut lines = vec![
        format!("zone:          {}", f.domain),
        format!("uuid:          {}", z.uuid),
        format!("owner:         {}", z.owner),
        format!("created:       {}", z.created_at),
        format!("updated:       {}", z.updated_at),
        format!("records:       {}", z.record_count),
        format!(
            "soa:           {} {} serial {} refresh {} retry {} expire {} minimum {} (ttl {})",
            f.soa.mname,
            f.soa.rname,
            f.soa.serial,
            f.soa.refresh,
            f.soa.retry,
            f.soa.expire,
            f.soa.minimum,
            f.soa.ttl
        ),
        format!(
            "nameservers:   {} (ttl {})",
            f.nameservers.join(" "),
            f.ns_ttl
        ),
        format!(
            "default ttl:   {}",
            f.default_ttl
                .map_or("none ($TTL not set)".into(), |t| t.to_string())
        ),
        format!("version:       {}", z.version),
        format!("deploy:        {}", deploy_summary(z)),
    ];
    if let Some(serial) = z.deployed_serial {
        lines.push(format!("deployed serial: {serial}"));
    }
    if let Some(at) = &z.deployed_at {
        lines.push(format!("deployed at:   {at}"));
    }
    if let Some(error) = &z.deploy_error {
        lines.push(format!("deploy error:  {error}"));
    }
    lines.join("\n") + "\n"
}

fn zone_json(z: &ZoneInfo) -> serde_json::Value {
    let f = &z.fields;
    json!({
        "uuid": z.uuid,
        "domain": f.domain,
        "owner": z.owner,
        "created_at": z.created_at,
        "updated_at": z.updated_at,
        "record_count": z.record_count,
        "soa": SoaView::from(&f.soa),
        "nameservers": f.nameservers,
        "ns_ttl": f.ns_ttl,
        "default_ttl": f.default_ttl,
        "version": z.version,
        "deploy": {
            "state": z.deploy_state,
            "deployed_version": z.deployed_version,
            "serial": z.deployed_serial,
            "deployed_at": z.deployed_at,
            "error": z.deploy_error,
        },
    })
}

/// `bindbridge user add|list`.
pub async fn user(db: PathBuf, command: UserCommand) -> io::Result<ExitCode> {
    // `user add` is one way to start a database; `user list` only reads.
    let opened = match &command {
        UserCommand::Add { .. } => open_store(&db).await,
        UserCommand::Passwd { .. } | UserCommand::List => open_existing_store(&db).await,
    };
    // Read before anything is written: no user is added without the
    // password asked for.
    let password = match &command {
        UserCommand::Add {
            password_stdin: true,
            ..
        }
        | UserCommand::Passwd { .. } => match read_password() {
            Ok(p) => Some(p),
            Err(message) => {
                if let Ok(store) = opened {
                    store.close().await;
                }
                eprintln!("bindbridge: {message}");
                return Ok(ExitCode::from(1));
            }
        },
        _ => None,
    };
    let store = match opened {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let result = match &command {
        UserCommand::Add { name, .. } => match valid_user_name(name) {
            Ok(()) => match store.add_user(name).await {
                Ok(user) => match &password {
                    Some(p) => store.set_password(name, p).await.map(|()| vec![user]),
                    None => Ok(vec![user]),
                },
                Err(e) => Err(e),
            },
            Err(message) => {
                store.close().await;
                eprintln!("bindbridge: bad user name '{name}': {message}");
                return Ok(ExitCode::from(1));
            }
        },
        UserCommand::Passwd { name, .. } => {
            let password = password.unwrap_or_default();
            store
                .set_password(name, &password)
                .await
                .map(|()| Vec::new())
        }
        UserCommand::List => store.users().await,
    };
    store.close().await;
    match result {
        Ok(users) => {
            for u in users {
                writeln!(io::stdout(), "{}  {}", u.name, u.created_at)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(store_failure(&e)),
    }
}

/// The first line of standard input, without its line ending: a
/// password piped in (`--password-stdin`), as docker login reads one.
fn read_password() -> Result<String, String> {
    let mut line = String::new();
    io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    match password.chars().count() {
        n if n < crate::store::MIN_PASSWORD_CHARS => Err(format!(
            "the password on standard input is too short: {n} characters, at least {} needed",
            crate::store::MIN_PASSWORD_CHARS
        )),
        _ => Ok(password),
    }
}

/// User names appear in tables and logs: keep them to one printable word.
fn valid_user_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > 64 {
        return Err("it must have 1 to 64 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'))
    {
        return Err("use letters, digits, '.', '_', '-' and '@' only");
    }
    Ok(())
}

/// A TSIG key in BIND's `key` syntax, as `nsupdate -k`, `dig -k` and
/// named.conf read it.
pub fn bind_key_text(name: &str, algorithm: &str, secret: &[u8]) -> String {
    use base64::Engine;
    let secret = base64::engine::general_purpose::STANDARD.encode(secret);
    format!("key \"{name}\" {{\n\talgorithm {algorithm};\n\tsecret \"{secret}\";\n}};\n")
}

/// `bindbridge tsig create|list|revoke`.
pub async fn tsig(db: PathBuf, command: TsigCommand) -> io::Result<ExitCode> {
    let mut out = io::stdout();
    let store = match open_existing_store(&db).await {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let code = match command {
        TsigCommand::Create {
            user,
            name,
            zones,
            algorithm,
        } => {
            let name = crate::store::key_name(&name.unwrap_or_else(|| format!("{user}-update")));
            match store
                .create_tsig_key(&user, &name, &algorithm, &zones)
                .await
            {
                Ok(secret) => {
                    let algorithm = algorithm.to_ascii_lowercase();
                    write!(out, "{}", bind_key_text(&name, &algorithm, &secret))?;
                    ExitCode::SUCCESS
                }
                Err(e @ (StoreError::BadAlgorithm(_) | StoreError::Conflict { .. })) => {
                    eprintln!("bindbridge: {e}");
                    ExitCode::from(1)
                }
                Err(e) => store_failure(&e),
            }
        }
        TsigCommand::List { user } => match store.tsig_keys(user.as_deref()).await {
            Ok(keys) => {
                for k in keys {
                    let state = match &k.revoked_at {
                        Some(at) => format!("revoked {at}"),
                        None => "active".into(),
                    };
                    let zones = match k.zones.is_empty() {
                        true => "all zones".to_string(),
                        false => k.zones.join(","),
                    };
                    writeln!(
                        out,
                        "{}  {}  {}  {zones}  created {}  {state}",
                        k.name, k.user, k.algorithm, k.created_at
                    )?;
                }
                ExitCode::SUCCESS
            }
            Err(e) => store_failure(&e),
        },
        TsigCommand::Revoke { name } => match store.revoke_tsig_key(&name).await {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => {
                eprintln!("bindbridge: no active TSIG key named '{name}'");
                ExitCode::from(1)
            }
            Err(e) => store_failure(&e),
        },
    };
    store.close().await;
    Ok(code)
}

/// `bindbridge token create|list|revoke`: each needs a user or a token
/// of an existing database, so none creates one.
pub async fn token(db: PathBuf, command: TokenCommand) -> io::Result<ExitCode> {
    let mut out = io::stdout();
    let store = match open_existing_store(&db).await {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let code = match command {
        TokenCommand::Create {
            user,
            permissions,
            name,
            expires,
            zones,
        } => {
            let lifetime = expires
                .as_deref()
                .map(|e| crate::zone::ttl::parse_ttl(e.as_bytes()).and_then(Result::ok));
            let expires_at = match lifetime {
                None => None,
                Some(Some(seconds)) => Some(crate::store::now_unix() + i64::from(seconds)),
                Some(None) => {
                    store.close().await;
                    eprintln!(
                        "bindbridge: bad --expires '{}': use seconds or units such as 90m, 30d, 1w",
                        expires.unwrap_or_default()
                    );
                    return Ok(ExitCode::from(1));
                }
            };
            match store
                .create_token(&user, &name, &permissions, &zones, expires_at)
                .await
            {
                Ok((token, _)) => {
                    writeln!(out, "{token}")?;
                    ExitCode::SUCCESS
                }
                Err(e @ StoreError::BadPermission(_)) => {
                    eprintln!("bindbridge: {e}");
                    ExitCode::from(1)
                }
                Err(e) => store_failure(&e),
            }
        }
        TokenCommand::List { user } => match store.tokens(user.as_deref()).await {
            Ok(tokens) => {
                for t in tokens {
                    let state = match (&t.revoked_at, &t.expires_at) {
                        (Some(at), _) => format!("revoked {at}"),
                        (None, Some(at)) => format!("expires {at}"),
                        (None, None) => "active".into(),
                    };
                    let scope = match t.zones.is_empty() {
                        true => String::new(),
                        false => format!("  zones {}", t.zones.join(",")),
                    };
                    writeln!(
                        out,
                        "{}  {}  {}  {}  created {}  last used {}  {state}{scope}",
                        t.prefix,
                        t.user,
                        if t.name.is_empty() { "-" } else { &t.name },
                        t.permissions.join(","),
                        t.created_at,
                        t.last_used_at.as_deref().unwrap_or("never"),
                    )?;
                }
                ExitCode::SUCCESS
            }
            Err(e) => store_failure(&e),
        },
        TokenCommand::Revoke { prefix } => match store.revoke_token(&prefix).await {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => {
                eprintln!("bindbridge: no active token with prefix '{prefix}'");
                ExitCode::from(1)
            }
            Err(e) => store_failure(&e),
        },
    };
    store.close().await;
    Ok(code)
}
