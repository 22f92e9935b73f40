#include "geometry.hpp"

#include <cstdint>
#include <string>

namespace eigengrad::bindings {
namespace {

// A padded input plane may hold at most 2^48 positions: the direct convolution copies padded images,
// and (hp wp) must not overflow in any kernel's index arithmetic.
constexpr index_t kMaxPaddedPlane = index_t(1) << 48;

std::string pair_str(index_t a, index_t b) { return "(" + std::to_string(a) + ", " + std::to_string(b) + ")"; }

std::string repr_str(const py::handle& v) { return py::repr(v).cast<std::string>(); }

// An int: a Python int or anything with __index__ (NumPy integers), not a bool (as PyTorch).
bool is_int(const py::handle& v) { return PyIndex_Check(v.ptr()) && !py::isinstance<py::bool_>(v); }

// An int in [lo, kMaxWindowOption]; `whole` is the argument as given, for the message.
index_t option_int(const py::handle& v, const char* name, index_t lo, const py::handle& whole) {
  const py::object as_int = py::reinterpret_steal<py::object>(PyNumber_Index(v.ptr()));
  if (!as_int) throw py::error_already_set();
  int overflow = 0;
  const long long x = PyLong_AsLongLongAndOverflow(as_int.ptr(), &overflow);
  if (x == -1 && PyErr_Occurred()) throw py::error_already_set();
  if (overflow != 0 || x < lo || x > kMaxWindowOption)
    throw py::value_error(std::string(name) + ": expected values in [" + std::to_string(lo) + ", " +
                          std::to_string(kMaxWindowOption) + "], got " + repr_str(whole));
  return index_t(x);
}

// d (k - 1) + 1 for options within the bounds: at most 2^62.
index_t dilated(index_t k, index_t d) { return d * (k - 1) + 1; }

// A convolution kernel's extent (the weight's last two dims), within the bounds of the options.
void check_kernel(index_t kh, index_t kw) {
  if (kh < 1 || kw < 1 || kh > kMaxWindowOption || kw > kMaxWindowOption)
    throw py::value_error("weight: expected a kernel of 1 x 1 to " + std::to_string(kMaxWindowOption) + " x " +
                          std::to_string(kMaxWindowOption) + ", got " + pair_str(kh, kw));
}

// What both convolutions check first: 4-D float input and weight of one dtype, a positive groups.
void check_arguments(const py::array& x, const py::array& w, index_t groups) {
  check_input(x, "input");
  check_ndim(x, "input", 4);
  check_input(w, "weight");
  check_dtype_as(w, "weight", x, "input");
  check_ndim(w, "weight", 4);
  if (groups < 1) throw py::value_error("groups: expected a positive int, got " + std::to_string(groups));
}

index_t floor_div(index_t a, index_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

}  // namespace

index_t input_extent(index_t size, const char* name) {
  if (size < 0 || size > kMaxExtent)
    throw py::value_error(std::string(name) + ": expected an input size in [0, 2^62], got " + std::to_string(size));
  return size;
}

template <std::size_t N>
std::array<index_t, N> window_option(const py::handle& value, const char* name, index_t lo) {
  std::array<index_t, N> out{};
  if (is_int(value)) {
    out.fill(option_int(value, name, lo, value));
    return out;
  }
  const bool seq = (py::isinstance<py::tuple>(value) || py::isinstance<py::list>(value)) && py::len(value) == N;
  bool ints = seq;
  for (std::size_t i = 0; ints && i < N; ++i) ints = is_int(value[py::int_(i)]);
  if (!ints)
    throw py::type_error(std::string(name) + ": expected an int or " +
                         (N == 2 ? std::string("a pair of ints") : "a sequence of " + std::to_string(N) + " ints") +
                         ", got " + repr_str(value));
  for (std::size_t i = 0; i < N; ++i) out[i] = option_int(value[py::int_(i)], name, lo, value);
  return out;
}
template std::array<index_t, 1> window_option<1>(const py::handle&, const char*, index_t);
template Pair window_option<2>(const py::handle&, const char*, index_t);
template Quad window_option<4>(const py::handle&, const char*, index_t);

Pair conv2d_output_size(index_t h, index_t w, index_t kh, index_t kw, const Pair& stride, const Quad& pad,
                        const Pair& dilation) {
  check_kernel(kh, kw);
  const index_t eh = dilated(kh, dilation[0]), ew = dilated(kw, dilation[1]);
  const index_t hp = h + pad[0] + pad[1], wp = w + pad[2] + pad[3];
  if (eh > hp || ew > wp)
    throw py::value_error("weight: the (dilated) kernel " + pair_str(eh, ew) + " is larger than the padded input " +
                          pair_str(hp, wp) + " (input plane " + pair_str(h, w) + ")");
  if (hp > kMaxPaddedPlane / wp)
    throw py::value_error("padding: the padded input plane " + pair_str(hp, wp) + " has more than 2^48 positions");
  return {(hp - eh) / stride[0] + 1, (wp - ew) / stride[1] + 1};
}

Conv2dGeometry conv2d_geometry(const py::array& x, const py::array& w, const Pair& stride, const Quad& pad,
                               const Pair& dilation, index_t groups) {
  check_arguments(x, w, groups);
  Conv2dGeometry g{x.shape(0), x.shape(1), x.shape(2), x.shape(3), w.shape(0), w.shape(2), w.shape(3), groups,
                   stride[0], stride[1], pad[0], pad[2], dilation[0], dilation[1], 0, 0};
  if (g.c % groups != 0 || g.o % groups != 0)
    throw py::value_error("groups: expected a divisor of the input channels " + std::to_string(g.c) +
                          " and of the output channels " + std::to_string(g.o) + ", got " + std::to_string(groups));
  if (w.shape(1) != g.c / groups) {  // c = weight.shape[1] * groups, written without overflowing
    const index_t per_group = w.shape(1);
    const std::string expected = per_group <= INT64_MAX / groups ? std::to_string(per_group * groups)
                                                                 : std::to_string(per_group) + " x " + std::to_string(groups);
    throw py::value_error("input: expected " + expected + " channels (weight " + shape_str(w) + ", groups " +
                          std::to_string(groups) + "), got " + shape_str(x));
  }
  const Pair out = conv2d_output_size(g.h, g.w, g.kh, g.kw, stride, pad, dilation);
  g.oh = out[0], g.ow = out[1];
  return g;
}

Pair conv_transpose2d_output_size(index_t h, index_t w, index_t kh, index_t kw, const Pair& stride, const Pair& pad,
                                  const Pair& output_padding, const Pair& dilation) {
  check_kernel(kh, kw);
  for (int i = 0; i < 2; ++i)
    if (output_padding[i] >= stride[i] && output_padding[i] >= dilation[i])
      throw py::value_error("output_padding: expected values smaller than either stride " +
                            pair_str(stride[0], stride[1]) + " or dilation " + pair_str(dilation[0], dilation[1]) +
                            ", got " + pair_str(output_padding[0], output_padding[1]));
  // (n - 1) s is bounded first: with n - 1 <= 2^48 / s and the options below 2^31, no sum overflows.
  auto size = [&](index_t n, index_t k, int i) {
    if (n - 1 > kMaxPaddedPlane / stride[i])
      throw py::value_error("stride: the transposed convolution of a " + pair_str(h, w) + " plane with stride " +
                            pair_str(stride[0], stride[1]) + " has an output of more than 2^48 positions");
    return (n - 1) * stride[i] - 2 * pad[i] + dilated(k, dilation[i]) + output_padding[i];
  };
  const index_t oh = size(h, kh, 0), ow = size(w, kw, 1);
  if (oh < 1 || ow < 1)
    throw py::value_error("input: the output size " + pair_str(oh, ow) + " of the transposed convolution of a " +
                          pair_str(h, w) + " plane is too small (padding " + pair_str(pad[0], pad[1]) + ")");
  if (oh > kMaxPaddedPlane / ow)
    throw py::value_error("input: the output plane " + pair_str(oh, ow) + " of the transposed convolution of a " +
                          pair_str(h, w) + " plane has more than 2^48 positions");
  return {oh, ow};
}

Conv2dGeometry conv_transpose2d_geometry(const py::array& x, const py::array& w, const Pair& stride, const Pair& pad,
                                         const Pair& output_padding, const Pair& dilation, index_t groups) {
  check_arguments(x, w, groups);
  const index_t n = x.shape(0), ci = x.shape(1), h = x.shape(2), wd = x.shape(3);
  if (w.shape(0) != ci)
    throw py::value_error("weight: expected " + std::to_string(ci) + " input channels (dim 0) as input " +
                          shape_str(x) + ", got " + shape_str(w));
  if (ci % groups != 0)
    throw py::value_error("groups: expected a divisor of the input channels " + std::to_string(ci) + ", got " +
                          std::to_string(groups));
  if (w.shape(1) > INT64_MAX / groups)
    throw py::value_error("weight: " + shape_str(w) + " times groups " + std::to_string(groups) +
                          " output channels overflow");
  if (h < 1 || wd < 1)
    throw py::value_error("input: expected non-empty planes (only the batch or the channels may be 0), got " +
                          shape_str(x));
  const Pair out = conv_transpose2d_output_size(h, wd, w.shape(2), w.shape(3), stride, pad, output_padding, dilation);
  return Conv2dGeometry{n, w.shape(1) * groups, out[0], out[1], ci, w.shape(2), w.shape(3), groups, stride[0],
                        stride[1], pad[0], pad[1], dilation[0], dilation[1], h, wd};
}

index_t pool_output_size(index_t in, index_t k, index_t pad, index_t stride, index_t dil, bool ceil_mode) {
  index_t out = floor_div(in + 2 * pad - dilated(k, dil) + (ceil_mode ? stride - 1 : 0), stride) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

void check_pool_padding(const Pair& k, const Pair& p) {
  if (2 * p[0] > k[0] || 2 * p[1] > k[1])
    throw py::value_error("padding: expected at most half the kernel size " + pair_str(k[0], k[1]) + ", got " +
                          pair_str(p[0], p[1]));
}

Pool2dGeometry pool2d_geometry(index_t planes, index_t h, index_t w, const Pair& k, const Pair& s, const Pair& p,
                               const Pair& d, bool ceil_mode) {
  check_pool_padding(k, p);
  Pool2dGeometry g{planes, h, w, 0, 0, k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1]};
  g.oh = pool_output_size(h, k[0], p[0], s[0], d[0], ceil_mode);
  g.ow = pool_output_size(w, k[1], p[1], s[1], d[1], ceil_mode);
  if (g.oh < 1 || g.ow < 1)
    throw py::value_error("kernel_size: the window " + pair_str(k[0], k[1]) + " (dilation " + pair_str(d[0], d[1]) +
                          ", padding " + pair_str(p[0], p[1]) + ") does not fit the input plane " + pair_str(h, w) +
                          ": output " + pair_str(g.oh, g.ow) + " is too small");
  return g;
}

}  // namespace eigengrad::bindings
