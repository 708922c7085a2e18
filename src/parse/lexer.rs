//! Lexing: bytes → entries of tokens with positions (RFC 1035 §5.1).
//!
//! One entry is one logical line: parentheses join physical lines, `;`
//! starts a comment that ends at the newline, and a line that starts with
//! a space or tab has a blank owner. Tokens are byte ranges into the source
//! (never copies) plus a flag saying whether they hold a backslash, so the
//! common escape-free token is used as it stands and only escaped ones are
//! decoded. The token primitives are nom parsers over `&[u8]`; the entry loop
//! dispatches on the next byte instead of trying alternatives in turn.

use memchr::memchr3;
use nom::IResult;
use nom::Parser;
use nom::bytes::complete::take_till;

/// What a token is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A bare word, ended by whitespace, `;`, `(`, `)`, `"` or a newline.
    Plain,
    /// A `"…"` string; the range excludes the quotes.
    Quoted,
}

/// A token: a range of the source with its line.
#[derive(Debug, Clone, Copy)]
pub struct Token {
    /// Byte offset of the first byte (after the opening quote for quoted strings).
    pub start: u32,
    /// Byte offset one past the last byte.
    pub end: u32,
    /// 1-based line of the first byte.
    pub line: u32,
    /// Plain or quoted.
    pub kind: TokenKind,
    /// True if the token holds a backslash, so it must be unescaped.
    pub escaped: bool,
}

/// One entry: its tokens are in the `Vec` passed to [`Lexer::next_entry`].
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// The entry's line started with whitespace: the owner is the previous one.
    pub blank_owner: bool,
    /// Line of the first token.
    pub line: u32,
    /// Line on which the entry ends (its closing parenthesis or last token).
    pub end_line: u32,
}

/// A lexical error, positioned at `offset` on `line`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    /// Byte offset of the problem.
    pub offset: u32,
    /// Line of the problem.
    pub line: u32,
    /// What was wrong.
    pub message: &'static str,
    /// For an unclosed parenthesis, the line where it was opened.
    pub opened_at: Option<u32>,
}

/// Splits a source buffer into entries.
pub struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
    line: u32,
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `src`.
    pub fn new(src: &'a [u8]) -> Self {
        Lexer {
            src,
            pos: 0,
            line: 1,
        }
    }

    /// Fills `tokens` with the next entry. Returns `None` at the end of input.
    /// After an error the lexer has skipped to the end of the bad entry, so
    /// the caller can report it and go on.
    pub fn next_entry(&mut self, tokens: &mut Vec<Token>) -> Option<Result<Entry, LexError>> {
        tokens.clear();
        loop {
            if self.pos >= self.src.len() {
                return None;
            }
            let blank_owner = matches!(self.src[self.pos], b' ' | b'\t');
            match self.scan_entry(tokens) {
                Ok(_) if tokens.is_empty() => continue,
                Ok(end_line) => {
                    return Some(Ok(Entry {
                        blank_owner,
                        line: tokens[0].line,
                        end_line,
                    }));
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// Scans one logical line into `tokens`, consuming its final newline.
    /// Returns the line the entry ends on.
    fn scan_entry(&mut self, tokens: &mut Vec<Token>) -> Result<u32, LexError> {
        let mut depth: u32 = 0;
        let mut open_paren = (0u32, 0u32);
        while self.pos < self.src.len() {
            match CLASS[self.src[self.pos] as usize] {
                SPACE => self.pos += 1,
                NEWLINE => {
                    self.pos += 1;
                    self.line += 1;
                    if depth == 0 {
                        return Ok(self.line - 1);
                    }
                }
                SEMICOLON => self.skip_comment(),
                OPEN => {
                    if depth == 0 {
                        open_paren = (self.pos as u32, self.line);
                    }
                    depth += 1;
                    self.pos += 1;
                }
                CLOSE => {
                    if depth == 0 {
                        return Err(
                            self.fail_entry(self.pos, "unbalanced parentheses: ')' without '('")
                        );
                    }
                    depth -= 1;
                    self.pos += 1;
                }
                QUOTE => {
                    let token = self.quoted()?;
                    tokens.push(token);
                }
                _ => {
                    let start = self.pos;
                    let (rest, (word, escaped)) = plain_word(&self.src[start..]);
                    self.pos = self.src.len() - rest.len();
                    tokens.push(Token {
                        start: start as u32,
                        end: (start + word.len()) as u32,
                        line: self.line,
                        kind: TokenKind::Plain,
                        escaped,
                    });
                }
            }
        }
        if depth > 0 {
            // BIND reports this at the end of the file; say where the '(' was.
            return Err(LexError {
                offset: self.src.len() as u32,
                line: self.line,
                message: "unbalanced parentheses: a '(' is still open at the end of the file",
                opened_at: Some(open_paren.1),
            });
        }
        Ok(self.line)
    }

    fn skip_comment(&mut self) {
        let (rest, _) = comment(&self.src[self.pos..]).unwrap_or((&[], &[]));
        self.pos = self.src.len() - rest.len();
    }

    fn quoted(&mut self) -> Result<Token, LexError> {
        let open = self.pos;
        let line = self.line;
        let body_start = open + 1;
        let mut i = body_start;
        let mut escaped = false;
        loop {
            let Some(hit) = memchr3(b'"', b'\\', b'\n', &self.src[i..]) else {
                return Err(self.fail_at_end(open, line, "unterminated quoted string"));
            };
            let at = i + hit;
            match self.src[at] {
                b'"' => {
                    self.pos = at + 1;
                    return Ok(Token {
                        start: body_start as u32,
                        end: at as u32,
                        line,
                        kind: TokenKind::Quoted,
                        escaped,
                    });
                }
                b'\n' => {
                    // BIND refuses a raw newline inside quotes (an escaped one is data).
                    self.pos = at;
                    return Err(self.fail_entry(open, "unterminated quoted string"));
                }
                _ => {
                    escaped = true;
                    match self.src.get(at + 1) {
                        None => {
                            return Err(self.fail_at_end(open, line, "unterminated quoted string"));
                        }
                        Some(b'\n') => self.line += 1,
                        Some(_) => {}
                    }
                    i = at + 2;
                }
            }
        }
    }

    /// Builds an error at `offset` and skips to the end of the current entry
    /// (the next newline outside parentheses), so lexing can resume there.
    #[cold]
    #[inline(never)]
    fn fail_entry(&mut self, offset: usize, message: &'static str) -> LexError {
        let err = LexError {
            offset: offset as u32,
            line: self.line_of(offset),
            message,
            opened_at: None,
        };
        self.skip_rest_of_entry();
        err
    }

    #[cold]
    #[inline(never)]
    fn fail_at_end(&mut self, offset: usize, line: u32, message: &'static str) -> LexError {
        self.pos = self.src.len();
        LexError {
            offset: offset as u32,
            line,
            message,
            opened_at: None,
        }
    }

    fn line_of(&self, offset: usize) -> u32 {
        // `self.line` is the line at `self.pos`; errors sit at or before it.
        let lo = offset.min(self.pos);
        let between = memchr::memchr_iter(b'\n', &self.src[lo..self.pos]).count();
        self.line - between as u32
    }

    /// Skips to just past the next newline that is not inside parentheses
    /// or quotes, counting lines.
    fn skip_rest_of_entry(&mut self) {
        let mut depth = 0u32;
        while self.pos < self.src.len() {
            let c = self.src[self.pos];
            self.pos += 1;
            match c {
                b'\n' => {
                    self.line += 1;
                    if depth == 0 {
                        return;
                    }
                }
                b'(' => depth += 1,
                b')' => depth = depth.saturating_sub(1),
                b';' => {
                    self.pos -= 1;
                    self.skip_comment();
                }
                b'\\' => self.pos += 1,
                _ => {}
            }
        }
    }
}

/// Byte classes for the lexer's dispatch: one table lookup per byte.
const WORD: u8 = 0;
const SPACE: u8 = 1;
const NEWLINE: u8 = 2;
const SEMICOLON: u8 = 3;
const OPEN: u8 = 4;
const CLOSE: u8 = 5;
const QUOTE: u8 = 6;
const BACKSLASH: u8 = 7;

static CLASS: [u8; 256] = {
    let mut table = [WORD; 256];
    table[b' ' as usize] = SPACE;
    table[b'\t' as usize] = SPACE;
    table[b'\r' as usize] = SPACE;
    table[b'\n' as usize] = NEWLINE;
    table[b';' as usize] = SEMICOLON;
    table[b'(' as usize] = OPEN;
    table[b')' as usize] = CLOSE;
    table[b'"' as usize] = QUOTE;
    table[b'\\' as usize] = BACKSLASH;
    table
};

/// The input after its leading ordinary (word) bytes.
fn take_while_word(input: &[u8]) -> &[u8] {
    let n = input
        .iter()
        .take_while(|&&c| CLASS[c as usize] == WORD)
        .count();
    &input[n..]
}

/// A `;` comment up to (not including) the newline.
fn comment(input: &[u8]) -> IResult<&[u8], &[u8]> {
    take_till(|c| c == b'\n').parse(input)
}

/// A plain word: ordinary bytes, and a backslash takes the next byte into
/// the word, unless that byte ends the line. Ended by whitespace, `;`, `(`, `)` or `"`.
/// Returns the word and whether it holds a backslash.
fn plain_word(input: &[u8]) -> (&[u8], (&[u8], bool)) {
    let mut i = 0;
    let mut escaped = false;
    loop {
        let rest = take_while_word(&input[i..]);
        i = input.len() - rest.len();
        if rest.first() != Some(&b'\\') {
            return (rest, (&input[..i], escaped));
        }
        escaped = true;
        // BIND's lexer ends an unquoted word at a newline, a carriage return
        // or the end of input even after a backslash, and keeps the
        // backslash in the word: `a\` then a newline is the word `a\`,
        // which the RDATA and name parsers then refuse as BIND does.
        if matches!(rest.get(1), None | Some(b'\n' | b'\r')) {
            return (&rest[1..], (&input[..i + 1], escaped));
        }
        i += 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(src: &str) -> Vec<(bool, Vec<String>)> {
        let mut lexer = Lexer::new(src.as_bytes());
        let mut tokens = Vec::new();
        let mut out = Vec::new();
        while let Some(entry) = lexer.next_entry(&mut tokens) {
            let entry = entry.unwrap();
            let words = tokens
                .iter()
                .map(|t| src[t.start as usize..t.end as usize].to_string())
                .collect();
            out.push((entry.blank_owner, words));
        }
        out
    }

    #[test]
    fn entries_and_parens() {
        let got =
            lex("a IN A 1.2.3.4 ; c\n\n  ; only comment\n\tMX ( 10 ; pref\n mx )\r\nb \"x;y\" z");
        assert_eq!(
            got,
            vec![
                (
                    false,
                    vec!["a", "IN", "A", "1.2.3.4"]
                        .into_iter()
                        .map(String::from)
                        .collect()
                ),
                (
                    true,
                    vec!["MX", "10", "mx"]
                        .into_iter()
                        .map(String::from)
                        .collect()
                ),
                (
                    false,
                    vec!["b", "x;y", "z"]
                        .into_iter()
                        .map(String::from)
                        .collect()
                ),
            ]
        );
    }

    #[test]
    fn escapes_stay_in_words() {
        let got = lex("a\\ b\\;c x\\(");
        assert_eq!(got[0].1, vec!["a\\ b\\;c", "x\\("]);
    }

    #[test]
    fn errors_resume() {
        let src = "a ( b\nc )) d\ne f\n";
        let mut lexer = Lexer::new(src.as_bytes());
        let mut tokens = Vec::new();
        assert!(lexer.next_entry(&mut tokens).unwrap().is_err());
        let e = lexer.next_entry(&mut tokens).unwrap().unwrap();
        assert_eq!(e.line, 3);
        let src = "a \"open\nb c\n";
        let mut lexer = Lexer::new(src.as_bytes());
        let err = lexer.next_entry(&mut tokens).unwrap().unwrap_err();
        assert_eq!((err.line, err.message), (1, "unterminated quoted string"));
        let e = lexer.next_entry(&mut tokens).unwrap().unwrap();
        assert_eq!(e.line, 2);
        let mut lexer = Lexer::new(b"a ( b\nc\n");
        let err = lexer.next_entry(&mut tokens).unwrap().unwrap_err();
        assert_eq!((err.line, err.opened_at), (3, Some(1)));
    }
}
