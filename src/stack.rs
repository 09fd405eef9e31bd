//! Stack safety for the stages that recurse over the tree (parse, check,
//! compile, print, the reference evaluator): before each level they make sure
//! enough stack is left, growing it on the heap when it is not. Together with
//! [`HARD_MAX_DEPTH`](crate::limits::HARD_MAX_DEPTH) this means no input can
//! overflow the stack, on whatever thread the embedder calls from.

/// Stack kept free before recursing one more level.
const RED_ZONE: usize = 128 * 1024;
/// Size of each extra stack segment.
const SEGMENT: usize = 2 * 1024 * 1024;

/// Runs `f`, first growing the stack if less than the red zone is left.
#[inline]
pub(crate) fn guard<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(RED_ZONE, SEGMENT, f)
}
