//! The set of fields a program reads, sorted and each once. Most programs
//! read a handful, held inline: compiling one allocates nothing for them.

use crate::types::FieldId;
use std::ops::Deref;

/// How many field ids a [`FieldList`] holds without allocating.
const INLINE: usize = 4;

/// Field ids, sorted ascending, without duplicates. Derefs to a slice.
#[derive(Clone)]
pub struct FieldList(Repr);

#[derive(Clone)]
enum Repr {
    /// The length is a word of its own, so that the ids start aligned
    /// (a byte length packed them at an odd offset, and building a list
    /// stalled on the unaligned stores).
    Inline(u32, [FieldId; INLINE]),
    Heap(Vec<FieldId>),
}

impl Default for FieldList {
    fn default() -> Self {
        FieldList(Repr::Inline(0, [FieldId(0); INLINE]))
    }
}

impl FieldList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `id` in its sorted place, unless it is there already.
    pub fn insert(&mut self, id: FieldId) {
        let Err(at) = self.binary_search(&id) else {
            return;
        };
        match &mut self.0 {
            Repr::Inline(len, ids) if (*len as usize) < INLINE => {
                let n = *len as usize;
                // Most ids go last (a first id always does): no move, and
                // no call to move nothing.
                if at < n {
                    ids.copy_within(at..n, at + 1);
                }
                ids[at] = id;
                *len += 1;
            }
            Repr::Inline(_, ids) => {
                let mut heap = Vec::with_capacity(2 * INLINE);
                heap.extend_from_slice(ids);
                heap.insert(at, id);
                self.0 = Repr::Heap(heap);
            }
            Repr::Heap(ids) => ids.insert(at, id),
        }
    }
}

impl Deref for FieldList {
    type Target = [FieldId];
    fn deref(&self) -> &[FieldId] {
        match &self.0 {
            Repr::Inline(len, ids) => &ids[..(*len as usize).min(INLINE)],
            Repr::Heap(ids) => ids,
        }
    }
}

impl std::fmt::Debug for FieldList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl FromIterator<FieldId> for FieldList {
    fn from_iter<I: IntoIterator<Item = FieldId>>(iter: I) -> Self {
        let mut list = FieldList::new();
        for id in iter {
            list.insert(id);
        }
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the order and repeats of insertion, the list is the
        /// sorted set of what went in, inline or spilled.
        #[test]
        fn holds_the_sorted_set_of_what_went_in(ids in proptest::collection::vec(0u32..12, 0..20)) {
            let list: FieldList = ids.iter().map(|&k| FieldId(k)).collect();
            let mut want: Vec<FieldId> = ids.iter().map(|&k| FieldId(k)).collect();
            want.sort_unstable();
            want.dedup();
            prop_assert_eq!(&*list, &want[..]);
        }
    }

    #[test]
    fn a_few_fields_stay_inline() {
        let list: FieldList = [3, 1, 3, 2].into_iter().map(FieldId).collect();
        assert!(matches!(list.0, Repr::Inline(3, _)));
        let list: FieldList = (0..5).map(FieldId).collect();
        assert!(matches!(list.0, Repr::Heap(_)));
    }
}
