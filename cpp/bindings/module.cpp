// eigengrad._C_<level>: one bind_<area>() per kernel area.
#include <pybind11/pybind11.h>

namespace py = pybind11;

namespace eigengrad::bindings {
void bind_config(py::module_& m);
void bind_gemm(py::module_& m);
void bind_activation(py::module_& m);
void bind_loss(py::module_& m);
void bind_loss_reduce(py::module_& m);
void bind_optim(py::module_& m);
void bind_random(py::module_& m);
void bind_augment(py::module_& m);
void bind_clip(py::module_& m);
void bind_dropout(py::module_& m);
void bind_activation_ext(py::module_& m);
void bind_norm(py::module_& m);
void bind_rnn(py::module_& m);
void bind_conv(py::module_& m);
void bind_pool(py::module_& m);
void bind_finite(py::module_& m);
void bind_reduce(py::module_& m);
void bind_index(py::module_& m);
void bind_sort(py::module_& m);
void bind_embedding(py::module_& m);
void bind_upsample(py::module_& m);
void bind_attention(py::module_& m);
void bind_erf(py::module_& m);
void bind_plan(py::module_& m);
void bind_guard(py::module_& m);
void bind_copy(py::module_& m);
void register_error_translators();
}  // namespace eigengrad::bindings

// EIGENGRAD_MODULE_NAME is _C_<level>: one module per instruction-set level (cpp/cmake/isa.cmake).
PYBIND11_MODULE(EIGENGRAD_MODULE_NAME, m) {
  m.doc() = "eigengrad's compiled kernels (C++17, Eigen, OpenMP). Called only through eigengrad._kernels.";
  using namespace eigengrad::bindings;
  register_error_translators();
  bind_config(m);
  bind_gemm(m);
  bind_activation(m);
  bind_loss(m);
  bind_loss_reduce(m);
  bind_optim(m);
  bind_random(m);
  bind_augment(m);
  bind_clip(m);
  bind_dropout(m);
  bind_activation_ext(m);
  bind_norm(m);
  bind_rnn(m);
  bind_conv(m);
  bind_pool(m);
  bind_finite(m);
  bind_copy(m);
  bind_reduce(m);
  bind_index(m);
  bind_sort(m);
  bind_embedding(m);
  bind_upsample(m);
  bind_attention(m);
  bind_erf(m);
  bind_guard(m);
  bind_plan(m);  // last: the capturable set is complete
}
