//! Native tests of the CEL engine: parsing, checking (positions and messages), evaluation
//! semantics, `shard_hash` against the routing vectors, and batch evaluation over columns.

use super::batch::{eval_batch, route_batch, BatchError, Outputs};
use super::codec::parse_decls;
use super::compile::Env;
use super::error::{CompileKind, EvalKind};
use super::value::{format_double, Value};
use super::{Program, RouteKey};
use crate::column::{Bitmap, Column, ColumnType};

fn env(decls: &str) -> Env {
    parse_decls(decls, false).expect("declarations parse")
}

fn prog(src: &str, decls: &str) -> Program {
    Program::compile(src, env(decls)).unwrap_or_else(|e| panic!("{} does not compile: {:?}", src, e))
}

fn run(src: &str) -> Result<String, EvalKind> {
    let p = prog(src, "");
    let r = p.eval(vec![]);
    r.map(|v| show(&v)).map_err(|e| e.kind)
}

fn show(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Uint(u) => format!("{}u", u),
        Value::Double(d) => format!("{}d", format_double(*d)),
        Value::Str(_) => format!("{:?}", v.as_str().unwrap_or("")),
        Value::Bytes(b) => format!("b{:?}", b.bytes()),
        Value::List(l) => format!("[{}]", l.iter().map(show).collect::<Vec<_>>().join(", ")),
        Value::Map(m) => format!(
            "{{{}}}",
            m.entries.iter().map(|(k, v)| format!("{}: {}", show(k), show(v))).collect::<Vec<_>>().join(", ")
        ),
        Value::Type(t) => format!("type:{}", t.name()),
        Value::Timestamp(_) | Value::Duration(_) => v.render(),
        Value::Message(m) => {
            let t = m.ty();
            let fields: Vec<String> = m.fields.iter().map(|(i, v)| format!("{}: {}", t.fields[*i].name, show(v))).collect();
            format!("{}{{{}}}", t.name, fields.join(", "))
        }
    }
}

fn ok(src: &str, want: &str) {
    assert_eq!(run(src), Ok(want.to_string()), "{}", src);
}

fn err(src: &str, kind: EvalKind) {
    assert_eq!(run(src), Err(kind), "{}", src);
}

#[test]
fn literals_and_arithmetic() {
    ok("-9223372036854775808", "-9223372036854775808");
    ok("0x55555555u", "1431655765u");
    ok("-0x55555555", "-1431655765");
    ok("--------------------------------19", "19");
    ok("1 + 2 * 3 - 4 / 2", "5");
    ok("-42 % (-5)", "-2");
    ok("43 % (-5)", "3");
    ok("r'\\n' + '\\x41\\u00e9\\101'", "\"\\\\nAéA\"");
    ok("'''a\nb'''", "\"a\\nb\"");
    ok("b'\\377'", "b[255]");
    ok("bytes('\\377')", "b[195, 191]");
    ok("4.25 + 15.25", "19.5d");
    ok("15.75 / 0.0", "+Infd");
    err("9223372036854775807 + 1", EvalKind::Overflow);
    err("-(-9223372036854775808)", EvalKind::Overflow);
    err("(-9223372036854775808) / -1", EvalKind::Overflow);
    err("0u - 1u", EvalKind::Overflow);
    err("1 / 0", EvalKind::DivideByZero);
    err("1u % 0u", EvalKind::ModulusByZero);
}

#[test]
fn timestamps_and_durations() {
    ok("timestamp('2009-02-13T23:00:00Z') + duration('240s')", "timestamp(\"2009-02-13T23:04:00Z\")");
    ok("duration('1m') + timestamp(0) < timestamp('1970-01-01T00:01:00.000000001Z')", "true");
    ok("timestamp('2009-02-13T23:31:00Z') - timestamp('2009-02-13T23:29:00Z')", "duration(\"120s\")");
    ok("string(duration('-1.5s') - duration('1h'))", "\"-3601.5s\"");
    ok("int(timestamp('2009-02-13T23:31:30.9Z'))", "1234567890");
    ok("type(timestamp(1)) == google.protobuf.Timestamp && type(duration('1s')) != google.protobuf.Timestamp", "true");
    ok("timestamp('2009-02-13T23:31:30Z').getDayOfWeek('-23:59')", "4");
    ok("timestamp('2009-02-13T23:31:30Z').getDayOfWeek('+00:30')", "6");
    ok("duration('3730s').getMinutes()", "62");
    err("timestamp('9999-12-31T23:59:59Z') + duration('1s')", EvalKind::Range);
    err("duration('-200000000000s')", EvalKind::Range);
    err("timestamp('2009-02-13')", EvalKind::Conversion);
    err("timestamp(1).getHours('Europe/Paris')", EvalKind::InvalidArgument);
    assert_eq!(Program::compile("duration('1s').getDayOfWeek()", env("")).map(|_| ()).map_err(|e| e.kind), Err(CompileKind::NoOverload));
    assert_eq!(prog("x + duration('1s')", "x google.protobuf.Timestamp").result_type().name(), "google.protobuf.Timestamp");
}

const TYPES: &str = "@container t.v1
@message t.v1.Msg
@field 1 i32 implicit int32
@field 2 f explicit float
@field 3 child explicit message:t.v1.Msg
@field 4 names repeated string
@field 5 tags map:string int64
@field 6 color implicit enum:t.v1.Color
@field 7 w explicit message:google.protobuf.Int64Value
@field 8 any explicit message:google.protobuf.Any
@field 9 json explicit message:google.protobuf.Value
@field 10 label explicit string 6869
@enum t.v1.Color
@value RED 0
@value BLUE 2";

fn msg(src: &str) -> Result<String, EvalKind> {
    let p = prog(src, TYPES);
    let r = p.eval(vec![]);
    r.map(|v| show(&v)).map_err(|e| e.kind)
}

#[test]
fn messages_from_declared_types() {
    let ok = |src: &str, want: &str| assert_eq!(msg(src), Ok(want.to_string()), "{}", src);
    let err = |src: &str, kind: EvalKind| assert_eq!(msg(src), Err(kind), "{}", src);
    ok("Msg{i32: 0, names: []}", "t.v1.Msg{}");
    ok("Msg{i32: 7, color: Color.BLUE}.color", "2");
    ok("Msg{f: 0.1}.f == 0.10000000149011612", "true");
    ok("Msg{}.child.child.i32", "0");
    ok("Msg{}.label + Msg{label: 'x'}.label", "\"hix\"");
    ok("[has(Msg{}.child), has(Msg{child: Msg{}}.child), has(Msg{i32: 0}.i32), has(Msg{f: 0.0}.f)]", "[false, true, false, true]");
    ok("Msg{}.w == null && Msg{w: 5}.w == 5", "true");
    ok("Msg{any: Msg{i32: 1}}.any == Msg{i32: 1}", "true");
    ok("Msg{json: {'a': [1, b'hi']}}.json", "{\"a\": [1d, \"aGk=\"]}");
    ok("Msg{tags: {'a': 1}}.tags.a", "1");
    ok("type(Msg{}) == t.v1.Msg && type(Msg{}) == Msg", "true");
    ok("google.protobuf.Int32Value{value: 3} + google.protobuf.Int64Value{}", "3");
    ok("Msg{i32: 1} == Msg{i32: 1} && Msg{i32: 1} != Msg{i32: 2}", "true");
    err("Msg{i32: 2147483648}", EvalKind::Range);
    ok("Msg{f: -1e300}.f", "-Infd");
    ok("Msg{json: 9007199254740993}.json", "\"9007199254740993\"");
    err("google.protobuf.Any{}", EvalKind::InvalidArgument);
    err("Msg{i32: 1u}", EvalKind::NoOverload);
    err("Msg{}.nope", EvalKind::NoSuchKey);
    assert_eq!(Program::compile("Msg{nope: 1}", env(TYPES)).map(|_| ()).map_err(|e| e.kind), Err(CompileKind::Undeclared));
    assert_eq!(parse_decls("@message a.B\n@field 1 x implicit message:a.C", false).map(|_| ()), Err(2));
}

#[test]
fn equality_and_ordering_across_numbers() {
    ok("dyn(1) == 1u && dyn(1u) == 1.0 && dyn(2.0) != 1", "true");
    ok("[1.0, 2.0, 3] == [1u, 2, 3u]", "true");
    ok("{1: 1.0, 2u: 3u} == {1u: 1, 2: 3.0}", "true");
    ok("0.0/0.0 == 0.0/0.0", "false");
    ok("dyn(9223372036854775807) < 9223372036854777857.0", "true");
    ok("dyn(-1) < 0u", "true");
    ok("'a' < '\\u00E1' && b'a' < b'b' && false < true", "true");
    ok("'elem' in [1u, 'str', 2, b'bytes']", "false");
    ok("3.0 in {1: 1, 2: 2, 3u: 3}", "true");
    assert_eq!(
        Program::compile("null < null", Env { unchecked: true, ..Env::default() }).unwrap().eval(vec![]).unwrap_err().kind,
        EvalKind::NoOverload
    );
}

#[test]
fn logic_absorbs_errors() {
    ok("false && (1/0 > 2)", "false");
    ok("(1/0 > 2) || true", "true");
    err("true && (1/0 > 2)", EvalKind::DivideByZero);
    ok("{0: 1}[1] == 1 || true", "true");
    err("2 / 0 > 4 ? 'a' : 'b'", EvalKind::DivideByZero);
}

#[test]
fn maps_lists_and_macros() {
    ok("{'a': 1, 'b': 2}.b", "2");
    ok("has({'a': 1}.a) && !has({'a': 1}.c)", "true");
    ok("{'foo.txt': 32}.`foo.txt`", "32");
    err("{0: 1}[1]", EvalKind::NoSuchKey);
    err("{true: 1, false: 2, true: 3}[true]", EvalKind::RepeatedKey);
    err("[1, 2, 3][3]", EvalKind::IndexOutOfRange);
    ok("[7, 8, 9][dyn(0u)]", "7");
    ok("[1, 2, 3].exists(e, e == 2)", "true");
    err("[1, 2, 3].exists(e, e / 0 == 17)", EvalKind::DivideByZero);
    ok("[1, 2, 3].all(e, 6 / (2 - e) == 6)", "false");
    err("[3, 2, 1, 0].exists_one(n, 12 / n > 1)", EvalKind::DivideByZero);
    ok("[0, 1, 2, 3, 4].filter(x, x % 2 == 1)", "[1, 3]");
    ok("[2, 4, 6].map(n, n / 2)", "[1, 2, 3]");
    ok("[1, 2, 3, 4].map(n, n > 2, n * 10)", "[30, 40]");
    ok("{'John': 'smart'}.map(key, key) == ['John']", "true");
    ok("['signer'].all(signer, ['artifact'].all(artifact, true))", "true");
    ok("size('πέντε') + size(b'abc') + size([1]) + size({1: 2})", "10");
}

#[test]
fn strings_and_conversions() {
    ok("'hubba'.matches('ubb') && 'grey'.matches('gr(a|e)y')", "true");
    ok("matches('abc', '^a.c$')", "true");
    ok("'foobar'.startsWith('foo') && 'foobar'.endsWith('bar') && 'abc'.contains('b')", "true");
    ok("string(123.456) + ' ' + string(-4.5e-3) + ' ' + string(1e6) + ' ' + string(100000.0)", "\"123.456 -0.0045 1e+06 100000\"");
    ok("string(1e-5) + ' ' + string(0.0001) + ' ' + string(-0.0)", "\"1e-05 0.0001 -0\"");
    ok("int(-7.9)", "-7");
    err("int(-9223372036854775808.0)", EvalKind::Range);
    err("int(18446744073709551615u)", EvalKind::Range);
    err("uint(-1)", EvalKind::Range);
    ok("uint(25.5)", "25u");
    ok("int('987') + int('-5')", "982");
    err("int('1.5')", EvalKind::Conversion);
    ok("double('-84.32e7')", "-8.432e+08d");
    ok("bool('True') && !bool('f')", "true");
    err("bool('TrUe')", EvalKind::Conversion);
    err("string(b'\\000\\xff')", EvalKind::BadUtf8);
    ok("type(1) == int && type([1]) == list && type(type(1)) == type", "true");
}

#[test]
fn shard_hash_is_the_routing_hash() {
    // reference-format §4.1 vectors
    ok("shard_hash(0)", &format!("{}u", 0xc77b3abb6f87acd9u64));
    ok("shard_hash(-1)", &format!("{}u", 0x5111c7e47d784413u64));
    ok("shard_hash(42u)", &format!("{}u", 0xd5a6f8c838df27c8u64));
    ok("shard_hash('a')", &format!("{}u", 0xe6c632b61e964e1fu64));
    ok("shard_hash(b'abc')", &format!("{}u", 0x78af5f94892f3950u64));
    ok("shard_hash('')", &format!("{}u", 0x2d06800538d394c2u64));
    ok("shard_hash(42) % 16u", "8u");
    err("shard_hash(9223372036854775808u)", EvalKind::ShardHashRange);
}

#[test]
fn compile_errors_point_at_the_problem() {
    let e = Program::compile("key % 16u", env("key int")).err().expect("int % uint is rejected");
    assert_eq!(e.kind, CompileKind::NoOverload);
    assert_eq!(e.pos, 4);
    assert!(e.msg.contains("found no matching overload for '_%_' applied to '(int, uint)'"), "{}", e.msg);
    assert!(e.msg.contains("`uint(key) % 16u`") && e.msg.contains("`key % 16`"), "{}", e.msg);
    let e = Program::compile("regoin == 'eu'", env("region string")).err().expect("undeclared");
    assert_eq!((e.kind, e.pos), (CompileKind::Undeclared, 0));
    let e = Program::compile("1 +", env("")).err().expect("syntax");
    assert_eq!((e.kind, e.pos), (CompileKind::Syntax, 3));
    let e = Program::compile("'a'.matches('(')", env("")).err().expect("regex");
    assert_eq!((e.kind, e.pos), (CompileKind::BadRegex, 12));
    let e = Program::compile("x ? 1 : 'a'", env("x bool")).err().expect("ternary");
    assert_eq!(e.kind, CompileKind::NoOverload);
    assert!(Program::compile("9223372036854775808", env("")).is_err());
    assert!(Program::compile("if", env("")).is_err());
    assert!(Program::compile("Msg{a: 1}", env("")).is_err());
    let deep = format!("{}1{}", "(".repeat(150), ")".repeat(150));
    assert!(Program::compile(&format!("{}1{}", "(".repeat(90), ")".repeat(90)), env("")).is_ok());
    let chain = vec!["1"; 400].join(" + ");
    assert_eq!(Program::compile(&chain, env("")).err().map(|e| e.kind), Some(CompileKind::Syntax));
    assert_eq!(Program::compile(&deep, env("")).err().map(|e| e.kind), Some(CompileKind::Syntax));
}

#[test]
fn checker_result_types() {
    let t = |src: &str, decls: &str| prog(src, decls).result_type().name();
    assert_eq!(t("shard_hash(key) % 16u", "key int"), "uint");
    assert_eq!(t("region == 'eu' ? 0 : 1", "region string"), "int");
    assert_eq!(t("[[], [[]], [[[]]], [[[[]]]]]", ""), "list(list(list(list(list(dyn)))))");
    assert_eq!(t("{'abc': 123}['abc']", ""), "int");
    assert_eq!(t("[1, 'a']", ""), "list(dyn)");
    assert_eq!(t("dyn(1) + 1", ""), "int");
    assert_eq!(t("m.a", "m map(string, list(int))"), "list(int)");
    assert_eq!(t("x.y", "x.y bool"), "bool");
}

fn i64_col(vals: &[i64]) -> Vec<u8> {
    vals.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn utf8(vals: &[&str]) -> (Vec<u8>, Vec<u8>) {
    let mut data = Vec::new();
    let mut offs = vec![0u8, 0, 0, 0];
    for v in vals {
        data.extend_from_slice(v.as_bytes());
        offs.extend_from_slice(&(data.len() as i32).to_le_bytes());
    }
    (offs, data)
}

#[test]
fn batch_over_columns() {
    let p = prog("shard_hash(region + ':' + string(tier)) % 8u", "region string\ntier int");
    let (offs, data) = utf8(&["eu", "us", "ap"]);
    let tiers = i64_col(&[1, 2, 3]);
    let cols = [
        Column::new(ColumnType::Utf8, 3, &data, &offs, None, 0).unwrap(),
        Column::new(ColumnType::Int64, 3, &tiers, &[], None, 0).unwrap(),
    ];
    let (mut tags, mut vals, mut offsets, mut out) = (vec![0u8; 3], vec![0i64; 3], vec![0i32; 4], Vec::new());
    eval_batch(&p, &cols, 3, Outputs { tags: &mut tags, vals: &mut vals, offsets: &mut offsets, data: &mut out }).unwrap();
    for (i, key) in ["eu:1", "us:2", "ap:3"].iter().enumerate() {
        assert_eq!(tags[i], 3);
        assert_eq!(vals[i] as u64, crate::xxh3::xxh3_64(key.as_bytes()) % 8);
    }
    let p = prog("region + '-' + string(tier)", "region string\ntier int");
    eval_batch(&p, &cols, 3, Outputs { tags: &mut tags, vals: &mut vals, offsets: &mut offsets, data: &mut out }).unwrap();
    assert_eq!(offsets, vec![0, 4, 8, 12]);
    assert_eq!(out, b"eu-1us-2ap-3".to_vec());
    assert_eq!(tags, vec![5, 5, 5]);
}

#[test]
fn batch_doubles_bools_and_nulls() {
    let p = prog("flag ? price * 2.0 : price", "flag bool\nprice double");
    let flags = [0b0000_0101u8 << 1]; // bit offset 1: rows 0 and 2 set
    let prices: Vec<u8> = [1.5f64, 2.5, 3.5].iter().flat_map(|v| v.to_le_bytes()).collect();
    let cols = [
        Column::new(ColumnType::Bool, 3, &flags, &[], None, 0).unwrap().with_values_bit_offset(1).unwrap(),
        Column::new(ColumnType::Float64, 3, &prices, &[], None, 0).unwrap(),
    ];
    let (mut tags, mut vals, mut offsets, mut out) = (vec![0u8; 3], vec![0i64; 3], vec![0i32; 4], Vec::new());
    eval_batch(&p, &cols, 3, Outputs { tags: &mut tags, vals: &mut vals, offsets: &mut offsets, data: &mut out }).unwrap();
    let got: Vec<f64> = vals.iter().map(|v| f64::from_bits(*v as u64)).collect();
    assert_eq!(got, vec![3.0, 2.5, 7.0]);
    // A null in a column stops the batch at that row.
    let validity = [0b0000_0101u8];
    let keys = i64_col(&[1, 2, 3]);
    let p = prog("key % 3", "key int");
    let cols = [Column::new(ColumnType::Int64, 3, &keys, &[], Some(Bitmap::new(&validity, 0)), 0).unwrap()];
    let r = eval_batch(&p, &cols, 3, Outputs { tags: &mut tags, vals: &mut vals, offsets: &mut offsets, data: &mut out });
    match r {
        Err(BatchError::Eval { row: 1, err }) => assert_eq!(err.kind, EvalKind::NullColumn),
        other => panic!("{:?}", other),
    }
    // Declared type and column type must agree.
    let p = prog("key", "key string");
    let r = eval_batch(&p, &cols, 3, Outputs { tags: &mut tags, vals: &mut vals, offsets: &mut offsets, data: &mut out });
    assert!(matches!(r, Err(BatchError::ColumnType { col: 0 })));
}

#[test]
fn routing_direct_and_categorical() {
    let keys = i64_col(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    let cols = [Column::new(ColumnType::Int64, 10, &keys, &[], None, 0).unwrap()];
    let mut out = vec![0i32; 10];
    route_batch(&prog("shard_hash(key) % 3u", "key int"), &cols, 10, &mut out).unwrap();
    assert_eq!(out, vec![2, 2, 1, 1, 0, 2, 0, 2, 0, 0]); // §4.1: ints 0..9, n=3
    route_batch(&prog("key % 3", "key int"), &cols, 10, &mut out).unwrap();
    assert_eq!(out, vec![0, 1, 2, 0, 1, 2, 0, 1, 2, 0]);
    let r = route_batch(&prog("key - 5", "key int"), &cols, 10, &mut out);
    assert!(matches!(r, Err(BatchError::ShardRange { row: 0, .. })));
    let r = route_batch(&prog("key > 5", "key int"), &cols, 10, &mut out);
    assert!(matches!(r, Err(BatchError::ResultType { row: 0, .. })));
    let mut p = prog("key < 3 ? 'a' : key < 6 ? 'b' : 'z'", "key int");
    p.set_routing(vec![RouteKey::Str(b"a".to_vec()), RouteKey::Str(b"b".to_vec())]);
    route_batch(&p, &cols, 10, &mut out).unwrap();
    assert_eq!(out, vec![0, 0, 0, 1, 1, 1, -1, -1, -1, -1]);
    // uint tokens match int routing values by value, as Python ints do.
    let mut p = prog("key % 2 == 0 ? 7u : 9u", "key int");
    p.set_routing(vec![RouteKey::Int(9), RouteKey::Int(7)]);
    route_batch(&p, &cols, 10, &mut out).unwrap();
    assert_eq!(out, vec![1, 0, 1, 0, 1, 0, 1, 0, 1, 0]);
}


#[test]
fn fast_path_matches_generic_evaluator() {
    let keys = i64_col(&[0, 1, -7, i64::MAX, i64::MIN, 42]);
    let (offs, data) = utf8(&["eu", "us", "é€", "", "ap", "eu"]);
    let cols = [
        Column::new(ColumnType::Int64, 6, &keys, &[], None, 0).unwrap(),
        Column::new(ColumnType::Utf8, 6, &data, &offs, None, 0).unwrap(),
    ];
    let exprs = [
        "shard_hash(key) % 16u",
        "key % 7",
        "key * 2",
        "region == 'eu' ? 0 : 1",
        "region + ':' + string(key)",
        "size(region) + key",
        "uint(key) % 3u",
        "double(key) / 2.0 > 1.0",
        "region.startsWith('e') || key > 10",
        "shard_hash(region + string(key < 0)) % 8u",
        "region.matches('^[a-z]+$') && !(key in [1, 2])",
    ];
    for src in exprs {
        let mut fast = prog(src, "key int\nregion string");
        let mut generic = prog(src, "key int\nregion string");
        generic.fast = None;
        if src.contains(" in [") {
            assert!(fast.fast.is_none(), "{} has a list, so no fast path", src);
        } else {
            assert!(fast.fast.is_some(), "{} should have a fast path", src);
        }
        let run = |p: &Program| {
            let (mut tags, mut vals, mut offsets, mut out) = (vec![0u8; 6], vec![0i64; 6], vec![0i32; 7], Vec::new());
            let r = eval_batch(p, &cols, 6, Outputs { tags: &mut tags, vals: &mut vals, offsets: &mut offsets, data: &mut out });
            let r = r.map_err(|e| match e {
                BatchError::Eval { row, err } => (row, err.kind),
                other => panic!("{:?}", other),
            });
            (r, tags, vals, offsets, out)
        };
        assert_eq!(run(&fast), run(&generic), "{}", src);
        fast.set_routing(vec![RouteKey::Int(1), RouteKey::Str(b"eu".to_vec())]);
    }
}

/// Routes with the whole-column select, the closures and the tree walk; all three must agree
/// (ids, or the failing row and error).
fn route_three_ways(src: &str, decls: &str, cols: &[Column], rows: usize, tokens: Option<Vec<RouteKey>>) -> Vec<i32> {
    let mut ps = [prog(src, decls), prog(src, decls), prog(src, decls)];
    ps[1].select = None;
    ps[2].select = None;
    ps[2].fast = None;
    let mut results = Vec::new();
    for p in ps.iter_mut() {
        if let Some(t) = &tokens {
            p.set_routing(t.clone());
        }
        let mut out = vec![0i32; rows];
        let r = route_batch(p, cols, rows, &mut out).map(|_| out).map_err(|e| format!("{:?}", e));
        results.push(r);
    }
    assert_eq!(results[0], results[1], "{}: select vs closures", src);
    assert_eq!(results[1], results[2], "{}: closures vs tree walk", src);
    results.swap_remove(0).unwrap_or_default()
}

#[test]
fn whole_column_select_matches_the_general_paths() {
    let (offs, data) = utf8(&["eu", "us", "", "eu-west", "eu"]);
    let cols = [Column::new(ColumnType::Utf8, 5, &data, &offs, None, 0).unwrap()];
    assert!(prog("region == 'eu' ? 0 : 1", "region string").select.is_some());
    assert!(prog("region == 'eu' ? 0 : size(region)", "region string").select.is_none());
    assert_eq!(route_three_ways("region == 'eu' ? 0 : 1", "region string", &cols, 5, None), vec![0, 1, 1, 1, 0]);
    assert_eq!(route_three_ways("'eu' != region ? 3u : 5u", "region string", &cols, 5, None), vec![5, 3, 3, 3, 5]);
    assert_eq!(route_three_ways("region == '' ? 0 : 1", "region string", &cols, 5, None), vec![1, 1, 0, 1, 1]);
    let tokens = Some(vec![RouteKey::Int(7), RouteKey::Int(9)]);
    assert_eq!(route_three_ways("region == 'eu' ? 9 : 8", "region string", &cols, 5, tokens), vec![1, -1, -1, -1, 1]);
    // A literal without a valid direct shard id fails only at a row that selects it.
    assert_eq!(route_three_ways("region == 'us' ? -1 : 0", "region string", &cols, 5, None), Vec::<i32>::new());
    assert_eq!(route_three_ways("region == 'xx' ? -1 : 0", "region string", &cols, 5, None), vec![0; 5]);
    // Bytes columns, and a utf8 column declared bytes.
    assert_eq!(route_three_ways("region == b'eu' ? 1 : 2", "region bytes", &cols, 5, None), vec![1, 2, 2, 2, 1]);
    // Nulls and a row that splits a character fall back and fail at the same row.
    let validity = [0b0001_1011u8];
    let cols = [Column::new(ColumnType::Utf8, 5, &data, &offs, Some(Bitmap::new(&validity, 0)), 0).unwrap()];
    assert_eq!(route_three_ways("region == 'eu' ? 0 : 1", "region string", &cols, 5, None), Vec::<i32>::new());
    let data = "aé".as_bytes().to_vec();
    let offs: Vec<u8> = [0i32, 2, 3].iter().flat_map(|o| o.to_le_bytes()).collect();
    let cols = [Column::new(ColumnType::Utf8, 2, &data, &offs, None, 0).unwrap()];
    assert_eq!(route_three_ways("region == 'a' ? 0 : 1", "region string", &cols, 2, None), Vec::<i32>::new());
}
