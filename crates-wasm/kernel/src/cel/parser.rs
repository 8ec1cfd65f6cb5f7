//! Recursive-descent parser for the CEL grammar (cel-spec langdef.md), with macro expansion
//! (`has`, `all`, `exists`, `exists_one`, `map`, `filter`).

use super::ast::{Comprehension, Expr, ExprKind, MacroKind};
use super::error::CompileError;
use super::lexer::{tokenize, Tok, Token};

/// Tallest expression tree accepted (evaluation recurses once per level).
pub const MAX_DEPTH: u32 = 250;
/// Deepest nesting of parentheses, brackets, calls and conditionals (parsing recurses ~10
/// frames per level, and wasm has a 1 MiB stack).
pub const MAX_NESTING: u32 = 100;

const RESERVED: &[&str] = &[
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

pub fn parse(src: &str) -> Result<Expr, CompileError> {
    let toks = tokenize(src)?;
    let mut p = Parser {
        toks,
        at: 0,
        nesting: 0,
    };
    let e = p.expr()?;
    if p.peek() != &Tok::Eof {
        return Err(p.unexpected("end of expression"));
    }
    Ok(e)
}

struct Parser {
    toks: Vec<Token>,
    at: usize,
    nesting: u32,
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Int(v) => format!("integer {}", v),
        Tok::Uint(v) => format!("integer {}u", v),
        Tok::Double(v) => format!("number {}", v),
        Tok::Str(_) => "a string".into(),
        Tok::Bytes(_) => "bytes".into(),
        Tok::Ident(s) | Tok::Quoted(s) => format!("'{}'", s),
        Tok::Eof => "end of input".into(),
        other => format!("'{}'", punct(other)),
    }
}

fn punct(t: &Tok) -> &'static str {
    match t {
        Tok::True => "true",
        Tok::False => "false",
        Tok::Null => "null",
        Tok::In => "in",
        Tok::LParen => "(",
        Tok::RParen => ")",
        Tok::LBracket => "[",
        Tok::RBracket => "]",
        Tok::LBrace => "{",
        Tok::RBrace => "}",
        Tok::Dot => ".",
        Tok::Comma => ",",
        Tok::Colon => ":",
        Tok::Question => "?",
        Tok::Plus => "+",
        Tok::Minus => "-",
        Tok::Star => "*",
        Tok::Slash => "/",
        Tok::Percent => "%",
        Tok::Bang => "!",
        Tok::EqEq => "==",
        Tok::NotEq => "!=",
        Tok::Lt => "<",
        Tok::Le => "<=",
        Tok::Gt => ">",
        Tok::Ge => ">=",
        Tok::AndAnd => "&&",
        Tok::OrOr => "||",
        _ => "?",
    }
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.at.min(self.toks.len() - 1)].tok
    }

    fn tok(&self) -> &Token {
        &self.toks[self.at.min(self.toks.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let t = self.tok().clone();
        self.at += 1;
        t
    }

    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == t {
            self.bump();
            true
        } else {
            false
        }
    }

    fn unexpected(&self, wanted: &str) -> CompileError {
        let t = self.tok();
        CompileError::syntax(
            t.start as usize,
            format!("syntax error: expected {}, found {}", wanted, describe(&t.tok)),
        )
    }

    fn expect(&mut self, t: Tok) -> Result<Token, CompileError> {
        if self.peek() == &t {
            Ok(self.bump())
        } else {
            Err(self.unexpected(&format!("'{}'", punct(&t))))
        }
    }

    fn checked(&self, e: Expr) -> Result<Expr, CompileError> {
        if e.depth > MAX_DEPTH {
            return Err(CompileError::syntax(
                e.pos as usize,
                format!("expression nests deeper than {} levels; simplify it", MAX_DEPTH),
            ));
        }
        Ok(e)
    }

    fn call(&self, name: &str, args: Vec<Expr>, pos: u32) -> Result<Expr, CompileError> {
        let start = args.iter().map(|a| a.start).min().unwrap_or(pos).min(pos);
        let end = args.iter().map(|a| a.end).max().unwrap_or(pos).max(pos);
        let depth = depth_of(args.iter());
        self.checked(Expr::at(ExprKind::Call(name.to_string(), args), start, end, pos, depth))
    }

    fn expr(&mut self) -> Result<Expr, CompileError> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(CompileError::syntax(
                self.tok().start as usize,
                format!("expression nests deeper than {} levels; simplify it", MAX_NESTING),
            ));
        }
        let cond = self.or()?;
        let r = if self.peek() == &Tok::Question {
            let q = self.bump();
            let a = self.or()?;
            self.expect(Tok::Colon)?;
            let b = self.expr()?;
            self.call("_?_:_", vec![cond, a, b], q.start)
        } else {
            Ok(cond)
        };
        self.nesting -= 1;
        r
    }

    fn or(&mut self) -> Result<Expr, CompileError> {
        let mut l = self.and()?;
        while self.peek() == &Tok::OrOr {
            let op = self.bump();
            let r = self.and()?;
            l = self.call("_||_", vec![l, r], op.start)?;
        }
        Ok(l)
    }

    fn and(&mut self) -> Result<Expr, CompileError> {
        let mut l = self.rel()?;
        while self.peek() == &Tok::AndAnd {
            let op = self.bump();
            let r = self.rel()?;
            l = self.call("_&&_", vec![l, r], op.start)?;
        }
        Ok(l)
    }

    fn rel(&mut self) -> Result<Expr, CompileError> {
        let mut l = self.add()?;
        loop {
            let name = match self.peek() {
                Tok::Lt => "_<_",
                Tok::Le => "_<=_",
                Tok::Gt => "_>_",
                Tok::Ge => "_>=_",
                Tok::EqEq => "_==_",
                Tok::NotEq => "_!=_",
                Tok::In => "@in",
                _ => return Ok(l),
            };
            let op = self.bump();
            let r = self.add()?;
            l = self.call(name, vec![l, r], op.start)?;
        }
    }

    fn add(&mut self) -> Result<Expr, CompileError> {
        let mut l = self.mul()?;
        loop {
            let name = match self.peek() {
                Tok::Plus => "_+_",
                Tok::Minus => "_-_",
                _ => return Ok(l),
            };
            let op = self.bump();
            let r = self.mul()?;
            l = self.call(name, vec![l, r], op.start)?;
        }
    }

    fn mul(&mut self) -> Result<Expr, CompileError> {
        let mut l = self.unary()?;
        loop {
            let name = match self.peek() {
                Tok::Star => "_*_",
                Tok::Slash => "_/_",
                Tok::Percent => "_%_",
                _ => return Ok(l),
            };
            let op = self.bump();
            let r = self.unary()?;
            l = self.call(name, vec![l, r], op.start)?;
        }
    }

    fn unary(&mut self) -> Result<Expr, CompileError> {
        let mut ops: Vec<Token> = Vec::new();
        let kind = self.peek().clone();
        if kind == Tok::Bang || kind == Tok::Minus {
            while self.peek() == &kind {
                ops.push(self.bump());
            }
        }
        let lit_end = self.tok().end;
        let direct_lit = matches!(self.peek(), Tok::Int(_) | Tok::Double(_));
        let mut e = self.member()?;
        if kind == Tok::Minus && !ops.is_empty() && direct_lit && e.end == lit_end {
            // `-` directly before a numeric literal is part of the literal (so -2^63 parses).
            let folded = match e.kind {
                ExprKind::IntMin => Some(ExprKind::Int(i64::MIN)),
                ExprKind::Int(v) => v.checked_neg().map(ExprKind::Int),
                ExprKind::Double(v) => Some(ExprKind::Double(-v)),
                _ => None,
            };
            if let Some(k) = folded {
                let op = ops.pop().unwrap_or_else(|| self.tok().clone());
                e = Expr::new(k, op.start, e.end, op.start, &[]);
            }
        }
        if let ExprKind::IntMin = e.kind {
            return Err(CompileError::syntax(
                e.start as usize,
                "integer literal is out of range for int; add a 'u' suffix for uint".into(),
            ));
        }
        let name = if kind == Tok::Bang { "!_" } else { "-_" };
        while let Some(op) = ops.pop() {
            e = self.call(name, vec![e], op.start)?;
            e.start = op.start;
        }
        Ok(e)
    }

    fn member(&mut self) -> Result<Expr, CompileError> {
        let mut e = self.primary()?;
        loop {
            match self.peek() {
                Tok::Dot => {
                    let dot = self.bump();
                    let name_tok = self.bump();
                    let quoted = matches!(name_tok.tok, Tok::Quoted(_));
                    let name = match name_tok.tok.clone() {
                        Tok::Ident(s) | Tok::Quoted(s) => s,
                        _ => {
                            self.at -= 1;
                            return Err(self.unexpected("a field or method name"));
                        }
                    };
                    if !quoted && self.peek() == &Tok::LParen {
                        self.bump();
                        let args = self.args(Tok::RParen)?;
                        let close = self.expect(Tok::RParen)?;
                        e = self.method(e, name, args, name_tok.start, close.end)?;
                    } else {
                        let (start, end, depth) = (e.start, name_tok.end, e.depth + 1);
                        let ne = Expr::at(ExprKind::Select(Box::new(e), name), start, end, dot.start, depth);
                        e = self.checked(ne)?;
                    }
                }
                Tok::LBracket => {
                    let open = self.bump();
                    let idx = self.expr()?;
                    let close = self.expect(Tok::RBracket)?;
                    let start = e.start;
                    let mut ne = self.call("_[_]", vec![e, idx], open.start)?;
                    ne.start = start;
                    ne.end = close.end;
                    e = ne;
                }
                Tok::LBrace if is_type_name(&e) => {
                    self.bump();
                    e = self.message_literal(e)?;
                }
                _ => return Ok(e),
            }
        }
    }

    /// The fields of `Type{a: 1, `b-c`: 2}` after the `{`.
    fn message_literal(&mut self, name: Expr) -> Result<Expr, CompileError> {
        let mut fields = Vec::new();
        while self.peek() != &Tok::RBrace {
            let field = match self.bump().tok {
                Tok::Ident(s) | Tok::Quoted(s) => s,
                _ => {
                    self.at -= 1;
                    return Err(self.unexpected("a field name"));
                }
            };
            self.expect(Tok::Colon)?;
            fields.push((field, self.expr()?));
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        let close = self.expect(Tok::RBrace)?;
        let depth = depth_of(fields.iter().map(|(_, v)| v));
        let ex = Expr::at(ExprKind::Struct(dotted_name(&name), fields), name.start, close.end, name.start, depth);
        self.checked(ex)
    }

    fn method(&self, target: Expr, name: String, args: Vec<Expr>, pos: u32, end: u32) -> Result<Expr, CompileError> {
        let start = target.start;
        let kind = match (name.as_str(), args.len()) {
            ("all", 2) => Some(MacroKind::All),
            ("exists", 2) => Some(MacroKind::Exists),
            ("exists_one", 2) => Some(MacroKind::ExistsOne),
            ("map", 2) | ("map", 3) => Some(MacroKind::Map),
            ("filter", 2) => Some(MacroKind::Filter),
            _ => None,
        };
        if let Some(kind) = kind {
            let mut it = args.into_iter();
            let var_expr = it.next();
            let var = match var_expr.as_ref().map(|v| &v.kind) {
                Some(ExprKind::Ident(n)) if !n.starts_with('.') => n.clone(),
                _ => {
                    let at = var_expr.map_or(pos, |v| v.start);
                    return Err(CompileError::syntax(
                        at as usize,
                        format!("the first argument of {}() must be a simple variable name", name),
                    ));
                }
            };
            let first = it.next();
            let second = it.next();
            let (body, transform) = match (kind, first, second) {
                (MacroKind::Map, Some(p), Some(t)) => (p, Some(t)),
                (_, Some(b), None) => (b, None),
                _ => return Err(CompileError::syntax(pos as usize, "malformed macro call".into())),
            };
            let depth = [Some(&target), Some(&body), transform.as_ref()]
                .iter()
                .flatten()
                .map(|e| e.depth)
                .max()
                .unwrap_or(0)
                + 1;
            let e = Expr {
                kind: ExprKind::Comp(Box::new(Comprehension {
                    kind,
                    var,
                    range: target,
                    body,
                    transform,
                })),
                start,
                end,
                pos,
                depth,
            };
            return self.checked(e);
        }
        let depth = depth_of(args.iter().chain(core::iter::once(&target)));
        self.checked(Expr::at(ExprKind::Method(Box::new(target), name, args), start, end, pos, depth))
    }

    fn args(&mut self, close: Tok) -> Result<Vec<Expr>, CompileError> {
        let mut out = Vec::new();
        if self.peek() == &close {
            return Ok(out);
        }
        loop {
            out.push(self.expr()?);
            if !self.eat(&Tok::Comma) {
                return Ok(out);
            }
            if self.peek() == &close && close != Tok::RParen {
                return Ok(out);
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, CompileError> {
        let t = self.bump();
        let (s, e) = (t.start, t.end);
        let leaf = |k: ExprKind| Ok(Expr::new(k, s, e, s, &[]));
        match t.tok {
            Tok::Int(v) => {
                if v == 1u64 << 63 {
                    leaf(ExprKind::IntMin)
                } else if v > i64::MAX as u64 {
                    Err(CompileError::syntax(s as usize, "integer literal is out of range for int".into()))
                } else {
                    leaf(ExprKind::Int(v as i64))
                }
            }
            Tok::Uint(v) => leaf(ExprKind::Uint(v)),
            Tok::Double(v) => leaf(ExprKind::Double(v)),
            Tok::Str(v) => leaf(ExprKind::Str(v)),
            Tok::Bytes(v) => leaf(ExprKind::Bytes(v)),
            Tok::True => leaf(ExprKind::Bool(true)),
            Tok::False => leaf(ExprKind::Bool(false)),
            Tok::Null => leaf(ExprKind::Null),
            Tok::Dot => {
                let n = self.bump();
                match n.tok {
                    Tok::Ident(name) => self.ident(format!(".{}", name), s, n.start, n.end),
                    _ => {
                        self.at -= 1;
                        Err(self.unexpected("an identifier after '.'"))
                    }
                }
            }
            Tok::Ident(name) => self.ident(name, s, s, e),
            Tok::LParen => {
                let inner = self.expr()?;
                let close = self.expect(Tok::RParen)?;
                let mut inner = inner;
                inner.start = s;
                inner.end = close.end;
                Ok(inner)
            }
            Tok::LBracket => {
                let items = self.args(Tok::RBracket)?;
                let close = self.expect(Tok::RBracket)?;
                let depth = depth_of(items.iter());
                self.checked(Expr::at(ExprKind::List(items), s, close.end, s, depth))
            }
            Tok::LBrace => {
                let mut entries = Vec::new();
                if self.peek() != &Tok::RBrace {
                    loop {
                        let k = self.expr()?;
                        self.expect(Tok::Colon)?;
                        let v = self.expr()?;
                        entries.push((k, v));
                        if !self.eat(&Tok::Comma) || self.peek() == &Tok::RBrace {
                            break;
                        }
                    }
                }
                let close = self.expect(Tok::RBrace)?;
                let depth = entries.iter().map(|(k, v)| k.depth.max(v.depth)).max().map_or(0, |d| d + 1);
                let ex = Expr {
                    kind: ExprKind::Map(entries),
                    start: s,
                    end: close.end,
                    pos: s,
                    depth,
                };
                self.checked(ex)
            }
            _ => {
                self.at -= 1;
                Err(self.unexpected("an expression"))
            }
        }
    }

    fn ident(&mut self, name: String, start: u32, name_pos: u32, end: u32) -> Result<Expr, CompileError> {
        let bare = name.trim_start_matches('.');
        if RESERVED.contains(&bare) {
            return Err(CompileError::syntax(
                name_pos as usize,
                format!("reserved identifier '{}' cannot be used as a name", bare),
            ));
        }
        if self.peek() == &Tok::LParen {
            self.bump();
            let args = self.args(Tok::RParen)?;
            let close = self.expect(Tok::RParen)?;
            if name == "has" {
                return self.has(args, start, close.end);
            }
            let depth = depth_of(args.iter());
            return self.checked(Expr::at(ExprKind::Call(name, args), start, close.end, name_pos, depth));
        }
        Ok(Expr::new(ExprKind::Ident(name), start, end, name_pos, &[]))
    }

    fn has(&self, mut args: Vec<Expr>, start: u32, end: u32) -> Result<Expr, CompileError> {
        if args.len() == 1 {
            if let Some(arg) = args.pop() {
                if let ExprKind::Select(operand, field) = arg.kind {
                    let depth = operand.depth + 1;
                    return self.checked(Expr::at(ExprKind::Has(operand, field), start, end, start, depth));
                }
            }
        }
        Err(CompileError::syntax(
            start as usize,
            "has() takes a single field selection, e.g. has(m.field)".into(),
        ))
    }
}

/// Whether `e` is a (possibly qualified) name, i.e. could be a message type before `{`.
fn is_type_name(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Ident(_) => true,
        ExprKind::Select(inner, _) => is_type_name(inner),
        _ => false,
    }
}

/// `a.b.c` of a name expression (`is_type_name`).
fn dotted_name(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Ident(n) => n.clone(),
        ExprKind::Select(inner, f) => format!("{}.{}", dotted_name(inner), f),
        _ => String::new(),
    }
}

fn depth_of<'a, I: Iterator<Item = &'a Expr>>(children: I) -> u32 {
    children.map(|c| c.depth).max().map_or(0, |d| d + 1)
}
