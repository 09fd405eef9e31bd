//! The instruction listing (`portcullis disasm`): one instruction a line, with
//! fields by name, constants and matchers spelled out, registers as `rN`.

use super::branch::{Next, TestKind, VERDICT_FALSE, VERDICT_TRUE};
use super::{Instr, LoopKind, Program, Src};
use crate::check::Key;
use crate::functions::eval::Prepared;
use crate::syntax::QuotedBytes;
use crate::types::Val;
use std::fmt::{self, Display, Formatter};

struct ShowSrc<'p>(&'p Program, Src);

impl Display for ShowSrc<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let p = self.0;
        match self.1 {
            Src::Field(id) => match p.field_names.get(id.index()) {
                Some(n) => f.write_str(n),
                None => write!(f, "field#{}", id.0),
            },
            Src::Reg(r) => write!(f, "r{r}"),
            Src::Const(c) => match p.bytecode().consts.get(c as usize) {
                Some(v) => write!(f, "{}", ShowVal(v)),
                None => write!(f, "const#{c}"),
            },
            Src::Elem(r) => write!(f, "elem(r{r})"),
            Src::Path(k) => match p.bytecode().paths.get(k as usize) {
                Some(path) => {
                    write!(f, "{}", ShowSrc(p, path.root))?;
                    for key in path.keys.iter() {
                        match key {
                            Key::Position(n) => write!(f, "[{n}]")?,
                            Key::Name(s) => write!(f, "[{}]", QuotedBytes(s))?,
                        }
                    }
                    Ok(())
                }
                None => write!(f, "path#{k}"),
            },
        }
    }
}

struct ShowVal<'v, 'a>(&'v Val<'a>);

impl Display for ShowVal<'_, '_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            Val::Missing => f.write_str("missing"),
            Val::Bool(b) => write!(f, "{b}"),
            Val::Int(n) => write!(f, "{n}"),
            Val::Bytes(b) => write!(f, "{}", QuotedBytes(b)),
            Val::Ip(ip) => write!(f, "{ip}"),
            Val::Array(s) => write!(f, "array({})", s.len()),
            Val::Map(m) => write!(f, "map({})", m.len()),
        }
    }
}

fn kind(k: LoopKind) -> &'static str {
    match k {
        LoopKind::Any => "any",
        LoopKind::All => "all",
        LoopKind::Map => "map",
    }
}

/// A predicate's listing, `eq` shown as `ne` when the test inverts it.
fn invert_text(text: String, invert: bool) -> String {
    if invert {
        text.replacen("eq ", "ne ", 1)
    } else {
        text
    }
}

impl Program {
    /// A pooled predicate as listed (see [`invert_text`]; flag bit 1 inverts).
    fn pred_text(&self, pred: u32, flags: u8) -> String {
        let text = self
            .preds
            .get(pred as usize)
            .map_or_else(|| format!("pred#{pred}"), |p| format!("{p:?}"));
        invert_text(text, flags & 1 != 0)
    }
}

impl Display for Program {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (pc, ins) in self.code().iter().enumerate() {
            write!(f, "{pc:04}  ")?;
            match *ins {
                Instr::Test { src, pred, flags } => {
                    let name = if flags & 2 != 0 { "test_not" } else { "test" };
                    let pred_text = self.pred_text(pred, flags);
                    write!(f, "{name:<14}{} {pred_text}", ShowSrc(self, src))?;
                }
                Instr::TestField { field, pred, flags } => {
                    let name = if flags & 2 != 0 { "test_not" } else { "test" };
                    let pred_text = self.pred_text(pred, flags);
                    write!(
                        f,
                        "{name:<14}{} {pred_text}",
                        ShowSrc(self, Src::Field(field))
                    )?;
                }
                Instr::TestJump {
                    field,
                    pred,
                    flags,
                    target,
                } => {
                    let name = match (flags & 2 != 0, flags & 4 != 0) {
                        (false, false) => "test_jf",
                        (false, true) => "test_jt",
                        (true, false) => "test_not_jf",
                        (true, true) => "test_not_jt",
                    };
                    let pred_text = self.pred_text(pred, flags);
                    write!(
                        f,
                        "{name:<14}{} {pred_text} -> {target:04}",
                        ShowSrc(self, Src::Field(field))
                    )?;
                }
                Instr::TruthyField { field, negate } => {
                    let name = if negate { "truthy_not" } else { "truthy" };
                    write!(f, "{name:<14}{}", ShowSrc(self, Src::Field(field)))?;
                }
                Instr::Truthy { src, negate } => {
                    let name = if negate { "truthy_not" } else { "truthy" };
                    write!(f, "{name:<14}{}", ShowSrc(self, src))?;
                }
                Instr::CompareSrc { lhs, cmp, negate } => {
                    let name = if negate { "compare_not" } else { "compare" };
                    match self.bytecode().compares.get(cmp as usize) {
                        Some((op, rhs)) => write!(
                            f,
                            "{name:<14}{} {} {}",
                            ShowSrc(self, lhs),
                            op.keyword(),
                            ShowSrc(self, *rhs)
                        )?,
                        None => write!(f, "{name:<14}cmp#{cmp}")?,
                    }
                }
                Instr::Const(b) => write!(f, "{:<14}{b}", "const")?,
                Instr::JumpIfFalse(t) => write!(f, "{:<14}{t:04}", "jump_if_false")?,
                Instr::JumpIfTrue(t) => write!(f, "{:<14}{t:04}", "jump_if_true")?,
                Instr::PushAcc => write!(f, "push_acc")?,
                Instr::XorPop => write!(f, "xor_pop")?,
                Instr::Not => write!(f, "not")?,
                Instr::StoreAcc(r) => write!(f, "{:<14}r{r}", "store_acc")?,
                Instr::Call { dst, call } => match self.bytecode().calls.get(call as usize) {
                    Some(def) => {
                        write!(f, "{:<14}r{dst} = {}(", "call", def.callee.name())?;
                        for (k, a) in def.args.iter().enumerate() {
                            if k > 0 {
                                f.write_str(", ")?;
                            }
                            write!(f, "{}", ShowSrc(self, *a))?;
                        }
                        f.write_str(")")?;
                        match &def.prepared {
                            Prepared::Regex(re, _) => write!(f, "  ; regex {:?}", re.as_str())?,
                            Prepared::Wildcard(w, _) => {
                                write!(f, "  ; wildcard {}", QuotedBytes(&w.source))?
                            }
                            Prepared::None => {}
                        }
                    }
                    None => write!(f, "{:<14}r{dst} = call#{call}", "call")?,
                },
                Instr::LoopStart {
                    kind: k,
                    iter,
                    exit,
                    src,
                } => {
                    write!(
                        f,
                        "{:<14}r{iter} over {}, exit {exit:04}",
                        format!("loop_{}", kind(k)),
                        ShowSrc(self, src)
                    )?;
                }
                Instr::LoopNext {
                    kind: k,
                    iter,
                    body,
                } => {
                    write!(
                        f,
                        "{:<14}r{iter}, body {body:04}",
                        format!("next_{}", kind(k))
                    )?;
                }
                Instr::LoopTest {
                    kind: k,
                    src,
                    pred,
                    flags,
                } => {
                    let not = if flags & 2 != 0 { "_not" } else { "" };
                    write!(
                        f,
                        "{:<14}{}[*] {}",
                        format!("{}_test{not}", kind(k)),
                        ShowSrc(self, src),
                        self.pred_text(pred, flags)
                    )?;
                }
                Instr::LoopPush { iter, src } => {
                    write!(f, "{:<14}r{} <- {}", "push", iter + 2, ShowSrc(self, src))?
                }
                Instr::Return => write!(f, "return")?,
            }
            writeln!(f)?;
        }
        if self.simple {
            self.branch_listing(f)?;
        }
        Ok(())
    }
}

impl Program {
    /// The branch form the VM runs for a simple program: one test a line,
    /// with where each outcome leads.
    fn branch_listing(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let next = |t: Next| match t {
            VERDICT_TRUE => "true".to_string(),
            VERDICT_FALSE => "false".to_string(),
            b => format!("b{b:03}"),
        };
        let order = if self.chain { ", one chain" } else { "" };
        writeln!(f, "; branch form, from {}{order}", next(self.branch_start))?;
        for (k, b) in self.branches.iter().enumerate() {
            let field = ShowSrc(self, Src::Field(b.field));
            let test = if b.kind == TestKind::Truthy {
                format!("{field}")
            } else {
                // An inline constant is decoded from the step; the others are pooled.
                let pred = match super::branch::inline_pred(b) {
                    Some(inline) => invert_text(format!("{inline:?}"), b.invert),
                    None => self.pred_text(b.pred, u8::from(b.invert)),
                };
                format!("{field} {pred}")
            };
            writeln!(
                f,
                "b{k:03}  {test}  ? {} : {}",
                next(b.on_true()),
                next(b.on_false())
            )?;
        }
        Ok(())
    }
}
