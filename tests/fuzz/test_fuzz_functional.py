"""Fuzzing the public functional ops (nn.functional and the tensor functions; tests/functional_table.py) with
mutated arguments: tensors of other dtypes, layouts (shared as they are through from_numpy), read-only or
non-finite values, zero-size and huge dimensions, huge integers, None/scalars/lists/raw arrays. Results are
run backward when they require grad. See fuzzing.py for the rules."""
from hypothesis import given, strategies as st

import functional_calls
import fuzzing


@fuzzing.fuzz_settings(share=0.45)
@given(st.lists(fuzzing.op_recipes(), min_size=fuzzing.BATCH, max_size=fuzzing.BATCH))
def test_fuzz_functional_ops(fork_server, recipes):
    failures = fuzzing.run_batch(fork_server, "functional_calls", recipes, functional_calls.CLEAN_ERRORS)
    assert not failures, "\n".join(failures)
