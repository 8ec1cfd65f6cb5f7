//! CEL lexer: turns the source into tokens with byte positions. Literals are decoded here
//! (numbers, the four string quotings, raw and bytes prefixes, every escape of the CEL spec).

use super::error::CompileError;

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    /// An integer literal's magnitude (the sign is a separate `-` token).
    Int(u64),
    Uint(u64),
    Double(f64),
    Str(String),
    Bytes(Vec<u8>),
    Ident(String),
    /// A backtick-quoted field name (`` a.`b-c` ``).
    Quoted(String),
    True,
    False,
    Null,
    In,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Dot,
    Comma,
    Colon,
    Question,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Bang,
    EqEq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
    AndAnd,
    OrOr,
    Eof,
}

#[derive(Clone, Debug)]
pub struct Token {
    pub tok: Tok,
    pub start: u32,
    pub end: u32,
}

pub fn tokenize(src: &str) -> Result<Vec<Token>, CompileError> {
    let mut lx = Lexer {
        src: src.as_bytes(),
        text: src,
        pos: 0,
    };
    let mut out = Vec::new();
    loop {
        let t = lx.next()?;
        let eof = t.tok == Tok::Eof;
        out.push(t);
        if eof {
            return Ok(out);
        }
    }
}

struct Lexer<'s> {
    src: &'s [u8],
    text: &'s str,
    pos: usize,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

impl<'s> Lexer<'s> {
    fn peek(&self, off: usize) -> u8 {
        self.src.get(self.pos + off).copied().unwrap_or(0)
    }

    fn err(&self, at: usize, msg: String) -> CompileError {
        CompileError::syntax(at, msg)
    }

    fn skip_space(&mut self) {
        loop {
            match self.peek(0) {
                b' ' | b'\t' | b'\n' | b'\r' | 0x0c => self.pos += 1,
                b'/' if self.peek(1) == b'/' => {
                    while self.pos < self.src.len() && self.src[self.pos] != b'\n' {
                        self.pos += 1;
                    }
                }
                _ => return,
            }
        }
    }

    fn next(&mut self) -> Result<Token, CompileError> {
        self.skip_space();
        let start = self.pos;
        let tok = self.scan()?;
        Ok(Token {
            tok,
            start: start as u32,
            end: self.pos as u32,
        })
    }

    fn scan(&mut self) -> Result<Tok, CompileError> {
        let start = self.pos;
        let c = self.peek(0);
        if self.pos >= self.src.len() {
            return Ok(Tok::Eof);
        }
        if c.is_ascii_digit() || (c == b'.' && self.peek(1).is_ascii_digit()) {
            return self.number();
        }
        if c == b'"' || c == b'\'' {
            return self.string(false, false);
        }
        if is_ident_start(c) {
            // String prefixes: r, b and both in either order, any case.
            let (raw, bytes, plen) = match (c.to_ascii_lowercase(), self.peek(1)) {
                (b'r', q) if q == b'"' || q == b'\'' => (true, false, 1),
                (b'b', q) if q == b'"' || q == b'\'' => (false, true, 1),
                (b'r', c2) | (b'b', c2)
                    if (c2 == b'b' || c2 == b'B' || c2 == b'r' || c2 == b'R')
                        && c2.to_ascii_lowercase() != c.to_ascii_lowercase()
                        && (self.peek(2) == b'"' || self.peek(2) == b'\'') =>
                {
                    (true, true, 2)
                }
                _ => (false, false, 0),
            };
            if plen > 0 {
                self.pos += plen;
                return self.string(raw, bytes);
            }
            while is_ident_char(self.peek(0)) {
                self.pos += 1;
            }
            let word = &self.text[start..self.pos];
            return Ok(match word {
                "true" => Tok::True,
                "false" => Tok::False,
                "null" => Tok::Null,
                "in" => Tok::In,
                _ => Tok::Ident(word.to_string()),
            });
        }
        if c == b'`' {
            self.pos += 1;
            let body = self.pos;
            while self.pos < self.src.len() && self.src[self.pos] != b'`' {
                let ch = self.src[self.pos];
                if !(is_ident_char(ch) || ch == b'.' || ch == b'-' || ch == b'/' || ch == b' ') {
                    return Err(self.err(self.pos, "invalid character in quoted identifier".into()));
                }
                self.pos += 1;
            }
            if self.pos >= self.src.len() {
                return Err(self.err(start, "unterminated quoted identifier".into()));
            }
            let name = self.text[body..self.pos].to_string();
            self.pos += 1;
            if name.is_empty() {
                return Err(self.err(start, "empty quoted identifier".into()));
            }
            return Ok(Tok::Quoted(name));
        }
        let two = [c, self.peek(1)];
        let (tok, len) = match &two {
            b"==" => (Tok::EqEq, 2),
            b"!=" => (Tok::NotEq, 2),
            b"<=" => (Tok::Le, 2),
            b">=" => (Tok::Ge, 2),
            b"&&" => (Tok::AndAnd, 2),
            b"||" => (Tok::OrOr, 2),
            _ => match c {
                b'(' => (Tok::LParen, 1),
                b')' => (Tok::RParen, 1),
                b'[' => (Tok::LBracket, 1),
                b']' => (Tok::RBracket, 1),
                b'{' => (Tok::LBrace, 1),
                b'}' => (Tok::RBrace, 1),
                b'.' => (Tok::Dot, 1),
                b',' => (Tok::Comma, 1),
                b':' => (Tok::Colon, 1),
                b'?' => (Tok::Question, 1),
                b'+' => (Tok::Plus, 1),
                b'-' => (Tok::Minus, 1),
                b'*' => (Tok::Star, 1),
                b'/' => (Tok::Slash, 1),
                b'%' => (Tok::Percent, 1),
                b'!' => (Tok::Bang, 1),
                b'<' => (Tok::Lt, 1),
                b'>' => (Tok::Gt, 1),
                _ => {
                    let ch = self.text[start..].chars().next().unwrap_or('?');
                    return Err(self.err(start, format!("unexpected character '{}'", ch)));
                }
            },
        };
        self.pos += len;
        Ok(tok)
    }

    fn number(&mut self) -> Result<Tok, CompileError> {
        let start = self.pos;
        if self.peek(0) == b'0' && (self.peek(1) == b'x' || self.peek(1) == b'X') {
            self.pos += 2;
            let digits = self.pos;
            while self.peek(0).is_ascii_hexdigit() {
                self.pos += 1;
            }
            if self.pos == digits {
                return Err(self.err(start, "hex literal has no digits".into()));
            }
            let v = u64::from_str_radix(&self.text[digits..self.pos], 16)
                .map_err(|_| self.err(start, "integer literal is out of range".into()))?;
            return self.int_suffix(start, v);
        }
        while self.peek(0).is_ascii_digit() {
            self.pos += 1;
        }
        let mut is_float = false;
        if self.peek(0) == b'.' && self.peek(1).is_ascii_digit() {
            is_float = true;
            self.pos += 1;
            while self.peek(0).is_ascii_digit() {
                self.pos += 1;
            }
        }
        if self.peek(0) == b'e' || self.peek(0) == b'E' {
            let save = self.pos;
            self.pos += 1;
            if self.peek(0) == b'+' || self.peek(0) == b'-' {
                self.pos += 1;
            }
            if self.peek(0).is_ascii_digit() {
                is_float = true;
                while self.peek(0).is_ascii_digit() {
                    self.pos += 1;
                }
            } else {
                self.pos = save;
            }
        }
        let text = &self.text[start..self.pos];
        if is_float {
            return text
                .parse::<f64>()
                .map(Tok::Double)
                .map_err(|_| self.err(start, format!("invalid double literal {}", text)));
        }
        let v = text
            .parse::<u64>()
            .map_err(|_| self.err(start, "integer literal is out of range".into()))?;
        self.int_suffix(start, v)
    }

    fn int_suffix(&mut self, start: usize, v: u64) -> Result<Tok, CompileError> {
        if self.peek(0) == b'u' || self.peek(0) == b'U' {
            self.pos += 1;
            return Ok(Tok::Uint(v));
        }
        if is_ident_char(self.peek(0)) {
            return Err(self.err(start, "invalid number literal".into()));
        }
        Ok(Tok::Int(v))
    }

    fn string(&mut self, raw: bool, bytes: bool) -> Result<Tok, CompileError> {
        let start = self.pos;
        let q = self.peek(0);
        let triple = self.peek(1) == q && self.peek(2) == q;
        self.pos += if triple { 3 } else { 1 };
        let mut out: Vec<u8> = Vec::new();
        loop {
            if self.pos >= self.src.len() {
                return Err(self.err(start, "unterminated string literal".into()));
            }
            let c = self.src[self.pos];
            if c == q && (!triple || (self.peek(1) == q && self.peek(2) == q)) {
                self.pos += if triple { 3 } else { 1 };
                break;
            }
            if !triple && (c == b'\n' || c == b'\r') {
                return Err(self.err(self.pos, "newline in single-line string literal".into()));
            }
            if c == b'\\' && !raw {
                self.escape(&mut out, bytes)?;
                continue;
            }
            if c == b'\\' && raw {
                // A raw string keeps the backslash; a backslash before the quote still does not
                // end the literal in single-line form only when the quote is escaped by it.
                out.push(c);
                self.pos += 1;
                continue;
            }
            out.push(c);
            self.pos += 1;
        }
        if bytes {
            return Ok(Tok::Bytes(out));
        }
        String::from_utf8(out)
            .map(Tok::Str)
            .map_err(|_| self.err(start, "string literal is not valid UTF-8".into()))
    }

    fn hex(&mut self, n: usize, at: usize) -> Result<u32, CompileError> {
        let mut v: u32 = 0;
        for _ in 0..n {
            let d = (self.peek(0) as char)
                .to_digit(16)
                .ok_or_else(|| self.err(at, "invalid hex escape".into()))?;
            v = v * 16 + d;
            self.pos += 1;
        }
        Ok(v)
    }

    fn escape(&mut self, out: &mut Vec<u8>, bytes: bool) -> Result<(), CompileError> {
        let at = self.pos;
        self.pos += 1;
        let c = self.peek(0);
        self.pos += 1;
        let simple = match c {
            b'a' => Some(7u8),
            b'b' => Some(8),
            b'f' => Some(12),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(11),
            b'\\' | b'\'' | b'"' | b'`' | b'?' => Some(c),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            return Ok(());
        }
        let (code, is_byte) = match c {
            b'x' | b'X' => (self.hex(2, at)?, true),
            b'u' => (self.hex(4, at)?, false),
            b'U' => (self.hex(8, at)?, false),
            b'0'..=b'3' => {
                let mut v = (c - b'0') as u32;
                for _ in 0..2 {
                    let d = self.peek(0);
                    if !(b'0'..=b'7').contains(&d) {
                        return Err(self.err(at, "invalid octal escape".into()));
                    }
                    v = v * 8 + (d - b'0') as u32;
                    self.pos += 1;
                }
                (v, true)
            }
            _ => return Err(self.err(at, "invalid escape sequence".into())),
        };
        if bytes && is_byte {
            out.push(code as u8);
            return Ok(());
        }
        let ch = char::from_u32(code).ok_or_else(|| self.err(at, "invalid unicode escape".into()))?;
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        Ok(())
    }
}
