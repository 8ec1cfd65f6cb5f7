//! The parsed expression. Operators are calls with CEL's internal names (`_+_`, `_[_]`, `@in`,
//! ...); macros are expanded by the parser into `Has` and `Comp` nodes.

#[derive(Clone, Debug)]
pub struct Expr {
    pub kind: ExprKind,
    /// Source span (byte offsets) of the whole expression.
    pub start: u32,
    pub end: u32,
    /// Where errors about this node point: the operator of an operator call, the name of a
    /// function, the start of anything else.
    pub pos: u32,
    /// Height of the tree below this node; bounded so evaluation cannot exhaust the stack.
    pub depth: u32,
}

#[derive(Clone, Debug)]
pub enum ExprKind {
    Null,
    Bool(bool),
    Int(i64),
    /// The literal 9223372036854775808 before its sign is known (valid only when negated).
    IntMin,
    Uint(u64),
    Double(f64),
    Str(String),
    Bytes(Vec<u8>),
    /// A name; a leading `.` (absolute name) is kept.
    Ident(String),
    Select(Box<Expr>, String),
    Has(Box<Expr>, String),
    Call(String, Vec<Expr>),
    Method(Box<Expr>, String, Vec<Expr>),
    List(Vec<Expr>),
    Map(Vec<(Expr, Expr)>),
    /// A message literal `pkg.Type{field: value, ...}` (the name as written, maybe `.`-absolute).
    Struct(String, Vec<(String, Expr)>),
    Comp(Box<Comprehension>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MacroKind {
    All,
    Exists,
    ExistsOne,
    Map,
    Filter,
}

#[derive(Clone, Debug)]
pub struct Comprehension {
    pub kind: MacroKind,
    pub var: String,
    pub range: Expr,
    /// The predicate (all, exists, exists_one, filter, 3-arg map) or the transform (2-arg map).
    pub body: Expr,
    /// The transform of a 3-argument `map(x, pred, transform)`.
    pub transform: Option<Expr>,
}

impl Expr {
    pub fn at(kind: ExprKind, start: u32, end: u32, pos: u32, depth: u32) -> Expr {
        Expr {
            kind,
            start,
            end,
            pos,
            depth,
        }
    }

    pub fn new(kind: ExprKind, start: u32, end: u32, pos: u32, children: &[&Expr]) -> Expr {
        let depth = children.iter().map(|c| c.depth).max().map_or(0, |d| d + 1);
        Expr {
            kind,
            start,
            end,
            pos,
            depth,
        }
    }
}
