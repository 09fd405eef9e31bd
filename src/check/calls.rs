//! Signatures of function calls: arity, argument types, literal-only
//! parameters, and the result type.

use super::{Checker, Const, Operand, TVal};
use crate::error::Error;
use crate::functions::{Builtin, Callee};
use crate::syntax::{self, Literal};
use crate::types::Type;
use crate::types::canonical_ip;

impl Checker<'_> {
    /// Checks the arguments of a call (already checked one by one) and returns
    /// the result type. Literal arguments are converted to the parameter type.
    pub(super) fn check_call(
        &mut self,
        callee: &Callee,
        args: &mut [TVal],
        call: &syntax::Call,
    ) -> Result<Type, Error> {
        let name = callee.name().to_string();
        let sig = Sig { name: &name, call };
        let b = match callee {
            Callee::User(u) => {
                sig.arity(args, u.params.len() - u.optional, u.params.len())?;
                for (a, p) in args.iter_mut().zip(&u.params) {
                    sig.expect(a, p)?;
                }
                return Ok(u.returns.clone());
            }
            Callee::Builtin(b) => *b,
        };
        use Builtin::*;
        match b {
            Any | All => {
                sig.arity(args, 1, 1)?;
                sig.expect(&mut args[0], &Type::array(Type::Bool))?;
                Ok(Type::Bool)
            }
            Lower | Upper => {
                sig.arity(args, 1, 1)?;
                sig.expect(&mut args[0], &Type::Bytes)?;
                Ok(Type::Bytes)
            }
            Len => {
                sig.arity(args, 1, 1)?;
                match args[0].ty {
                    Type::Bytes | Type::Array(_) | Type::Map(_) => Ok(Type::Int),
                    ref t => Err(sig.wrong(&args[0], 1, "a String, an Array or a Map", t)),
                }
            }
            StartsWith | EndsWith => {
                sig.arity(args, 2, 2)?;
                sig.expect(&mut args[0], &Type::Bytes)?;
                sig.literal_bytes(&mut args[1], 2)?;
                Ok(Type::Bool)
            }
            Concat => {
                sig.arity(args, 1, usize::MAX)?;
                let first = args[0].ty.clone();
                if !matches!(first, Type::Bytes | Type::Array(_)) {
                    return Err(sig.wrong(&args[0], 1, "a String or an Array", &first));
                }
                for a in args.iter_mut().skip(1) {
                    sig.expect(a, &first)?;
                }
                Ok(first)
            }
            Substring => {
                sig.arity(args, 2, 3)?;
                sig.expect(&mut args[0], &Type::Bytes)?;
                for a in args.iter_mut().skip(1) {
                    sig.expect(a, &Type::Int)?;
                }
                Ok(Type::Bytes)
            }
            UrlDecode => {
                sig.arity(args, 1, 2)?;
                sig.expect(&mut args[0], &Type::Bytes)?;
                if let Some(opt) = args.get_mut(1) {
                    let flags = sig.literal_bytes(opt, 2)?;
                    if flags.is_empty() || !flags.iter().all(|c| matches!(c, b'r' | b'u')) {
                        return Err(Error::check(
                            "the options of url_decode are \"r\" (recursive), \"u\" (%uXXXX) or both (\"ur\")",
                            opt.span,
                        ));
                    }
                }
                Ok(Type::Bytes)
            }
            ToString => {
                sig.arity(args, 1, 1)?;
                match args[0].ty {
                    Type::Int | Type::Bool | Type::Ip => Ok(Type::Bytes),
                    ref t => Err(sig.wrong(&args[0], 1, "an Int, a Bool or an Ip", t)),
                }
            }
            LookupJsonString | LookupJsonInteger => {
                sig.arity(args, 2, usize::MAX)?;
                sig.expect(&mut args[0], &Type::Bytes)?;
                for (k, a) in args.iter_mut().enumerate().skip(1) {
                    match a.literal.as_deref() {
                        Some(Literal::Bytes(_)) | Some(Literal::IpOrBytes(..)) => {}
                        Some(Literal::Int(n)) if *n >= 0 => {}
                        _ => {
                            return Err(Error::check(
                                format!(
                                    "argument {} of `{name}` must be a literal object key (\"name\") or array index (0, 1, ...)",
                                    k + 1
                                ),
                                a.span,
                            ));
                        }
                    }
                }
                Ok(if b == LookupJsonString {
                    Type::Bytes
                } else {
                    Type::Int
                })
            }
            HasKey => {
                sig.arity(args, 2, 2)?;
                if !matches!(args[0].ty, Type::Map(_)) {
                    let t = args[0].ty.clone();
                    return Err(sig.wrong(&args[0], 1, "a Map", &t));
                }
                sig.expect(&mut args[1], &Type::Bytes)?;
                Ok(Type::Bool)
            }
            HasValue => {
                sig.arity(args, 2, 2)?;
                let Some(elem) = args[0].ty.element().cloned() else {
                    let t = args[0].ty.clone();
                    return Err(sig.wrong(&args[0], 1, "an Array or a Map", &t));
                };
                // `has_value(headers, "x")` on Map<Array<String>> looks inside the arrays.
                let want = match &elem {
                    Type::Array(inner) if args[1].ty != elem => (**inner).clone(),
                    _ => elem,
                };
                sig.expect(&mut args[1], &want)?;
                Ok(Type::Bool)
            }
            Split => {
                sig.arity(args, 2, 3)?;
                sig.expect(&mut args[0], &Type::Bytes)?;
                let sep = sig.literal_bytes(&mut args[1], 2)?;
                if sep.is_empty() {
                    return Err(Error::check(
                        "the separator of split must not be empty",
                        args[1].span,
                    ));
                }
                if let Some(limit) = args.get_mut(2) {
                    match limit.literal.as_deref() {
                        Some(Literal::Int(n)) if (1..=128).contains(n) => {}
                        _ => {
                            return Err(Error::check(
                                "the limit of split must be a literal integer from 1 to 128",
                                limit.span,
                            ));
                        }
                    }
                }
                Ok(Type::array(Type::Bytes))
            }
            Join => {
                sig.arity(args, 2, 2)?;
                sig.expect(&mut args[0], &Type::array(Type::Bytes))?;
                sig.expect(&mut args[1], &Type::Bytes)?;
                Ok(Type::Bytes)
            }
            Sha256 => {
                sig.arity(args, 1, 1)?;
                sig.expect(&mut args[0], &Type::Bytes)?;
                Ok(Type::Bytes)
            }
            RemoveQueryArgs => {
                sig.arity(args, 2, usize::MAX)?;
                sig.expect(&mut args[0], &Type::Bytes)?;
                for (k, a) in args.iter_mut().enumerate().skip(1) {
                    if sig.literal_bytes(a, k + 1)?.is_empty() {
                        return Err(Error::check(
                            "the argument names of remove_query_args must not be empty",
                            a.span,
                        ));
                    }
                }
                Ok(Type::Bytes)
            }
            IsTimedHmacValidV0 => {
                sig.arity(args, 4, 6)?;
                if sig.literal_bytes(&mut args[0], 1)?.is_empty() {
                    return Err(Error::check(
                        "the key of is_timed_hmac_valid_v0 must not be empty",
                        args[0].span,
                    ));
                }
                sig.expect(&mut args[1], &Type::Bytes)?;
                for k in [2, 4] {
                    let Some(a) = args.get(k) else { continue };
                    match a.literal.as_deref() {
                        Some(Literal::Int(n)) if *n >= 0 => {}
                        _ => {
                            return Err(Error::check(
                                format!(
                                    "argument {} of is_timed_hmac_valid_v0 ({}) must be a literal integer of at least 0",
                                    k + 1,
                                    if k == 2 {
                                        "the time to live, in seconds"
                                    } else {
                                        "the separator's length"
                                    }
                                ),
                                a.span,
                            ));
                        }
                    }
                }
                sig.expect(&mut args[3], &Type::Int)?;
                if let Some(flags) = args.get_mut(5) {
                    let f = sig.literal_bytes(flags, 6)?;
                    if !f.iter().all(|&c| c == b's') {
                        return Err(Error::check(
                            "the only flag of is_timed_hmac_valid_v0 is \"s\" (the MAC is URL-safe base64)",
                            flags.span,
                        ));
                    }
                }
                Ok(Type::Bool)
            }
            RemoveBytes => {
                sig.arity(args, 2, 2)?;
                sig.expect(&mut args[0], &Type::Bytes)?;
                sig.expect(&mut args[1], &Type::Bytes)?;
                Ok(Type::Bytes)
            }
            RegexReplace => {
                sig.arity(args, 3, 3)?;
                sig.expect(&mut args[0], &Type::Bytes)?;
                let pattern = sig.literal_bytes(&mut args[1], 2)?;
                let Ok(pattern) = String::from_utf8(pattern) else {
                    return Err(Error::check(
                        "the regex of regex_replace must be valid UTF-8",
                        args[1].span,
                    ));
                };
                self.regex(&pattern, args[1].span)?;
                let repl = sig.literal_bytes(&mut args[2], 3)?;
                validate_replacement(&repl).map_err(|m| Error::check(m, args[2].span))?;
                Ok(Type::Bytes)
            }
            WildcardReplace => {
                sig.arity(args, 3, 4)?;
                sig.expect(&mut args[0], &Type::Bytes)?;
                let pattern = sig.literal_bytes(&mut args[1], 2)?;
                super::validate_wildcard(&pattern, args[1].span)?;
                let repl = sig.literal_bytes(&mut args[2], 3)?;
                validate_replacement(&repl).map_err(|m| Error::check(m, args[2].span))?;
                if let Some(flags) = args.get_mut(3) {
                    let f = sig.literal_bytes(flags, 4)?;
                    if f != b"s" {
                        return Err(Error::check(
                            "the only flag of wildcard_replace is \"s\" (case-sensitive)",
                            flags.span,
                        ));
                    }
                }
                Ok(Type::Bytes)
            }
            Cidr | Cidr6 => {
                let n = if b == Cidr { 3 } else { 2 };
                sig.arity(args, n, n)?;
                sig.expect(&mut args[0], &Type::Ip)?;
                let maxes: &[i64] = if b == Cidr { &[32, 128] } else { &[128] };
                for (a, max) in args.iter_mut().skip(1).zip(maxes) {
                    sig.expect(a, &Type::Int)?;
                    if let Some(Literal::Int(v)) = a.literal.as_deref()
                        && !(1..=*max).contains(v)
                    {
                        return Err(Error::check(
                            format!("prefix length {v} is out of range (1 to {max})"),
                            a.span,
                        ));
                    }
                }
                Ok(Type::Ip)
            }
            DecodeBase64 | EncodeBase64 => {
                sig.arity(args, 1, 2)?;
                sig.expect(&mut args[0], &Type::Bytes)?;
                if let Some(flags) = args.get_mut(1) {
                    let f = sig.literal_bytes(flags, 2)?;
                    if !f.iter().all(|c| matches!(c, b'u' | b'p')) {
                        return Err(Error::check(
                            "the flags of base64 functions are \"u\" (URL-safe alphabet) and \"p\" (padding; unpadded without it)",
                            flags.span,
                        ));
                    }
                }
                Ok(Type::Bytes)
            }
            Coalesce => {
                sig.arity(args, 1, usize::MAX)?;
                let first = args
                    .iter()
                    .find(|a| a.literal.is_none())
                    .unwrap_or(&args[0])
                    .ty
                    .clone();
                for a in args.iter_mut() {
                    sig.expect(a, &first)?;
                }
                Ok(first)
            }
        }
    }
}

struct Sig<'a> {
    name: &'a str,
    call: &'a syntax::Call,
}

impl Sig<'_> {
    fn arity(&self, args: &[TVal], min: usize, max: usize) -> Result<(), Error> {
        let n = args.len();
        if n >= min && n <= max {
            return Ok(());
        }
        let want = if min == max {
            format!("{min} argument{}", if min == 1 { "" } else { "s" })
        } else if max == usize::MAX {
            format!("at least {min} argument{}", if min == 1 { "" } else { "s" })
        } else {
            format!("{min} to {max} arguments")
        };
        Err(Error::check(
            format!(
                "`{}` takes {want}, but {n} {} given",
                self.name,
                if n == 1 { "was" } else { "were" }
            ),
            self.call.span,
        ))
    }

    fn wrong(&self, a: &TVal, position: usize, want: &str, got: &Type) -> Error {
        Error::check(
            format!(
                "argument {position} of `{}` must be {want}, but `{}` is {}",
                self.name,
                a.text,
                super::a_type(got)
            ),
            a.span,
        )
    }

    /// Requires `a` to have type `want`, converting a literal where it can.
    fn expect(&self, a: &mut TVal, want: &Type) -> Result<(), Error> {
        if let Some(Literal::IpOrBytes(ip, _)) = a.literal.as_deref()
            && *want == Type::Ip
        {
            a.op = Operand::Const(Const::Ip(canonical_ip(*ip)));
            a.ty = Type::Ip;
        }
        if a.ty == *want {
            return Ok(());
        }
        let position = self.position(a);
        Err(self.wrong(a, position, &super::a_type(want), &a.ty))
    }

    /// Requires a literal string and returns its bytes.
    fn literal_bytes(&self, a: &mut TVal, position: usize) -> Result<Vec<u8>, Error> {
        match a.literal.as_deref() {
            Some(Literal::Bytes(b)) | Some(Literal::IpOrBytes(_, b)) => Ok(b.to_vec()),
            _ => Err(Error::check(
                format!(
                    "argument {position} of `{}` must be a literal string",
                    self.name
                ),
                a.span,
            )),
        }
    }

    fn position(&self, a: &TVal) -> usize {
        self.call
            .args
            .iter()
            .position(|x| match x {
                syntax::Arg::Literal(_, s) | syntax::Arg::Regex(_, s) => *s == a.span,
                syntax::Arg::Expr(e) => e.span() == a.span,
            })
            .map_or(0, |k| k + 1)
    }
}

/// `${1}` to `${8}` and `$$`; any other `$` is an error.
fn validate_replacement(r: &[u8]) -> Result<(), String> {
    let mut k = 0;
    while k < r.len() {
        if r[k] == b'$' {
            match r.get(k + 1) {
                Some(b'$') => k += 2,
                Some(b'{') => {
                    let end = r[k..].iter().position(|&c| c == b'}').map(|e| k + e);
                    let ok = end.is_some_and(|e| {
                        let digits = &r[k + 2..e];
                        digits.len() == 1 && (b'0'..=b'8').contains(&digits[0])
                    });
                    if !ok {
                        return Err("a replacement may refer to groups as `${0}` to `${8}`; write `$$` for a literal `$`".to_string());
                    }
                    k = end.unwrap_or(r.len()) + 1;
                }
                _ => return Err("a replacement may refer to groups as `${0}` to `${8}`; write `$$` for a literal `$`".to_string()),
            }
        } else {
            k += 1;
        }
    }
    Ok(())
}
