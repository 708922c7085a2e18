//! The zone-file template: evaluated once per zone, split into header,
//! record line pattern and footer (see the module above for why).

use std::path::Path;

use super::HeaderValues;

/// The template shipped with bindbridge.
pub const BUILTIN: &str = include_str!("../../templates/zone.tera");

const TEMPLATE_NAME: &str = "zone.tera";
/// Placeholder delimiters: control bytes no header value can contain.
const OPEN: char = '\u{1}';
const CLOSE: char = '\u{2}';

/// Why a template cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The template file could not be read.
    #[error("cannot read template {path}: {source}")]
    Read {
        /// The template's path.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Tera could not compile or evaluate the template.
    #[error("template error: {0}")]
    Tera(String),
    /// No line of the template uses the record fields.
    #[error(
        "template has no record line: one line must use record.owner, record.ttl, record.class, record.type and record.rdata"
    )]
    NoRecordLine,
    /// A record field is missing from the record line, or repeated.
    #[error("template record line must use record.{0} exactly once")]
    Field(&'static str),
    /// Writing the rendered zone failed.
    #[error("cannot write zone: {0}")]
    Io(#[source] std::io::Error),
}

/// One field of the record line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Owner name, relative to the origin.
    Owner = 0,
    /// TTL in seconds.
    Ttl = 1,
    /// Class mnemonic.
    Class = 2,
    /// Type mnemonic.
    Type = 3,
    /// RDATA in presentation form.
    Rdata = 4,
}

const FIELDS: [(&str, FieldKind); 5] = [
    ("owner", FieldKind::Owner),
    ("ttl", FieldKind::Ttl),
    ("class", FieldKind::Class),
    ("type", FieldKind::Type),
    ("rdata", FieldKind::Rdata),
];

/// A piece of the compiled record line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Text copied as it is.
    Literal(Vec<u8>),
    /// A record field padded to a width within `[min, max]`.
    Field {
        /// Which field.
        kind: FieldKind,
        /// Narrowest column.
        min: usize,
        /// Widest column.
        max: usize,
    },
}

/// The template evaluated for one zone.
pub struct Layout {
    /// Text before the records.
    pub header: Vec<u8>,
    /// The record line.
    pub line: Vec<Segment>,
    /// Text after the records.
    pub footer: Vec<u8>,
}

/// A loaded, compiled template.
pub struct Template {
    tera: tera::Tera,
}

impl Template {
    /// The built-in template.
    pub fn builtin() -> Self {
        Template::from_source(BUILTIN).expect("the built-in template compiles")
    }

    /// Loads a template file, e.g. an operator's edited copy.
    pub fn from_file(path: &Path) -> Result<Self, TemplateError> {
        let source = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Template::from_source(&source)
    }

    /// Compiles template text.
    pub fn from_source(source: &str) -> Result<Self, TemplateError> {
        let mut tera = tera::Tera::new();
        tera.autoescape_on(Vec::<&str>::new());
        tera.register_filter("column", column_filter);
        tera.add_raw_template(TEMPLATE_NAME, source)
            .map_err(|e| TemplateError::Tera(e.to_string()))?;
        Ok(Template { tera })
    }

    /// Evaluates the template once for a zone and splits it.
    pub fn layout(&self, values: &HeaderValues) -> Result<Layout, TemplateError> {
        let mut ctx = tera::Context::new();
        ctx.insert("origin", &values.origin);
        ctx.insert("default_ttl", &values.default_ttl);
        ctx.insert("class", &values.class);
        ctx.insert("record_count", &values.record_count);
        let serial = values
            .serial
            .map_or_else(|| "none".to_string(), |s| s.to_string());
        ctx.insert("serial", &serial);
        let record: std::collections::BTreeMap<&str, String> = FIELDS
            .iter()
            .map(|(name, _)| (*name, format!("{OPEN}{name}{CLOSE}")))
            .collect();
        ctx.insert("record", &record);
        let text = self
            .tera
            .render(TEMPLATE_NAME, &ctx)
            .map_err(|e| TemplateError::Tera(error_chain(&e)))?;
        split(&text)
    }
}

/// An error with its causes, joined by `: ` (tera puts the useful part in
/// the sources).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

/// `column(min=N, max=M)`: on a record placeholder, records the bounds; on
/// a header value, pads it to `min`.
fn column_filter(value: &str, kwargs: tera::Kwargs, _: &tera::State) -> tera::TeraResult<String> {
    let min = kwargs.get::<i64>("min")?.unwrap_or(0).max(0) as usize;
    let max = kwargs
        .get::<i64>("max")?
        .unwrap_or(i64::from(u16::MAX))
        .max(0) as usize;
    if let Some(inner) = value.strip_prefix(OPEN).and_then(|v| v.strip_suffix(CLOSE)) {
        return Ok(format!("{OPEN}{inner}:{min}:{max}{CLOSE}"));
    }
    Ok(format!("{value:<min$}"))
}

fn split(text: &str) -> Result<Layout, TemplateError> {
    let first = text.find(OPEN).ok_or(TemplateError::NoRecordLine)?;
    let last = text.rfind(CLOSE).ok_or(TemplateError::NoRecordLine)?;
    let line_start = text[..first].rfind('\n').map_or(0, |p| p + 1);
    let line_end = text[last..].find('\n').map_or(text.len(), |p| last + p + 1);
    let mut pattern = &text[line_start..line_end];
    let mut line = Vec::new();
    let mut seen = [0u8; 5];
    while let Some(open) = pattern.find(OPEN) {
        if open > 0 {
            line.push(Segment::Literal(pattern.as_bytes()[..open].to_vec()));
        }
        let close = pattern[open..]
            .find(CLOSE)
            .ok_or(TemplateError::NoRecordLine)?
            + open;
        let spec = &pattern[open + 1..close];
        let mut parts = spec.split(':');
        let name = parts.next().unwrap_or_default();
        let (_, kind) = FIELDS
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or(TemplateError::NoRecordLine)?;
        let min = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
        let max = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
        seen[*kind as usize] += 1;
        line.push(Segment::Field {
            kind: *kind,
            min,
            max,
        });
        pattern = &pattern[close + 1..];
    }
    let mut tail = pattern.as_bytes().to_vec();
    if !tail.ends_with(b"\n") {
        tail.push(b'\n');
    }
    line.push(Segment::Literal(tail));
    for (name, kind) in FIELDS {
        if seen[kind as usize] != 1 {
            return Err(TemplateError::Field(name));
        }
    }
    Ok(Layout {
        header: text.as_bytes()[..line_start].to_vec(),
        line,
        footer: text.as_bytes()[line_end..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> HeaderValues {
        HeaderValues {
            origin: "example.com.".into(),
            default_ttl: 300,
            class: "IN".into(),
            record_count: 2,
            serial: Some(7),
        }
    }

    #[test]
    fn builtin_splits_into_header_line_footer() {
        let layout = Template::builtin().layout(&values()).unwrap();
        let header = String::from_utf8(layout.header).unwrap();
        assert!(
            header.contains("$ORIGIN example.com.\n$TTL 300\n"),
            "{header}"
        );
        assert!(layout.footer.is_empty());
        assert!(matches!(
            layout.line[0],
            Segment::Field {
                kind: FieldKind::Owner,
                min: 0,
                max: 40
            }
        ));
    }

    #[test]
    fn every_field_is_required_once() {
        let t = Template::from_source("{{ record.owner }} {{ record.type }} {{ record.rdata }}\n")
            .unwrap();
        assert!(matches!(
            t.layout(&values()),
            Err(TemplateError::Field("ttl"))
        ));
        let t = Template::from_source("$ORIGIN {{ origin }}\n").unwrap();
        assert!(matches!(
            t.layout(&values()),
            Err(TemplateError::NoRecordLine)
        ));
    }
}
