//! Property: printing any AST the parser can produce and parsing the text
//! gives the same tree back (spans aside), and printing is stable.

use portcullis::syntax::{
    Arg, Call, CompareOp, Expr, Index, Literal, LogicalOp, Name, Rhs, Span, Value, ValueBase,
    normalize,
};
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fn name(n: &str) -> Name {
    Name {
        name: n.to_string().into(),
        span: Span::default(),
    }
}

/// IPv4 whose first octet is >= 100, so its text never reads as hex bytes.
fn ipv4() -> impl Strategy<Value = IpAddr> {
    (100u8..=255, any::<u8>(), any::<u8>(), any::<u8>())
        .prop_map(|(a, b, c, d)| IpAddr::V4(Ipv4Addr::new(a, b, c, d)))
}

/// IPv6 whose first group is >= 0x100 (never 8 groups of one byte), or an IPv4-mapped one.
fn ipv6() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        (0x100u16.., any::<[u16; 7]>()).prop_map(|(a, r)| IpAddr::V6(Ipv6Addr::new(
            a, r[0], r[1], r[2], r[3], r[4], r[5], r[6]
        ))),
        ipv4().prop_map(|ip| match ip {
            IpAddr::V4(v4) => IpAddr::V6(v4.to_ipv6_mapped()),
            other => other,
        }),
    ]
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![ipv4(), ipv6()]
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        any::<i64>().prop_map(Literal::Int),
        (any::<i64>(), any::<i64>()).prop_map(|(a, b)| Literal::IntRange(a, b)),
        proptest::collection::vec(any::<u8>(), 0..12).prop_map(|b| Literal::Bytes(b.into())),
        ip().prop_map(Literal::Ip),
        // Dotted quads of two-digit octets also read as hex bytes.
        proptest::array::uniform4(10u8..=99).prop_map(|o| {
            let bytes: Vec<u8> = o
                .iter()
                .map(|d| u8::from_str_radix(&d.to_string(), 16).unwrap())
                .collect();
            Literal::IpOrBytes(IpAddr::V4(Ipv4Addr::from(o)), bytes.into())
        }),
        (ipv4(), 0u8..=32).prop_map(|(ip, n)| Literal::Cidr(ip, n)),
        (ipv6(), 0u8..=128).prop_map(|(ip, n)| Literal::Cidr(ip, n)),
        (ipv4(), ipv4()).prop_map(|(a, b)| Literal::IpRange(a, b)),
    ]
}

fn field() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "http.host",
        "ssl",
        "ip.src",
        "tcp.dstport",
        "http.request.headers",
        "a.b_c",
        "_x",
        "notes.count",
        "android",
    ])
    .prop_map(str::to_string)
}

fn index() -> impl Strategy<Value = Index> {
    prop_oneof![
        any::<u32>().prop_map(|n| Index::Position(n, Span::default())),
        proptest::collection::vec(any::<u8>(), 0..6).prop_map(|k| Index::Key(k, Span::default())),
        Just(Index::Star(Span::default())),
    ]
}

fn value(expr: BoxedStrategy<Expr>) -> impl Strategy<Value = Value> {
    let arg = prop_oneof![
        literal().prop_map(|l| Arg::Literal(l, Span::default())),
        expr.prop_map(Arg::Expr),
    ];
    let base = prop_oneof![
        field().prop_map(|f| ValueBase::Field(name(&f))),
        (
            prop::sample::select(vec!["lower", "len", "any", "concat", "f_1"]),
            proptest::collection::vec(arg, 0..3)
        )
            .prop_map(|(f, args)| ValueBase::Call(Box::new(Call {
                name: name(f),
                args,
                span: Span::default()
            }))),
    ];
    (base, proptest::collection::vec(index(), 0..3)).prop_map(|(base, indexes)| Value {
        base,
        indexes,
        span: Span::default(),
    })
}

fn leaf_value() -> impl Strategy<Value = Value> {
    (field(), proptest::collection::vec(index(), 0..2)).prop_map(|(f, indexes)| Value {
        base: ValueBase::Field(name(&f)),
        indexes,
        span: Span::default(),
    })
}

fn op() -> impl Strategy<Value = CompareOp> {
    use CompareOp::*;
    prop::sample::select(vec![
        Eq,
        Ne,
        Lt,
        Le,
        Gt,
        Ge,
        Contains,
        Matches,
        Wildcard,
        StrictWildcard,
        In,
        BitwiseAnd,
    ])
}

fn compare(
    lhs: Value,
    op: CompareOp,
    v: Value,
    lit: Literal,
    set: Vec<Literal>,
    pattern: String,
    pick: u8,
) -> Expr {
    let rhs = match op {
        CompareOp::In if pick % 2 == 0 => Rhs::List(name("office_net")),
        CompareOp::In => Rhs::Set(
            set.into_iter().map(|l| (l, Span::default())).collect(),
            Span::default(),
        ),
        CompareOp::Matches => Rhs::Regex(pattern, Span::default()),
        _ if pick % 2 == 0 => Rhs::Value(Box::new(v)),
        _ => Rhs::Literal(lit, Span::default()),
    };
    Expr::Compare {
        lhs,
        op,
        rhs,
        span: Span::default(),
    }
}

fn expr() -> BoxedStrategy<Expr> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(|value| Expr::Const {
            value,
            span: Span::default()
        }),
        leaf_value().prop_map(|value| Expr::Test { value }),
        (
            leaf_value(),
            op(),
            leaf_value(),
            literal(),
            proptest::collection::vec(literal(), 0..4),
            "[ -~]{0,10}",
            any::<u8>()
        )
            .prop_map(|(l, o, v, lit, set, p, pick)| compare(l, o, v, lit, set, p, pick)),
    ];
    leaf.prop_recursive(4, 40, 4, |inner| {
        prop_oneof![
            (
                prop::sample::select(vec![LogicalOp::And, LogicalOp::Or, LogicalOp::Xor]),
                proptest::collection::vec(inner.clone(), 2..4)
            )
                .prop_map(|(op, terms)| Expr::Logical {
                    op,
                    terms,
                    span: Span::default()
                }),
            inner.clone().prop_map(|e| Expr::Not {
                expr: Box::new(e),
                span: Span::default()
            }),
            inner.clone().prop_map(|e| Expr::Paren {
                expr: Box::new(e),
                span: Span::default()
            }),
            value(inner.clone()).prop_map(|value| Expr::Test { value }),
            (
                value(inner.clone()),
                op(),
                value(inner),
                literal(),
                proptest::collection::vec(literal(), 0..3),
                "[ -~]{0,6}",
                any::<u8>()
            )
                .prop_map(|(l, o, v, lit, set, p, pick)| compare(l, o, v, lit, set, p, pick)),
        ]
    })
    .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn print_then_parse_gives_the_same_tree(e in expr()) {
        let e = normalize(e);
        let text = e.to_string();
        let limits = portcullis::Limits { max_length: 1 << 20, ..Default::default() };
        let back = portcullis::parse_with(&text, &limits);
        prop_assert!(back.is_ok(), "`{}` does not parse: {:?}", text, back.err());
        let back = back.unwrap();
        prop_assert!(back.same_shape(&e), "`{}` parses to a different tree:\n{:?}\nvs\n{:?}", text, back, e);
        prop_assert_eq!(back.to_string(), text);
    }

    #[test]
    fn json_round_trip_keeps_the_tree(e in expr()) {
        let e = normalize(e);
        let json = serde_json::to_string(&e).unwrap();
        let back: Expr = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, e);
    }
}
