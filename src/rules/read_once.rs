//! Each field read once per request: the rules of a set (and its index) read
//! a request through a per-request memo, so a field that many rules test is
//! computed by the request once, whatever the number of rules.
//!
//! A request whose values are already computed into a table
//! ([`Request::precomputed`], as for `Context` and `HttpRequest`) is read
//! directly: its table is the memo. The memo lives on the stack and holds
//! [`SLOTS`] fields, chosen at compile time as the ones most rules read; the
//! rest (sets reading more fields than that) are read as usual.

use crate::context::Request;
use crate::program::Program;
use crate::types::FieldId;
use crate::types::{Scalar, Seq, Val};
use std::borrow::Cow;
use std::cell::{Cell, OnceCell};

/// Fields a request's memo holds.
pub(crate) const SLOTS: usize = 24;

/// Which memo slot each field has: built once per compiled set.
#[derive(Debug, Clone, Default)]
pub(crate) struct FieldSlots {
    /// By field index: slot + 1, or 0 for a field without one.
    slot_of: Box<[u8]>,
}

impl FieldSlots {
    /// Slots for the fields the most programs read (ties: lower id first).
    pub(crate) fn assign(programs: &[Option<&Program>]) -> FieldSlots {
        let mut readers: Vec<(usize, FieldId)> = Vec::new();
        // By field index: how many programs read it, and its id.
        let mut count = Vec::<(usize, FieldId)>::new();
        for p in programs.iter().flatten() {
            for &f in p.fields().iter() {
                if count.len() <= f.index() {
                    count.resize(f.index() + 1, (0, f));
                }
                count[f.index()] = (count[f.index()].0 + 1, f);
            }
        }
        for &(n, f) in &count {
            if n > 0 {
                readers.push((n, f));
            }
        }
        readers.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.0.cmp(&b.1.0)));
        let mut slot_of = vec![0u8; count.len()];
        for (slot, (_, f)) in readers.iter().take(SLOTS).enumerate() {
            slot_of[f.index()] = slot as u8 + 1;
        }
        FieldSlots {
            slot_of: slot_of.into_boxed_slice(),
        }
    }

    fn slot(&self, id: FieldId) -> Option<usize> {
        match self.slot_of.get(id.index()) {
            Some(&s) if s > 0 => Some(usize::from(s) - 1),
            _ => None,
        }
    }
}

/// A request read through the memo: the first read of a field asks the
/// request, later ones answer from the memo.
pub(crate) struct ReadOnce<'r, R: ?Sized> {
    req: &'r R,
    slots: &'r FieldSlots,
    scalars: [Cell<Option<Scalar<'r>>>; SLOTS],
    values: [OnceCell<Val<'r>>; SLOTS],
}

impl<'r, R: Request + ?Sized> ReadOnce<'r, R> {
    /// An empty memo over `req`.
    pub(crate) fn new(req: &'r R, slots: &'r FieldSlots) -> Self {
        ReadOnce {
            req,
            slots,
            scalars: [const { Cell::new(None) }; SLOTS],
            values: [const { OnceCell::new() }; SLOTS],
        }
    }
}

impl<R: Request + ?Sized> Request for ReadOnce<'_, R> {
    fn get(&self, id: FieldId) -> Val<'_> {
        match self.slots.slot(id).and_then(|k| self.values.get(k)) {
            Some(cell) => reborrow(cell.get_or_init(|| self.req.get(id))),
            None => self.req.get(id),
        }
    }

    #[inline]
    fn scalar(&self, id: FieldId) -> Scalar<'_> {
        let Some(cell) = self.slots.slot(id).and_then(|k| self.scalars.get(k)) else {
            return self.req.scalar(id);
        };
        if let Some(s) = cell.get() {
            return s;
        }
        let s = self.req.scalar(id);
        cell.set(Some(s));
        s
    }
}

/// A view of a remembered value that borrows from the memo (a computed
/// array's elements are copied: only `get`s that computed one pay for it).
fn reborrow<'a>(v: &'a Val<'_>) -> Val<'a> {
    match v {
        Val::Missing => Val::Missing,
        Val::Bool(b) => Val::Bool(*b),
        Val::Int(n) => Val::Int(*n),
        Val::Bytes(b) => Val::Bytes(Cow::Borrowed(b)),
        Val::Ip(ip) => Val::Ip(*ip),
        Val::Array(Seq::Values(a)) => Val::Array(Seq::Values(a)),
        Val::Array(Seq::Vals(a)) => Val::Array(Seq::Vals(a.iter().map(reborrow).collect())),
        Val::Map(m) => Val::Map(m),
    }
}
