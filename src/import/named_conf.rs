//! Reading an existing BIND `named.conf`: every zone, its type and its file.
//!
//! `bindbridge import --named-conf FILE` uses this to find the primary zones
//! to import. Only the configuration is read here, never the zone files.
//!
//! # Syntax
//!
//! The grammar is read generically, the way `named`'s own parser tokenizes
//! it, and interpreted afterwards:
//!
//! * Comments are `/* … */` (may span lines), `// …` and `# …` (to the end
//!   of the line). As in BIND, a comment may start right after a bare word
//!   (`any;# comment`, `a//b` is the word `a` then a comment).
//! * Tokens are quoted strings, bare words, `{`, `}` and `;`. A quoted string
//!   may span lines and hold spaces, `;` and braces; a backslash keeps the
//!   next character from ending it. Like BIND, `\"` yields a `"` and any
//!   other backslash is kept (so `zone "a\.b"` keeps its escaped dot).
//! * A statement is any sequence of words and `{ … }` blocks ended by `;`,
//!   so `allow { … } keys { … };` is one statement. Unknown statements are
//!   kept in the tree and ignored.
//! * `include "path";` is spliced in place at any level (top level, inside
//!   `view`, `options`, …). Including a file that is already being read is
//!   an error, not endless recursion.
//! * Zones are the `zone` statements at the top level and inside `view`
//!   blocks; their `type`, `file`, `masterfile-format`, `in-view`,
//!   `allow-update` and `update-policy` options are read.
//!
//! # Paths
//!
//! * A relative `include` path or `directory` is resolved against the
//!   directory holding the top-level configuration file. `named` resolves
//!   them against its working directory, which is usually that directory
//!   (or `directory`, once it has changed to it); real configurations use
//!   absolute paths, which are unaffected.
//! * `directory` defaults to the directory holding the top-level file. The
//!   last `directory` option in the whole configuration wins, and relative
//!   zone `file`s are resolved against it once everything has been read
//!   (the options may come after the zones in the text).
//! * With a root ([`read_with_root`], like `named -t`), every absolute path
//!   met in the configuration is looked up under that root. The top-level
//!   path itself is taken as given.
//! * Paths are joined, never canonicalized: only include files need to exist.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use nom::bytes::complete::{tag, take, take_till, take_until, take_while};
use nom::{IResult, Parser};

/// One `zone` statement found in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfZone {
    /// The zone name as written, quotes removed (`example.com`, `example.com.`, `.`).
    pub name: String,
    /// The optional class word after the name (`IN`, `CH`, …), as written.
    pub class: Option<String>,
    /// The name of the enclosing `view`, if any.
    pub view: Option<String>,
    /// The value of the `type` option, lowercased (`master`, `primary`,
    /// `slave`, `hint`, …); `None` if absent.
    pub kind: Option<String>,
    /// The `file` option, resolved against the effective `directory` (and
    /// the root, if any); `None` if absent.
    pub file: Option<PathBuf>,
    /// The `masterfile-format` option, lowercased (`text`, `raw`, `map`).
    pub format: Option<String>,
    /// The `in-view` option: the zone is shared from that view.
    pub in_view: Option<String>,
    /// True if the zone has `update-policy`, or `allow-update` with a list
    /// that holds something other than `none`.
    pub dynamic: bool,
    /// The configuration file that declares the zone.
    pub source: PathBuf,
    /// The 1-based line of the `zone` keyword in [`ConfZone::source`].
    pub line: u32,
}

impl ConfZone {
    /// True for `type master` / `type primary` (case-insensitive).
    pub fn is_primary(&self) -> bool {
        matches!(self.kind.as_deref(), Some("master" | "primary"))
    }
}

/// Everything read from a named.conf and its includes.
#[derive(Debug, Clone, Default)]
pub struct NamedConf {
    /// The zones in the order they appear, includes expanded in place.
    pub zones: Vec<ConfZone>,
    /// The effective `directory` (resolved); the top-level file's directory if unset.
    pub directory: PathBuf,
    /// Every configuration file read, top-level first, in the order read.
    pub files: Vec<PathBuf>,
}

/// Why a configuration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ConfError {
    /// The configuration file at fault.
    pub file: String,
    /// The 1-based line of the problem (0 when the file itself cannot be read).
    pub line: u32,
    /// What was wrong.
    pub message: String,
}

/// Reads `path` and every file it includes.
pub fn read(path: &Path) -> Result<NamedConf, ConfError> {
    read_with_root(path, None)
}

/// Same as [`read`], but every absolute path met in the configuration
/// (include, directory, file) is looked up under `root`, like
/// `named -t` / `named-checkconf -t`: `/etc/bind/x` becomes `root/etc/bind/x`.
pub fn read_with_root(path: &Path, root: Option<&Path>) -> Result<NamedConf, ConfError> {
    let bytes = fs::read(path).map_err(|e| {
        let message = format!("cannot read {}: {}", path.display(), os_reason(&e));
        conf_error(path, 0, message)
    })?;
    let mut reader = Reader {
        root,
        base: containing_dir(path),
        files: Vec::new(),
        active: Vec::new(),
    };
    let tree = reader.parse_file(path.to_path_buf(), &bytes, 0)?;
    let (mut zones, directory) = interpret(&tree, &reader.files)?;
    let directory = match directory {
        Some(dir) => resolve(Path::new(&dir), &reader.base, root),
        None => reader.base.clone(),
    };
    // Only now is the effective directory known for every zone.
    for zone in &mut zones {
        if let Some(file) = zone.file.take() {
            zone.file = Some(resolve(&file, &directory, root));
        }
    }
    Ok(NamedConf {
        zones,
        directory,
        files: reader.files,
    })
}

/// Deeper blocks are rejected: real configurations nest a handful of
/// levels, and the recursive parser must not overflow the stack on hostile input.
const MAX_BLOCK_DEPTH: usize = 64;

/// Longest chain of nested includes; a backstop for loop detection, which
/// relies on paths and could be fooled by a filesystem that keeps changing.
const MAX_INCLUDE_DEPTH: usize = 64;

fn conf_error(file: &Path, line: u32, message: impl Into<String>) -> ConfError {
    ConfError {
        file: file.display().to_string(),
        line,
        message: message.into(),
    }
}

/// The OS reason without Rust's " (os error N)" suffix, as `named` prints it.
fn os_reason(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(end) => text[..end].to_string(),
        None => text,
    }
}

// ---------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TokKind {
    /// A bare word or a quoted string (quotes removed).
    Word(String),
    /// `{`
    Open,
    /// `}`
    Close,
    /// `;`
    Semi,
}

/// A token and the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Tok {
    kind: TokKind,
    line: u32,
}

/// A lexical or syntax error in one file; the caller knows which file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SyntaxError {
    line: u32,
    message: String,
}

fn syntax_error(line: u32, message: impl Into<String>) -> SyntaxError {
    SyntaxError {
        line,
        message: message.into(),
    }
}

type Res<'a, T> = IResult<&'a [u8], T>;

fn is_space(b: u8) -> bool {
    b.is_ascii_whitespace()
}

/// Bytes that end a bare word. `/` is only a candidate: it ends the word
/// when it starts a comment (`//`, `/*`), which [`Lexer::bare_word`] checks.
fn ends_word(b: u8) -> bool {
    is_space(b) || matches!(b, b'{' | b'}' | b';' | b'"' | b'#' | b'/')
}

fn spaces(i: &[u8]) -> Res<'_, &[u8]> {
    take_while(is_space).parse(i)
}

/// The rest of a `#` or `//` comment; the newline is left for [`spaces`].
fn line_comment(i: &[u8]) -> Res<'_, &[u8]> {
    take_till(|b| b == b'\n').parse(i)
}

/// A whole `/* … */` comment; fails if it is never closed.
fn block_comment(i: &[u8]) -> Res<'_, &[u8]> {
    (tag("/*"), take_until("*/"), tag("*/"))
        .map(|(_, body, _): (&[u8], &[u8], &[u8])| body)
        .parse(i)
}

fn word_chunk(i: &[u8]) -> Res<'_, &[u8]> {
    take_till(ends_word).parse(i)
}

/// The run of a quoted string up to its end or a backslash.
fn quoted_chunk(i: &[u8]) -> Res<'_, &[u8]> {
    take_till(|b| b == b'"' || b == b'\\').parse(i)
}

fn count_lines(bytes: &[u8]) -> u32 {
    let n = bytes.iter().filter(|&&b| b == b'\n').count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Splits one file into tokens, tracking lines.
struct Lexer<'a> {
    rest: &'a [u8],
    line: u32,
}

impl<'a> Lexer<'a> {
    /// Runs `parser` on the input; on success, moves past what it consumed
    /// (counting the newlines in it) and returns its output.
    fn eat<O, P>(&mut self, mut parser: P) -> Option<O>
    where
        P: Parser<&'a [u8], Output = O, Error = nom::error::Error<&'a [u8]>>,
    {
        let (rest, out) = parser.parse(self.rest).ok()?;
        let used = self.rest.len() - rest.len();
        self.line = self.line.saturating_add(count_lines(&self.rest[..used]));
        self.rest = rest;
        Some(out)
    }

    /// Skips `n` bytes (the caller has checked they are there).
    fn skip(&mut self, n: usize) {
        let _ = self.eat(take(n));
    }

    /// Skips whitespace and comments.
    fn skip_trivia(&mut self) -> Result<(), SyntaxError> {
        loop {
            let _ = self.eat(spaces);
            match self.rest {
                [b'#', ..] | [b'/', b'/', ..] => {
                    let _ = self.eat(line_comment);
                }
                [b'/', b'*', ..] => {
                    let line = self.line;
                    if self.eat(block_comment).is_none() {
                        return Err(syntax_error(line, "unterminated /* comment"));
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    /// The next token, or `None` at the end of the file.
    fn next_token(&mut self) -> Result<Option<Tok>, SyntaxError> {
        self.skip_trivia()?;
        let line = self.line;
        let kind = match self.rest.first() {
            None => return Ok(None),
            Some(b'{') => TokKind::Open,
            Some(b'}') => TokKind::Close,
            Some(b';') => TokKind::Semi,
            Some(b'"') => TokKind::Word(self.quoted(line)?),
            Some(_) => TokKind::Word(self.bare_word()),
        };
        if !matches!(kind, TokKind::Word(_)) {
            self.skip(1);
        }
        Ok(Some(Tok { kind, line }))
    }

    /// A bare word. It is never empty: trivia has been skipped, so the
    /// input starts with a word byte or a `/` that does not open a comment.
    fn bare_word(&mut self) -> String {
        let mut text = Vec::new();
        loop {
            if let Some(chunk) = self.eat(word_chunk) {
                text.extend_from_slice(chunk);
            }
            match self.rest {
                [b'/', b'/' | b'*', ..] => break,
                [b'/', ..] => {
                    text.push(b'/');
                    self.skip(1);
                }
                _ => break,
            }
        }
        String::from_utf8_lossy(&text).into_owned()
    }

    /// A quoted string starting at the opening quote on `line`.
    fn quoted(&mut self, line: u32) -> Result<String, SyntaxError> {
        self.skip(1);
        let mut text = Vec::new();
        loop {
            if let Some(chunk) = self.eat(quoted_chunk) {
                text.extend_from_slice(chunk);
            }
            let rest = self.rest;
            match rest {
                [b'"', ..] => {
                    self.skip(1);
                    return Ok(String::from_utf8_lossy(&text).into_owned());
                }
                // BIND drops the backslash only before a quote.
                [b'\\', b'"', ..] => text.push(b'"'),
                [b'\\', next, ..] => text.extend_from_slice(&[b'\\', *next]),
                _ => return Err(syntax_error(line, "unterminated quoted string")),
            }
            self.skip(2);
        }
    }
}

fn tokenize(src: &[u8]) -> Result<Vec<Tok>, SyntaxError> {
    let mut lexer = Lexer { rest: src, line: 1 };
    let mut tokens = Vec::new();
    while let Some(tok) = lexer.next_token()? {
        tokens.push(tok);
    }
    Ok(tokens)
}

// ---------------------------------------------------------------------------
// Generic statement tree
// ---------------------------------------------------------------------------

/// A part of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Word(String),
    Block(Vec<Stmt>),
}

/// Words and blocks up to a `;`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stmt {
    items: Vec<Item>,
    /// Line of the first token.
    line: u32,
    /// Index of the declaring file in [`Reader::files`].
    file: usize,
}

impl Stmt {
    fn word(&self, index: usize) -> Option<&str> {
        match self.items.get(index) {
            Some(Item::Word(w)) => Some(w),
            _ => None,
        }
    }

    /// True if the statement starts with `keyword`. BIND matches statement
    /// and option names case-insensitively.
    fn is(&self, keyword: &str) -> bool {
        self.word(0)
            .is_some_and(|w| w.eq_ignore_ascii_case(keyword))
    }

    /// The statement's first block.
    fn block(&self) -> Option<&[Stmt]> {
        self.items.iter().find_map(|item| match item {
            Item::Block(body) => Some(body.as_slice()),
            Item::Word(_) => None,
        })
    }
}

/// Builds the statement tree of one file from its tokens.
struct TreeBuilder {
    tokens: Vec<Tok>,
    pos: usize,
    file: usize,
}

fn unclosed(open_line: u32) -> SyntaxError {
    syntax_error(open_line, "unbalanced braces: '{' is never closed")
}

fn missing_semicolon(line: u32, before: &str) -> SyntaxError {
    syntax_error(line, format!("missing ';' before {before}"))
}

impl TreeBuilder {
    /// Statements up to the `}` closing a block opened on `opened`, or up to
    /// the end of the file at the top level (`opened` is `None`). Returns
    /// them with the line of the closing brace.
    fn body(&mut self, depth: usize, opened: Option<u32>) -> Result<(Vec<Stmt>, u32), SyntaxError> {
        let mut stmts = Vec::new();
        loop {
            let Some(tok) = self.tokens.get(self.pos) else {
                return match opened {
                    Some(line) => Err(unclosed(line)),
                    None => Ok((stmts, 0)),
                };
            };
            match tok.kind {
                TokKind::Close => {
                    let line = tok.line;
                    self.pos += 1;
                    return match opened {
                        Some(_) => Ok((stmts, line)),
                        None => Err(syntax_error(line, "unbalanced braces: '}' without '{'")),
                    };
                }
                // An empty statement: BIND rejects it, but it is harmless here.
                TokKind::Semi => self.pos += 1,
                TokKind::Word(_) | TokKind::Open => stmts.push(self.statement(depth, opened)?),
            }
        }
    }

    /// One statement, from its first token through its `;`.
    fn statement(&mut self, depth: usize, opened: Option<u32>) -> Result<Stmt, SyntaxError> {
        let line = self.tokens.get(self.pos).map_or(0, |t| t.line);
        let mut items = Vec::new();
        // Where the `;` should be: after the last word or closing brace.
        let mut last_line = line;
        loop {
            let Some(tok) = self.tokens.get_mut(self.pos) else {
                // Inside a block, the unclosed brace is the root problem.
                return Err(match opened {
                    Some(open_line) => unclosed(open_line),
                    None => missing_semicolon(last_line, "end of file"),
                });
            };
            self.pos += 1;
            let tok_line = tok.line;
            match &mut tok.kind {
                TokKind::Word(w) => {
                    items.push(Item::Word(std::mem::take(w)));
                    last_line = tok_line;
                }
                TokKind::Open => {
                    if depth >= MAX_BLOCK_DEPTH {
                        return Err(syntax_error(tok_line, "blocks nested too deeply"));
                    }
                    let (body, close_line) = self.body(depth + 1, Some(tok_line))?;
                    items.push(Item::Block(body));
                    last_line = close_line;
                }
                TokKind::Semi => {
                    return Ok(Stmt {
                        items,
                        line,
                        file: self.file,
                    });
                }
                TokKind::Close => return Err(missing_semicolon(last_line, "'}'")),
            }
        }
    }
}

/// Parses one file's text into statements; `depth` is the block depth of
/// the include statement that brought it in, so the limit holds across files.
fn parse_source(src: &[u8], file: usize, depth: usize) -> Result<Vec<Stmt>, SyntaxError> {
    let mut builder = TreeBuilder {
        tokens: tokenize(src)?,
        pos: 0,
        file,
    };
    builder.body(depth, None).map(|(stmts, _)| stmts)
}

// ---------------------------------------------------------------------------
// Files and includes
// ---------------------------------------------------------------------------

/// The directory holding `path`, `.` for a bare file name.
fn containing_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Resolves a path from the configuration: relative paths against `base`,
/// absolute ones under `root` when there is one.
fn resolve(path: &Path, base: &Path, root: Option<&Path>) -> PathBuf {
    if !path.is_absolute() {
        return base.join(path);
    }
    match root {
        Some(root) => {
            let inner: PathBuf = path
                .components()
                .filter(|c| !matches!(c, Component::RootDir | Component::Prefix(_)))
                .collect();
            root.join(inner)
        }
        None => path.to_path_buf(),
    }
}

/// What makes two paths the same file, for loop detection. Only used for
/// comparison; the paths reported keep their configured form.
fn identity(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Reads files and splices includes.
struct Reader<'r> {
    root: Option<&'r Path>,
    /// The top-level file's directory: the base of relative includes.
    base: PathBuf,
    /// Every file read, in order; statements refer to them by index.
    files: Vec<PathBuf>,
    /// Identities of the files being read, outermost first.
    active: Vec<PathBuf>,
}

impl Reader<'_> {
    /// Parses the text of `path` and splices its includes.
    fn parse_file(
        &mut self,
        path: PathBuf,
        bytes: &[u8],
        depth: usize,
    ) -> Result<Vec<Stmt>, ConfError> {
        let index = self.files.len();
        let stmts =
            parse_source(bytes, index, depth).map_err(|e| conf_error(&path, e.line, e.message))?;
        self.active.push(identity(&path));
        self.files.push(path);
        let expanded = self.expand(stmts, depth);
        self.active.pop();
        expanded
    }

    /// Replaces `include` statements, in `stmts` and in every nested block,
    /// with the statements of the included files.
    fn expand(&mut self, stmts: Vec<Stmt>, depth: usize) -> Result<Vec<Stmt>, ConfError> {
        let mut out = Vec::with_capacity(stmts.len());
        for mut stmt in stmts {
            if stmt.is("include") {
                out.extend(self.include(&stmt, depth)?);
                continue;
            }
            for item in &mut stmt.items {
                if let Item::Block(body) = item {
                    *body = self.expand(std::mem::take(body), depth + 1)?;
                }
            }
            out.push(stmt);
        }
        Ok(out)
    }

    /// The statements of the file named by an `include` statement.
    fn include(&mut self, stmt: &Stmt, depth: usize) -> Result<Vec<Stmt>, ConfError> {
        let here = self.files.get(stmt.file).cloned().unwrap_or_default();
        let fail = |message: String| conf_error(&here, stmt.line, message);
        let Some(raw) = stmt.word(1) else {
            return Err(fail("include without a path".to_string()));
        };
        let path = resolve(Path::new(raw), &self.base, self.root);
        if self.active.contains(&identity(&path)) {
            let message = format!("include loop: {} includes itself", path.display());
            return Err(fail(message));
        }
        if self.active.len() >= MAX_INCLUDE_DEPTH {
            return Err(fail("includes nested too deeply".to_string()));
        }
        let bytes = fs::read(&path).map_err(|e| {
            let message = format!(
                "cannot read include file {}: {}",
                path.display(),
                os_reason(&e)
            );
            fail(message)
        })?;
        self.parse_file(path, &bytes, depth)
    }
}

// ---------------------------------------------------------------------------
// Interpretation
// ---------------------------------------------------------------------------

/// The zones of the expanded tree (files unresolved) and the last
/// `directory` option (unresolved).
fn interpret(
    tree: &[Stmt],
    files: &[PathBuf],
) -> Result<(Vec<ConfZone>, Option<String>), ConfError> {
    let mut zones = Vec::new();
    let mut directory = None;
    for stmt in tree {
        if stmt.is("options") {
            let options = stmt.block().unwrap_or_default();
            for option in options.iter().filter(|o| o.is("directory")) {
                if let Some(dir) = option.word(1) {
                    directory = Some(dir.to_string());
                }
            }
        } else if stmt.is("view") {
            let Some(view) = stmt.word(1) else {
                return Err(stmt_error(stmt, files, "view without a name"));
            };
            let body = stmt.block().unwrap_or_default();
            for zone in body.iter().filter(|s| s.is("zone")) {
                zones.push(read_zone(zone, Some(view), files)?);
            }
        } else if stmt.is("zone") {
            zones.push(read_zone(stmt, None, files)?);
        }
    }
    Ok((zones, directory))
}

fn stmt_error(stmt: &Stmt, files: &[PathBuf], message: &str) -> ConfError {
    let file = files.get(stmt.file).cloned().unwrap_or_default();
    conf_error(&file, stmt.line, message)
}

/// One `zone "name" [class] { … };` statement.
fn read_zone(stmt: &Stmt, view: Option<&str>, files: &[PathBuf]) -> Result<ConfZone, ConfError> {
    let Some(name) = stmt.word(1) else {
        return Err(stmt_error(stmt, files, "zone without a name"));
    };
    let mut zone = ConfZone {
        name: name.to_string(),
        class: stmt.word(2).map(str::to_string),
        view: view.map(str::to_string),
        kind: None,
        file: None,
        format: None,
        in_view: None,
        dynamic: false,
        source: files.get(stmt.file).cloned().unwrap_or_default(),
        line: stmt.line,
    };
    for option in stmt.block().unwrap_or_default() {
        apply_zone_option(&mut zone, option);
    }
    Ok(zone)
}

fn apply_zone_option(zone: &mut ConfZone, option: &Stmt) {
    let Some(name) = option.word(0) else { return };
    let value = option.word(1);
    match name.to_ascii_lowercase().as_str() {
        "type" => zone.kind = value.map(str::to_ascii_lowercase),
        "file" => zone.file = value.map(PathBuf::from),
        "masterfile-format" => zone.format = value.map(str::to_ascii_lowercase),
        "in-view" => zone.in_view = value.map(str::to_string),
        "allow-update" => zone.dynamic |= option.block().is_some_and(allows_someone),
        // Any update-policy, even `local`, makes the zone dynamic.
        "update-policy" => zone.dynamic = true,
        _ => {}
    }
}

/// True if an address match list holds an element other than `none`.
fn allows_someone(list: &[Stmt]) -> bool {
    list.iter()
        .any(|element| !(element.items.len() == 1 && element.is("none")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use tempfile::TempDir;

    /// Writes `text` to `dir/rel`, creating directories.
    fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create dir");
        }
        fs::write(&path, text).expect("write file");
        path
    }

    /// The 1-based line of the first occurrence of `needle` in `text`.
    fn line_of(text: &str, needle: &str) -> u32 {
        let at = text.find(needle).expect("needle in text");
        count_lines(&text.as_bytes()[..at]) + 1
    }

    fn words(src: &str) -> Vec<(TokKind, u32)> {
        tokenize(src.as_bytes())
            .expect("tokenize")
            .into_iter()
            .map(|t| (t.kind, t.line))
            .collect()
    }

    fn w(text: &str) -> TokKind {
        TokKind::Word(text.to_string())
    }

    /// The line and message of the error parsing `src` gives.
    fn err_of(src: &str) -> (u32, String) {
        let e = parse_source(src.as_bytes(), 0, 0).expect_err("should fail");
        (e.line, e.message)
    }

    const TOP: &str = "\
// Debian-style top-level file
include \"/etc/bind/named.conf.options\";
include \"/etc/bind/named.conf.local\";
";

    const OPTIONS: &str = "\
options {
\tdirectory \"/var/cache/bind\"; // where named runs
\t/* directory \"/wrong\";
\t   spanning lines */
\t# directory \"/wrong/too\";
\tallow-query { 192.0.2.0/24; !198.51.100.1; };
\tlisten-on-v6 { any; };
};

key \"rndc-key\" {
\talgorithm hmac-sha256;
\tsecret \"abc;def{==\";
};

controls {
\tinet 127.0.0.1 port 953 allow { 127.0.0.1; } keys { \"rndc-key\"; };
};
";

    const LOCAL: &str = "\
zone \"example.com\" {
\ttype master;
\tfile \"/etc/bind/db.example.com\";
\tallow-update { none; };
};

zone \"example.net.\" IN {
\ttype Primary;
\tfile \"db.example.net\";
\tmasterfile-format RAW;
\tallow-update { key k; };
};

zone \"example.org\" {
\ttype slave;
\tmasters { 192.0.2.1; 192.0.2.2 key \"k\"; };
\tfile \"secondary/db.example.org\";
};

zone \"dyn.example\" {
\ttype primary;
\tfile \"dyn.example.db\";
\tupdate-policy local;
};

view \"internal\" IN {
\tmatch-clients { 10.0.0.0/8; };
\tzone \".\" { type hint; file \"/usr/share/dns/root.hints\"; };
\tinclude \"/etc/bind/internal.zones\";
};

view \"external\" {
\tzone \"corp.example\" { in-view \"internal\"; };
};
";

    const INTERNAL: &str = "\
zone \"corp.example\" CH {
\ttype master;
\tfile \"db.corp\";
\tupdate-policy { grant k zonesub ANY; };
};
";

    /// An /etc/bind tree under a temporary root.
    fn debian_tree() -> (TempDir, PathBuf) {
        let root = TempDir::new().expect("temp dir");
        let top = write(root.path(), "etc/bind/named.conf", TOP);
        write(root.path(), "etc/bind/named.conf.options", OPTIONS);
        write(root.path(), "etc/bind/named.conf.local", LOCAL);
        write(root.path(), "etc/bind/internal.zones", INTERNAL);
        (root, top)
    }

    #[test]
    fn reads_a_debian_style_tree() {
        let (root, top) = debian_tree();
        let r = root.path();
        let conf = read_with_root(&top, Some(r)).expect("read");
        let bind = r.join("etc/bind");
        let local = bind.join("named.conf.local");
        let internal = bind.join("internal.zones");
        assert_eq!(
            conf.files,
            vec![
                top.clone(),
                bind.join("named.conf.options"),
                local.clone(),
                internal.clone()
            ]
        );
        let dir = r.join("var/cache/bind");
        assert_eq!(conf.directory, dir);

        let zone = |name: &str, class: Option<&str>, view: Option<&str>| ConfZone {
            name: name.to_string(),
            class: class.map(str::to_string),
            view: view.map(str::to_string),
            kind: None,
            file: None,
            format: None,
            in_view: None,
            dynamic: false,
            source: local.clone(),
            line: line_of(LOCAL, &format!("zone \"{name}\"")),
        };
        let expected = vec![
            ConfZone {
                kind: Some("master".into()),
                file: Some(bind.join("db.example.com")),
                ..zone("example.com", None, None)
            },
            ConfZone {
                kind: Some("primary".into()),
                file: Some(dir.join("db.example.net")),
                format: Some("raw".into()),
                dynamic: true,
                ..zone("example.net.", Some("IN"), None)
            },
            ConfZone {
                kind: Some("slave".into()),
                file: Some(dir.join("secondary/db.example.org")),
                ..zone("example.org", None, None)
            },
            ConfZone {
                kind: Some("primary".into()),
                file: Some(dir.join("dyn.example.db")),
                dynamic: true,
                ..zone("dyn.example", None, None)
            },
            ConfZone {
                kind: Some("hint".into()),
                file: Some(r.join("usr/share/dns/root.hints")),
                ..zone(".", None, Some("internal"))
            },
            ConfZone {
                kind: Some("master".into()),
                file: Some(dir.join("db.corp")),
                dynamic: true,
                source: internal.clone(),
                line: 1,
                ..zone("corp.example", Some("CH"), Some("internal"))
            },
            ConfZone {
                in_view: Some("internal".into()),
                line: line_of(LOCAL, "zone \"corp.example\""),
                ..zone("corp.example", None, Some("external"))
            },
        ];
        assert_eq!(conf.zones, expected);
        let primaries: Vec<&str> = conf
            .zones
            .iter()
            .filter(|z| z.is_primary())
            .map(|z| z.name.as_str())
            .collect();
        assert_eq!(
            primaries,
            ["example.com", "example.net.", "dyn.example", "corp.example"]
        );
    }

    #[test]
    fn without_root_absolute_paths_stay_as_written() {
        let dir = TempDir::new().expect("temp dir");
        let inc = write(
            dir.path(),
            "conf/zones.conf",
            "zone \"a\" { type master; file \"/srv/a.db\"; };\n",
        );
        let top = write(
            dir.path(),
            "conf/named.conf",
            &format!(
                "include \"{}\";\noptions {{ directory \"/var/named\"; }};\n",
                inc.display()
            ),
        );
        let conf = read(&top).expect("read");
        assert_eq!(conf.directory, PathBuf::from("/var/named"));
        assert_eq!(conf.zones[0].file, Some(PathBuf::from("/srv/a.db")));
        assert_eq!(conf.files, vec![top, inc]);
    }

    #[test]
    fn root_prefixes_include_directory_and_file() {
        let root = TempDir::new().expect("temp dir");
        let r = root.path();
        write(
            r,
            "etc/zones.conf",
            "zone \"a\" { type master; file \"/srv/a.db\"; };\n",
        );
        let top = write(
            r,
            "host/named.conf",
            "options { directory \"/var/named\"; };\ninclude \"/etc/zones.conf\";\n",
        );
        let conf = read_with_root(&top, Some(r)).expect("read");
        assert_eq!(conf.directory, r.join("var/named"));
        assert_eq!(conf.files, vec![top, r.join("etc/zones.conf")]);
        assert_eq!(conf.zones[0].file, Some(r.join("srv/a.db")));
    }

    #[test]
    fn relative_paths_resolve_against_config_dir_and_directory() {
        let dir = TempDir::new().expect("temp dir");
        let d = dir.path();
        // The zone comes before the options that set the directory.
        write(
            d,
            "etc/sub/zones.conf",
            "zone \"a\" { type master; file \"a.db\"; };\n",
        );
        let top = write(
            d,
            "etc/named.conf",
            "include \"sub/zones.conf\";\noptions { directory \"data\"; };\n",
        );
        let conf = read(&top).expect("read");
        assert_eq!(conf.files[1], d.join("etc/sub/zones.conf"));
        assert_eq!(conf.directory, d.join("etc/data"));
        assert_eq!(conf.zones[0].file, Some(d.join("etc/data/a.db")));
    }

    #[test]
    fn the_last_directory_wins_and_defaults_to_config_dir() {
        let dir = TempDir::new().expect("temp dir");
        let d = dir.path();
        let top = write(d, "named.conf", "zone \"a\" { file \"a.db\"; };\n");
        let conf = read(&top).expect("read");
        assert_eq!(conf.directory, d);
        assert_eq!(conf.zones[0].file, Some(d.join("a.db")));
        assert_eq!(conf.zones[0].kind, None);
        assert!(!conf.zones[0].is_primary());

        let top = write(
            d,
            "named.conf",
            "options { directory \"/one\"; };\nzone \"a\" { file \"a.db\"; };\noptions { directory \"/two\"; };\n",
        );
        let conf = read(&top).expect("read");
        assert_eq!(conf.zones[0].file, Some(PathBuf::from("/two/a.db")));
    }

    #[test]
    fn include_inside_options_and_zone_blocks() {
        let dir = TempDir::new().expect("temp dir");
        let d = dir.path();
        write(d, "dir.conf", "directory \"/var/named\";\n");
        write(d, "body.conf", "type master;\nfile \"b.db\";\n");
        let top = write(
            d,
            "named.conf",
            "options { include \"dir.conf\"; };\nzone \"b\" { include \"body.conf\"; };\n",
        );
        let conf = read(&top).expect("read");
        assert_eq!(conf.directory, PathBuf::from("/var/named"));
        assert_eq!(conf.zones[0].file, Some(PathBuf::from("/var/named/b.db")));
        assert!(conf.zones[0].is_primary());
        assert_eq!(conf.zones[0].source, top);
    }

    #[test]
    fn allow_update_rules() {
        let dir = TempDir::new().expect("temp dir");
        let top = write(
            dir.path(),
            "named.conf",
            "zone \"a\" { allow-update { none; }; };\n\
             zone \"b\" { allow-update { }; };\n\
             zone \"c\" { allow-update { none; none; }; };\n\
             zone \"d\" { allow-update { none; 192.0.2.1; }; };\n\
             zone \"e\" { ALLOW-UPDATE { key \"k\"; }; };\n\
             zone \"f\" { update-policy { grant k name f. A; }; };\n\
             zone \"g\" { allow-transfer { any; }; };\n",
        );
        let conf = read(&top).expect("read");
        let dynamic: Vec<(&str, bool)> = conf
            .zones
            .iter()
            .map(|z| (z.name.as_str(), z.dynamic))
            .collect();
        assert_eq!(
            dynamic,
            [
                ("a", false),
                ("b", false),
                ("c", false),
                ("d", true),
                ("e", true),
                ("f", true),
                ("g", false)
            ]
        );
    }

    #[test]
    fn include_loop_is_an_error() {
        let dir = TempDir::new().expect("temp dir");
        let d = dir.path();
        let a = write(d, "a.conf", "include \"b.conf\";\n");
        let b = write(d, "b.conf", "\n\ninclude \"a.conf\";\n");
        let err = read(&a).expect_err("loop");
        assert_eq!(err.file, b.display().to_string());
        assert_eq!(err.line, 3);
        assert_eq!(
            err.message,
            format!("include loop: {} includes itself", a.display())
        );

        // Directly, and through a path spelled differently.
        let s = write(d, "s.conf", "options { include \"./s.conf\"; };\n");
        let err = read(&s).expect_err("self loop");
        assert_eq!(
            (err.file.as_str(), err.line),
            (s.display().to_string().as_str(), 1)
        );
        assert!(err.message.starts_with("include loop: "), "{err}");
    }

    #[test]
    fn including_a_file_twice_is_not_a_loop() {
        let dir = TempDir::new().expect("temp dir");
        let d = dir.path();
        write(d, "z.conf", "zone \"z\" { type master; };\n");
        let top = write(
            d,
            "named.conf",
            "include \"z.conf\";\ninclude \"z.conf\";\n",
        );
        let conf = read(&top).expect("read");
        assert_eq!(conf.zones.len(), 2);
        assert_eq!(conf.files.len(), 3);
    }

    #[test]
    fn missing_include_reports_the_include_line() {
        let dir = TempDir::new().expect("temp dir");
        let d = dir.path();
        let top = write(
            d,
            "named.conf",
            "options { };\n\nview \"v\" {\n  include \"/nonexistent/x.conf\";\n};\n",
        );
        let err = read(&top).expect_err("missing");
        assert_eq!(
            err,
            ConfError {
                file: top.display().to_string(),
                line: 4,
                message: "cannot read include file /nonexistent/x.conf: No such file or directory"
                    .into(),
            }
        );
        assert_eq!(
            err.to_string(),
            format!(
                "{}:4: cannot read include file /nonexistent/x.conf: No such file or directory",
                top.display()
            )
        );
    }

    #[test]
    fn missing_top_level_file() {
        let dir = TempDir::new().expect("temp dir");
        let path = dir.path().join("nope.conf");
        let err = read(&path).expect_err("missing");
        assert_eq!(err.line, 0);
        assert_eq!(
            err.message,
            format!("cannot read {}: No such file or directory", path.display())
        );
    }

    #[test]
    fn syntax_errors_name_the_included_file() {
        let dir = TempDir::new().expect("temp dir");
        let d = dir.path();
        let inc = write(d, "bad.conf", "zone \"a\" {\n  type master\n};\n");
        let top = write(d, "named.conf", "include \"bad.conf\";\n");
        let err = read(&top).expect_err("bad");
        assert_eq!(err.file, inc.display().to_string());
        assert_eq!(err.line, 2);
        assert_eq!(err.message, "missing ';' before '}'");
    }

    #[test]
    fn include_without_a_path() {
        let dir = TempDir::new().expect("temp dir");
        let top = write(dir.path(), "named.conf", "options { };\ninclude;\n");
        let err = read(&top).expect_err("no path");
        assert_eq!(
            (err.line, err.message.as_str()),
            (2, "include without a path")
        );
        let top = write(dir.path(), "named.conf", "include { };\n");
        assert_eq!(
            read(&top).expect_err("no path").message,
            "include without a path"
        );
    }

    #[test]
    fn zone_and_view_need_names() {
        let dir = TempDir::new().expect("temp dir");
        let top = write(dir.path(), "named.conf", "\nzone { type master; };\n");
        let err = read(&top).expect_err("no name");
        assert_eq!((err.line, err.message.as_str()), (2, "zone without a name"));
        let top = write(dir.path(), "named.conf", "view { };\n");
        assert_eq!(
            read(&top).expect_err("no name").message,
            "view without a name"
        );
    }

    #[test]
    fn unknown_statements_and_zones_outside_views_are_ignored() {
        let src = "logging { channel x { file \"/log\" versions 3; }; };\n\
                   options { zone \"not-a-zone\" { type master; }; };\n\
                   acl trusted { 10/8; };\n\
                   statistics-channels { inet * port 8080; };\n";
        let tree = parse_source(src.as_bytes(), 0, 0).expect("parse");
        let (zones, directory) = interpret(&tree, &[PathBuf::from("x")]).expect("interpret");
        assert!(zones.is_empty());
        assert_eq!(directory, None);
    }

    #[test]
    fn tokens_and_comments() {
        use TokKind::{Close, Open, Semi};
        assert_eq!(
            words("a/* x\ny */b // c\nd # e\n\"f g\" /etc/x;# h\n}{"),
            vec![
                (w("a"), 1),
                (w("b"), 2),
                (w("d"), 3),
                (w("f g"), 4),
                (w("/etc/x"), 4),
                (Semi, 4),
                (Close, 5),
                (Open, 5),
            ]
        );
        // Comment starters end a bare word, as in BIND; a lone `/` does not.
        assert_eq!(
            words("a#b\nc//d\n10.0.0.0/8"),
            vec![(w("a"), 1), (w("c"), 2), (w("10.0.0.0/8"), 3)]
        );
        assert_eq!(words("/"), vec![(w("/"), 1)]);
    }

    #[test]
    fn quoted_strings() {
        assert_eq!(words(r#""a\"b""#), vec![(w("a\"b"), 1)]);
        assert_eq!(words(r#""a\.b""#), vec![(w(r"a\.b"), 1)]);
        assert_eq!(words(r#""a\\" x"#), vec![(w(r"a\\"), 1), (w("x"), 1)]);
        assert_eq!(
            words("\"{;}\"\n\"two\nlines\" x"),
            vec![(w("{;}"), 1), (w("two\nlines"), 2), (w("x"), 3)]
        );
        assert_eq!(words("\"\""), vec![(w(""), 1)]);
        assert_eq!(
            words("\"/* not a comment */\""),
            vec![(w("/* not a comment */"), 1)]
        );
    }

    #[test]
    fn unterminated_comment_and_string() {
        assert_eq!(
            err_of("options { };\n\n/* never\nclosed };\n"),
            (3, "unterminated /* comment".into())
        );
        assert_eq!(
            err_of("options {\n directory \"/var;\n};\n"),
            (2, "unterminated quoted string".into())
        );
        assert_eq!(
            err_of("x \"ends in a backslash\\"),
            (1, "unterminated quoted string".into())
        );
    }

    #[test]
    fn missing_semicolons() {
        assert_eq!(
            err_of("options {\n  directory \"/x\"\n};\n"),
            (2, "missing ';' before '}'".into())
        );
        assert_eq!(
            err_of("options { directory \"/x\"; }\n\n"),
            (1, "missing ';' before end of file".into())
        );
        assert_eq!(
            err_of("a b c"),
            (1, "missing ';' before end of file".into())
        );
        assert_eq!(
            err_of("a {\n} b { c; }\n}\n"),
            (2, "missing ';' before '}'".into())
        );
    }

    #[test]
    fn unbalanced_braces() {
        assert_eq!(
            err_of("options { };\n};\n"),
            (2, "unbalanced braces: '}' without '{'".into())
        );
        assert_eq!(
            err_of("a;\nview \"v\" {\n zone \"z\" { type master; };\n"),
            (2, "unbalanced braces: '{' is never closed".into())
        );
        assert_eq!(err_of("view \"v\" {\n zone \"z\" { type master; }\n").0, 1);
    }

    #[test]
    fn nested_blocks_in_the_middle_of_statements() {
        let src =
            "controls { inet 127.0.0.1 port 953 allow { 127.0.0.1; } keys { \"rndc-key\"; }; };";
        let tree = parse_source(src.as_bytes(), 0, 0).expect("parse");
        let word = |s: &str| Item::Word(s.to_string());
        let leaf = |s: &str| Stmt {
            items: vec![word(s)],
            line: 1,
            file: 0,
        };
        let inet = Stmt {
            items: vec![
                word("inet"),
                word("127.0.0.1"),
                word("port"),
                word("953"),
                word("allow"),
                Item::Block(vec![leaf("127.0.0.1")]),
                word("keys"),
                Item::Block(vec![leaf("rndc-key")]),
            ],
            line: 1,
            file: 0,
        };
        let controls = Stmt {
            items: vec![word("controls"), Item::Block(vec![inet])],
            line: 1,
            file: 0,
        };
        assert_eq!(tree, vec![controls]);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let src = "a ".to_string() + &"{".repeat(100_000);
        assert_eq!(err_of(&src).1, "blocks nested too deeply");
        let ok = "a".to_string()
            + &" { b".repeat(MAX_BLOCK_DEPTH)
            + ";"
            + &" };".repeat(MAX_BLOCK_DEPTH);
        assert!(parse_source(ok.as_bytes(), 0, 0).is_ok());
    }

    #[test]
    fn no_panic_on_any_prefix_or_odd_bytes() {
        let all = [OPTIONS, LOCAL, INTERNAL].concat();
        let bytes = all.as_bytes();
        for end in 0..=bytes.len() {
            let _ = parse_source(&bytes[..end], 0, 0);
        }
        for src in [
            &b"\xff\xfe{;}\"\\"[..],
            b"/",
            b"/*",
            b"*/",
            b"\"",
            b"\\",
            b"}",
            b"{",
            b";;;",
            b"#",
        ] {
            let _ = parse_source(src, 0, 0);
        }
        let tree = parse_source(b"zone \"\xff\" { type \xe9; };", 0, 0).expect("parse");
        let (zones, _) = interpret(&tree, &[PathBuf::from("x")]).expect("interpret");
        assert_eq!(zones[0].name, "\u{fffd}");
    }
}
