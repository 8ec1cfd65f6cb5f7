//! `matches`: an RE2-compatible subset, compiled to an NFA and run as a Pike VM (linear time,
//! no backtracking, like RE2). Supported: literals, `.`, classes (ranges, negation, `\d\s\w`,
//! POSIX `[:alpha:]`), anchors `^ $ \A \z \b \B`, groups (capturing, `(?:)`, named), flags
//! `i s m U` (global or scoped), alternation, `* + ? {n} {n,} {n,m}` and their lazy forms,
//! escapes `\n \t \x41 \x{263a} \123 \Q..\E`. Anything else (backreferences, lookaround,
//! Unicode classes `\p{..}`) is rejected with a message, as RE2 rejects the first two.

#[derive(Clone, Debug)]
enum ClassItem {
    Range(char, char),
}

#[derive(Clone, Debug)]
struct Class {
    items: Vec<ClassItem>,
    negated: bool,
    fold: bool,
}

impl Class {
    fn contains_exact(&self, c: char) -> bool {
        self.items.iter().any(|ClassItem::Range(lo, hi)| *lo <= c && c <= *hi)
    }

    fn matches(&self, c: char) -> bool {
        let mut hit = self.contains_exact(c);
        if !hit && self.fold {
            hit = fold_variants(c).iter().any(|&v| self.contains_exact(v));
        }
        hit != self.negated
    }
}

fn fold_variants(c: char) -> [char; 2] {
    let lower = c.to_lowercase().next().unwrap_or(c);
    let upper = c.to_uppercase().next().unwrap_or(c);
    [lower, upper]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Assert {
    BeginText,
    EndText,
    BeginLine,
    EndLine,
    WordBoundary,
    NotWordBoundary,
}

#[derive(Clone, Debug)]
enum Inst {
    Char(char, bool),
    Any,
    AnyNotNl,
    Class(usize),
    Split(usize, usize),
    Jmp(usize),
    Assert(Assert),
    Match,
}

#[derive(Clone, Debug)]
enum Node {
    Empty,
    Char(char, bool),
    Any(bool),
    Class(Class),
    Assert(Assert),
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat(Box<Node>, u32, Option<u32>),
}

#[derive(Clone, Copy)]
struct Flags {
    fold: bool,
    dot_nl: bool,
    multi_line: bool,
}

/// A compiled pattern.
#[derive(Debug)]
pub struct Regex {
    prog: Vec<Inst>,
    classes: Vec<Class>,
}

const MAX_REPEAT: u32 = 1000;
const MAX_PROG: usize = 50_000;

impl Regex {
    pub fn new(pattern: &str) -> Result<Regex, String> {
        let mut p = Parser {
            chars: pattern.chars().collect(),
            at: 0,
            flags: Flags {
                fold: false,
                dot_nl: false,
                multi_line: false,
            },
        };
        let node = p.alt()?;
        if p.at < p.chars.len() {
            return Err("unexpected ')'".into());
        }
        let mut c = Compiler {
            prog: Vec::new(),
            classes: Vec::new(),
        };
        c.node(&node)?;
        c.push(Inst::Match)?;
        Ok(Regex {
            prog: c.prog,
            classes: c.classes,
        })
    }

    /// Whether the pattern matches anywhere in `text` (RE2 partial match, like CEL's `matches`).
    pub fn is_match(&self, text: &str) -> bool {
        let n = self.prog.len();
        let mut clist = Threads::new(n);
        let mut nlist = Threads::new(n);
        let chars: Vec<char> = text.chars().collect();
        let mut prev: Option<char> = None;
        for i in 0..=chars.len() {
            let cur = chars.get(i).copied();
            // An unanchored search starts a new thread at every position.
            self.add(&mut clist, 0, prev, cur);
            if clist.has_match {
                return true;
            }
            let c = match cur {
                Some(c) => c,
                None => break,
            };
            nlist.clear();
            let next = chars.get(i + 1).copied();
            for k in 0..clist.len {
                let pc = clist.dense[k];
                let ok = match &self.prog[pc] {
                    Inst::Char(want, fold) => *want == c || (*fold && fold_variants(c).contains(want)),
                    Inst::Any => true,
                    Inst::AnyNotNl => c != '\n',
                    Inst::Class(ci) => self.classes[*ci].matches(c),
                    _ => false,
                };
                if ok {
                    self.add(&mut nlist, pc + 1, Some(c), next);
                }
            }
            core::mem::swap(&mut clist, &mut nlist);
            if clist.has_match {
                return true;
            }
            prev = Some(c);
        }
        clist.has_match
    }

    fn add(&self, list: &mut Threads, pc: usize, prev: Option<char>, next: Option<char>) {
        let mut stack = vec![pc];
        while let Some(pc) = stack.pop() {
            if !list.insert(pc) {
                continue;
            }
            match &self.prog[pc] {
                Inst::Jmp(t) => stack.push(*t),
                Inst::Split(a, b) => {
                    stack.push(*b);
                    stack.push(*a);
                }
                Inst::Assert(a) => {
                    if assert_holds(*a, prev, next) {
                        stack.push(pc + 1);
                    }
                }
                Inst::Match => list.has_match = true,
                _ => {}
            }
        }
    }
}

fn is_word(c: Option<char>) -> bool {
    matches!(c, Some(c) if c.is_ascii_alphanumeric() || c == '_')
}

fn assert_holds(a: Assert, prev: Option<char>, next: Option<char>) -> bool {
    match a {
        Assert::BeginText => prev.is_none(),
        Assert::EndText => next.is_none(),
        Assert::BeginLine => prev.is_none() || prev == Some('\n'),
        Assert::EndLine => next.is_none() || next == Some('\n'),
        Assert::WordBoundary => is_word(prev) != is_word(next),
        Assert::NotWordBoundary => is_word(prev) == is_word(next),
    }
}

/// A sparse set of program counters (the thread list of the Pike VM).
struct Threads {
    dense: Vec<usize>,
    sparse: Vec<usize>,
    len: usize,
    has_match: bool,
}

impl Threads {
    fn new(n: usize) -> Threads {
        Threads {
            dense: vec![0; n],
            sparse: vec![0; n],
            len: 0,
            has_match: false,
        }
    }

    fn clear(&mut self) {
        self.len = 0;
        self.has_match = false;
    }

    fn insert(&mut self, pc: usize) -> bool {
        let s = self.sparse[pc];
        if s < self.len && self.dense[s] == pc {
            return false;
        }
        self.sparse[pc] = self.len;
        self.dense[self.len] = pc;
        self.len += 1;
        true
    }
}

struct Compiler {
    prog: Vec<Inst>,
    classes: Vec<Class>,
}

impl Compiler {
    fn push(&mut self, i: Inst) -> Result<usize, String> {
        if self.prog.len() >= MAX_PROG {
            return Err("pattern is too large".into());
        }
        self.prog.push(i);
        Ok(self.prog.len() - 1)
    }

    fn node(&mut self, n: &Node) -> Result<(), String> {
        match n {
            Node::Empty => {}
            Node::Char(c, f) => {
                self.push(Inst::Char(*c, *f))?;
            }
            Node::Any(nl) => {
                self.push(if *nl { Inst::Any } else { Inst::AnyNotNl })?;
            }
            Node::Class(c) => {
                self.classes.push(c.clone());
                self.push(Inst::Class(self.classes.len() - 1))?;
            }
            Node::Assert(a) => {
                self.push(Inst::Assert(*a))?;
            }
            Node::Concat(v) => {
                for x in v {
                    self.node(x)?;
                }
            }
            Node::Alt(v) => {
                let mut jumps = Vec::new();
                for (i, x) in v.iter().enumerate() {
                    if i + 1 < v.len() {
                        let split = self.push(Inst::Split(0, 0))?;
                        self.node(x)?;
                        jumps.push(self.push(Inst::Jmp(0))?);
                        let next = self.prog.len();
                        self.prog[split] = Inst::Split(split + 1, next);
                    } else {
                        self.node(x)?;
                    }
                }
                let end = self.prog.len();
                for j in jumps {
                    self.prog[j] = Inst::Jmp(end);
                }
            }
            Node::Repeat(x, min, max) => {
                for _ in 0..*min {
                    self.node(x)?;
                }
                match max {
                    None => {
                        // x*: L: split(body, out); body; jmp L
                        let split = self.push(Inst::Split(0, 0))?;
                        self.node(x)?;
                        self.push(Inst::Jmp(split))?;
                        let out = self.prog.len();
                        self.prog[split] = Inst::Split(split + 1, out);
                    }
                    Some(max) => {
                        let mut splits = Vec::new();
                        for _ in *min..*max {
                            splits.push(self.push(Inst::Split(0, 0))?);
                            self.node(x)?;
                        }
                        let out = self.prog.len();
                        for s in splits {
                            self.prog[s] = Inst::Split(s + 1, out);
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

struct Parser {
    chars: Vec<char>,
    at: usize,
    flags: Flags,
}

fn range(lo: char, hi: char) -> ClassItem {
    ClassItem::Range(lo, hi)
}

fn perl_class(c: char) -> Option<(Vec<ClassItem>, bool)> {
    let digit = vec![range('0', '9')];
    let space = vec![range('\t', '\n'), range('\x0c', '\r'), range(' ', ' ')];
    let word = vec![range('0', '9'), range('A', 'Z'), range('_', '_'), range('a', 'z')];
    Some(match c {
        'd' => (digit, false),
        'D' => (digit, true),
        's' => (space, false),
        'S' => (space, true),
        'w' => (word, false),
        'W' => (word, true),
        _ => return None,
    })
}

fn posix_class(name: &str) -> Option<Vec<ClassItem>> {
    Some(match name {
        "alnum" => vec![range('0', '9'), range('A', 'Z'), range('a', 'z')],
        "alpha" => vec![range('A', 'Z'), range('a', 'z')],
        "ascii" => vec![range('\0', '\x7f')],
        "blank" => vec![range('\t', '\t'), range(' ', ' ')],
        "cntrl" => vec![range('\0', '\x1f'), range('\x7f', '\x7f')],
        "digit" => vec![range('0', '9')],
        "graph" => vec![range('!', '~')],
        "lower" => vec![range('a', 'z')],
        "print" => vec![range(' ', '~')],
        "punct" => vec![range('!', '/'), range(':', '@'), range('[', '`'), range('{', '~')],
        "space" => vec![range('\t', '\r'), range(' ', ' ')],
        "upper" => vec![range('A', 'Z')],
        "word" => vec![range('0', '9'), range('A', 'Z'), range('_', '_'), range('a', 'z')],
        "xdigit" => vec![range('0', '9'), range('A', 'F'), range('a', 'f')],
        _ => return None,
    })
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        self.at += 1;
        c
    }

    fn alt(&mut self) -> Result<Node, String> {
        let saved = self.flags;
        let mut branches = vec![self.concat()?];
        while self.peek() == Some('|') {
            self.at += 1;
            branches.push(self.concat()?);
        }
        self.flags = saved;
        Ok(if branches.len() == 1 {
            branches.pop().unwrap_or(Node::Empty)
        } else {
            Node::Alt(branches)
        })
    }

    fn concat(&mut self) -> Result<Node, String> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = match self.atom()? {
                Some(a) => a,
                None => continue,
            };
            let atom = self.quantifier(atom)?;
            items.push(atom);
        }
        Ok(Node::Concat(items))
    }

    fn number(&mut self) -> Option<u32> {
        let start = self.at;
        while matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
            self.at += 1;
        }
        if self.at == start {
            return None;
        }
        self.chars[start..self.at].iter().collect::<String>().parse().ok()
    }

    fn quantifier(&mut self, atom: Node) -> Result<Node, String> {
        let mut node = atom;
        let mut repeated = false;
        loop {
            if repeated && matches!(self.peek(), Some('*') | Some('+') | Some('?')) {
                return Err("bad repetition operator".into());
            }
            let (min, max) = match self.peek() {
                Some('*') => {
                    self.at += 1;
                    (0, None)
                }
                Some('+') => {
                    self.at += 1;
                    (1, None)
                }
                Some('?') => {
                    self.at += 1;
                    (0, Some(1))
                }
                Some('{') => {
                    let save = self.at;
                    self.at += 1;
                    let min = match self.number() {
                        Some(n) => n,
                        None => {
                            // Not a repetition: `{` is a literal.
                            self.at = save;
                            return Ok(node);
                        }
                    };
                    let max = if self.peek() == Some(',') {
                        self.at += 1;
                        self.number()
                    } else {
                        Some(min)
                    };
                    if self.next() != Some('}') {
                        self.at = save;
                        return Ok(node);
                    }
                    if min > MAX_REPEAT || max.map_or(false, |m| m > MAX_REPEAT || m < min) {
                        return Err("invalid repeat count".into());
                    }
                    (min, max)
                }
                _ => return Ok(node),
            };
            if matches!(node, Node::Empty | Node::Assert(_)) && !matches!(node, Node::Assert(_)) {
                return Err("missing argument to repetition operator".into());
            }
            if self.peek() == Some('?') {
                self.at += 1; // lazy: same match/no-match answer
            }
            repeated = true;
            node = Node::Repeat(Box::new(node), min, max);
        }
    }

    fn atom(&mut self) -> Result<Option<Node>, String> {
        let c = match self.next() {
            Some(c) => c,
            None => return Ok(None),
        };
        let f = self.flags;
        Ok(Some(match c {
            '.' => Node::Any(f.dot_nl),
            '^' => Node::Assert(if f.multi_line { Assert::BeginLine } else { Assert::BeginText }),
            '$' => Node::Assert(if f.multi_line { Assert::EndLine } else { Assert::EndText }),
            '(' => return self.group(),
            '[' => Node::Class(self.class()?),
            '*' | '+' | '?' => return Err("missing argument to repetition operator".into()),
            '\\' => return self.escape().map(Some),
            c => Node::Char(c, f.fold),
        }))
    }

    fn group(&mut self) -> Result<Option<Node>, String> {
        if self.peek() == Some('?') {
            self.at += 1;
            match self.peek() {
                Some('P') | Some('<') => {
                    if self.peek() == Some('P') {
                        self.at += 1;
                    }
                    if self.next() != Some('<') {
                        return Err("invalid named capture".into());
                    }
                    while let Some(c) = self.next() {
                        if c == '>' {
                            return self.group_body().map(Some);
                        }
                        if !(c.is_ascii_alphanumeric() || c == '_') {
                            return Err("invalid named capture".into());
                        }
                    }
                    return Err("invalid named capture".into());
                }
                Some('=') | Some('!') => return Err("lookaround assertions are not supported (RE2)".into()),
                _ => {}
            }
            // Flags: (?flags) or (?flags:re)
            let mut on = true;
            let mut fl = self.flags;
            loop {
                match self.next() {
                    Some('i') => fl.fold = on,
                    Some('s') => fl.dot_nl = on,
                    Some('m') => fl.multi_line = on,
                    Some('U') => {}
                    Some('-') if on => on = false,
                    Some(')') => {
                        self.flags = fl;
                        return Ok(None);
                    }
                    Some(':') => {
                        let saved = self.flags;
                        self.flags = fl;
                        let body = self.group_body()?;
                        self.flags = saved;
                        return Ok(Some(body));
                    }
                    _ => return Err("invalid or unsupported group flags".into()),
                }
            }
        }
        self.group_body().map(Some)
    }

    fn group_body(&mut self) -> Result<Node, String> {
        let inner = self.alt()?;
        if self.next() != Some(')') {
            return Err("missing closing )".into());
        }
        Ok(inner)
    }

    fn escape_char(&mut self) -> Result<Result<char, Vec<ClassItem>>, String> {
        let c = self.next().ok_or("trailing backslash at end of expression")?;
        if let Some((items, neg)) = perl_class(c) {
            if neg {
                return Ok(Err(negate(items)));
            }
            return Ok(Err(items));
        }
        Ok(Ok(match c {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            'f' => '\x0c',
            'v' => '\x0b',
            'a' => '\x07',
            'x' => {
                let mut v: u32 = 0;
                if self.peek() == Some('{') {
                    self.at += 1;
                    let mut n = 0;
                    loop {
                        match self.next() {
                            Some('}') if n > 0 => break,
                            Some(h) if h.is_ascii_hexdigit() && n < 8 => {
                                v = v * 16 + h.to_digit(16).unwrap_or(0);
                                n += 1;
                            }
                            _ => return Err("invalid escape sequence \\x{...}".into()),
                        }
                    }
                } else {
                    for _ in 0..2 {
                        let h = self.next().filter(|h| h.is_ascii_hexdigit()).ok_or("invalid escape sequence \\x")?;
                        v = v * 16 + h.to_digit(16).unwrap_or(0);
                    }
                }
                char::from_u32(v).ok_or("invalid escape sequence")?
            }
            '0'..='7' => {
                if c != '0' && !matches!(self.peek(), Some('0'..='7')) {
                    return Err("backreferences are not supported (RE2)".into());
                }
                let mut v = c.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match self.peek() {
                        Some(d @ '0'..='7') => {
                            v = v * 8 + d.to_digit(8).unwrap_or(0);
                            self.at += 1;
                        }
                        _ => break,
                    }
                }
                char::from_u32(v).ok_or("invalid escape sequence")?
            }
            '8' | '9' => return Err("backreferences are not supported (RE2)".into()),
            'p' | 'P' => return Err("Unicode classes (\\p) are not supported".into()),
            c if c.is_ascii_punctuation() => c,
            _ => return Err(format!("invalid escape sequence \\{}", c)),
        }))
    }

    fn escape(&mut self) -> Result<Node, String> {
        let f = self.flags;
        match self.peek() {
            Some('A') => {
                self.at += 1;
                return Ok(Node::Assert(Assert::BeginText));
            }
            Some('z') => {
                self.at += 1;
                return Ok(Node::Assert(Assert::EndText));
            }
            Some('b') => {
                self.at += 1;
                return Ok(Node::Assert(Assert::WordBoundary));
            }
            Some('B') => {
                self.at += 1;
                return Ok(Node::Assert(Assert::NotWordBoundary));
            }
            Some('Q') => {
                self.at += 1;
                let mut lit = Vec::new();
                while let Some(c) = self.next() {
                    if c == '\\' && self.peek() == Some('E') {
                        self.at += 1;
                        break;
                    }
                    lit.push(Node::Char(c, f.fold));
                }
                return Ok(Node::Concat(lit));
            }
            _ => {}
        }
        Ok(match self.escape_char()? {
            Ok(c) => Node::Char(c, f.fold),
            Err(items) => Node::Class(Class {
                items,
                negated: false,
                fold: false,
            }),
        })
    }

    fn class(&mut self) -> Result<Class, String> {
        let mut negated = false;
        if self.peek() == Some('^') {
            self.at += 1;
            negated = true;
        }
        let mut items = Vec::new();
        let mut first = true;
        loop {
            let c = self.next().ok_or("missing closing ]")?;
            if c == ']' && !first {
                break;
            }
            first = false;
            if c == '[' && self.peek() == Some(':') {
                let rest: String = self.chars[self.at..].iter().collect();
                if let Some(end) = rest.find(":]") {
                    let name = &rest[1..end];
                    let (neg, name) = match name.strip_prefix('^') {
                        Some(n) => (true, n),
                        None => (false, name),
                    };
                    let set = posix_class(name).ok_or("invalid character class range")?;
                    items.extend(if neg { negate(set) } else { set });
                    self.at += rest[..end + 2].chars().count();
                    continue;
                }
            }
            let lo = if c == '\\' {
                match self.escape_char()? {
                    Ok(ch) => ch,
                    Err(set) => {
                        items.extend(set);
                        continue;
                    }
                }
            } else {
                c
            };
            if self.peek() == Some('-') && self.chars.get(self.at + 1).map_or(false, |&n| n != ']') {
                self.at += 1;
                let hc = self.next().ok_or("missing closing ]")?;
                let hi = if hc == '\\' {
                    match self.escape_char()? {
                        Ok(ch) => ch,
                        Err(_) => return Err("invalid character class range".into()),
                    }
                } else {
                    hc
                };
                if hi < lo {
                    return Err("invalid character class range".into());
                }
                items.push(range(lo, hi));
            } else {
                items.push(range(lo, lo));
            }
        }
        Ok(Class {
            items,
            negated,
            fold: self.flags.fold,
        })
    }
}

/// The complement of a set of ranges over all chars.
fn negate(mut items: Vec<ClassItem>) -> Vec<ClassItem> {
    items.sort_by_key(|ClassItem::Range(lo, _)| *lo);
    let mut out = Vec::new();
    let mut next: u32 = 0;
    for ClassItem::Range(lo, hi) in items {
        if (lo as u32) > next {
            if let (Some(a), Some(b)) = (char_at_or_after(next), char_before(lo as u32)) {
                if a <= b {
                    out.push(range(a, b));
                }
            }
        }
        next = next.max(hi as u32 + 1);
    }
    if let Some(a) = char_at_or_after(next) {
        out.push(range(a, char::MAX));
    }
    out
}

fn char_at_or_after(v: u32) -> Option<char> {
    if (0xD800..0xE000).contains(&v) {
        return char::from_u32(0xE000);
    }
    char::from_u32(v)
}

fn char_before(v: u32) -> Option<char> {
    let p = v.checked_sub(1)?;
    if (0xD800..0xE000).contains(&p) {
        return char::from_u32(0xD7FF);
    }
    char::from_u32(p)
}

#[cfg(test)]
mod tests {
    use super::Regex;

    fn m(p: &str, t: &str) -> bool {
        Regex::new(p).unwrap().is_match(t)
    }

    #[test]
    fn basics() {
        assert!(m("ubb", "hubba"));
        assert!(!m("foo|bar", ""));
        assert!(m("", "cows"));
        assert!(m("gr(a|e)y", "grey"));
        assert!(m("ba(na)*", "banana"));
        assert!(m("a+ñ+a+", "mañana"));
        assert!(m("(a|😀){2}", "🐱😀😀"));
        assert!(m("^[a-z]+$", "abc"));
        assert!(!m("^[a-z]+$", "abc1"));
        assert!(m("^\\d{3}-\\d{4}$", "555-1234"));
        assert!(!m("^\\d{3}-\\d{4}$", "555-12345"));
        assert!(m("(?i)HELLO", "say hello"));
        assert!(m("[[:alpha:]]+", "x"));
        assert!(m("\\bfoo\\b", "a foo b"));
        assert!(!m("\\bfoo\\b", "afoob"));
        assert!(m("[^a-c]", "abcd"));
        assert!(!m("[^a-d]", "abcd"));
        assert!(m("a.c", "abc"));
        assert!(!m("a.c", "a\nc"));
        assert!(m("(?s)a.c", "a\nc"));
        assert!(m("x{2,3}", "xx"));
        assert!(!m("^x{2,3}$", "xxxx"));
        assert!(m("\\Qa.b\\E", "a.b"));
        assert!(!m("\\Qa.b\\E", "axb"));
        assert!(m("(a*)*b", "aaab"));
        assert!(m("\\x41\\x{42}", "AB"));
    }

    #[test]
    fn rejects_unsupported() {
        assert!(Regex::new("(a)\\1").is_err());
        assert!(Regex::new("(?=a)").is_err());
        assert!(Regex::new("a(").is_err());
        assert!(Regex::new("a)").is_err());
        assert!(Regex::new("[a").is_err());
        assert!(Regex::new("*a").is_err());
        assert!(Regex::new("a**").is_err());
        assert!(Regex::new("\\pL").is_err());
    }
}
