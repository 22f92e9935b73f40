"""``torch._inductor.config``: the knobs of PyTorch's Inductor compiler that scripts set (gpt-fast's
``coordinate_descent_tuning = True``, ``triton.unique_kernel_names``, ``fx_graph_cache``, ...). They are plain
attributes here, with PyTorch's defaults, readable and settable; none changes what ``eg.compile`` does."""
from types import SimpleNamespace

coordinate_descent_tuning = False
coordinate_descent_check_all_directions = False
epilogue_fusion = True
max_autotune = False
max_autotune_gemm = False
max_autotune_pointwise = False
freezing = False
fx_graph_cache = True
force_fuse_int_mm_with_mul = False
use_mixed_mm = True
debug = False
triton = SimpleNamespace(unique_kernel_names=True, cudagraphs=False, cudagraph_trees=True,
                         descriptive_names="original_aten")
cpp = SimpleNamespace(threads=-1, simdlen=None, enable_kernel_profile=False, weight_prepack=True)
