"""Fuzzing every function of the compiled module (tests/binding_table.py) with mutated arguments: wrong dtypes,
Fortran/strided/negative-stride/unaligned layouts, read-only arrays, zero-size and huge dimensions, huge
integers, NaN/Inf, aliased and overlapping outputs, None/scalars/lists. See fuzzing.py for the rules."""
from hypothesis import given, strategies as st

import binding_calls
import fuzzing


@fuzzing.fuzz_settings(share=0.55)
@given(st.lists(fuzzing.binding_recipes(), min_size=fuzzing.BATCH, max_size=fuzzing.BATCH))
def test_fuzz_compiled_module(fork_server, recipes):
    failures = fuzzing.run_batch(fork_server, "binding_calls", recipes, binding_calls.CLEAN_ERRORS)
    assert not failures, "\n".join(failures)
