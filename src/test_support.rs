//! Hooks for the project's own tests, benchmarks and fuzz targets, which
//! compare the engine's paths with each other. Not part of the API: hidden
//! from the docs and free to change.

use crate::context::Request;
use crate::filter::{Checked, Filter};
use crate::lists::Lists;

/// The tree-walking reference evaluator's answer for `checked` (the oracle
/// the VM is tested against).
pub fn reference_matches<R: Request + ?Sized>(
    checked: &Checked,
    request: &R,
    lists: &Lists,
) -> bool {
    crate::reference::evaluate(&checked.typed, request, lists, &checked.limits)
}

/// Runs `filter`'s instructions, ignoring its branch form: `false` for a
/// filter without instructions (compile with
/// [`keep_instructions`](crate::Compiler::keep_instructions) to keep them).
pub fn run_instructions<R: Request + ?Sized>(filter: &Filter, request: &R) -> bool {
    crate::vm::execute_instructions(filter.program(), request)
}

/// Whether `filter` runs as its branch form.
pub fn runs_as_branches(filter: &Filter) -> bool {
    filter.program().simple
}

/// How many instructions `filter` keeps.
pub fn instruction_count(filter: &Filter) -> usize {
    filter.program().code().len()
}
