// Bindings of the batched augmentation kernels: images are (N, C, H, W) float arrays, C-contiguous;
// per-image parameters come as small typed arrays; outputs are never silently copied.
#include <string>

#include "checks.hpp"
#include "eigengrad/augment.hpp"

namespace eigengrad::bindings {
// This file's own namespace (bindings.cmake: the unity build must not mix two files' helpers).
namespace augment_helpers {
namespace {

struct Dims {
  index_t n, c, h, w;
};

Dims image_dims(const py::array& a, const char* name) {
  check_input(a, name);
  check_ndim(a, name, 4);
  return {a.shape(0), a.shape(1), a.shape(2), a.shape(3)};
}

void check_out(const py::array& out, const py::array& in) {
  check_output(out, "out");
  check_dtype_as(out, "out", in, "images");
  check_same_shape(out, "out", in, "images");
}

template <class T>
void check_typed(const py::array& a, const char* name, const char* dtype, const std::vector<index_t>& shape) {
  if (!py::isinstance<py::array_t<T>>(a) || !a.dtype().equal(py::dtype::of<T>()))
    throw py::type_error(std::string(name) + ": expected dtype " + dtype + ", got " + dtype_str(a));
  check_contiguous(a, name);
  check_shape(a, name, shape);
}

template <class Fn>
void typed(const py::array& a, Fn&& fn) {
  if (is_float32(a)) fn(float{});
  else fn(double{});
}

void flip(const py::array& images, py::array out, const py::array& which, bool horizontal) {
  const Dims d = image_dims(images, "images");
  check_out(out, images);
  check_typed<std::uint8_t>(which, "flip", "uint8", {d.n});
  check_overlaps({{&out, "out"}}, {{&images, "images"}, {&which, "flip"}});
  typed(images, [&](auto tag) {
    using T = decltype(tag);
    const T* in = cptr<T>(images);
    T* o = mptr<T>(out);
    const auto* f = static_cast<const std::uint8_t*>(which.data());
    py::gil_scoped_release release;
    flip_images<T>(in, o, d.n, d.c, d.h, d.w, f, horizontal);
  });
}

void warp(const py::array& images, py::array out, const py::array& maps, const std::string& interpolation,
          double fill) {
  const Dims d = image_dims(images, "images");
  check_out(out, images);
  check_typed<double>(maps, "maps", "float64", {d.n, 6});
  check_overlaps({{&out, "out"}}, {{&images, "images"}, {&maps, "maps"}});
  if (interpolation != "bilinear" && interpolation != "nearest")
    throw py::value_error("interpolation: expected 'bilinear' or 'nearest', got '" + interpolation + "'");
  const Interpolation interp = interpolation == "nearest" ? Interpolation::nearest : Interpolation::bilinear;
  typed(images, [&](auto tag) {
    using T = decltype(tag);
    const T* in = cptr<T>(images);
    T* o = mptr<T>(out);
    const auto* m = static_cast<const double*>(maps.data());
    py::gil_scoped_release release;
    affine_warp<T>(in, o, d.n, d.c, d.h, d.w, m, interp, fill);
  });
}

void erase(py::array images, const py::array& boxes, double value) {
  const Dims d = image_dims(images, "images");
  check_writeable(images, "images");
  check_typed<std::int64_t>(boxes, "boxes", "int64", {d.n, 4});
  check_overlaps({{&images, "images"}}, {{&boxes, "boxes"}});
  typed(images, [&](auto tag) {
    using T = decltype(tag);
    T* img = mptr<T>(images);
    const auto* b = static_cast<const std::int64_t*>(boxes.data());
    py::gil_scoped_release release;
    erase_boxes<T>(img, d.n, d.c, d.h, d.w, b, value);
  });
}

void normalize(const py::array& images, py::array out, const py::array& mean, const py::array& std) {
  const Dims d = image_dims(images, "images");
  check_output(out, "out");
  check_dtype_as(out, "out", images, "images");
  check_same_shape(out, "out", images, "images");
  check_typed<double>(mean, "mean", "float64", {d.c});
  check_typed<double>(std, "std", "float64", {d.c});
  check_overlaps({{&out, "out"}}, {{&images, "images"}, {&mean, "mean"}, {&std, "std"}}, {{"out", "images"}});
  typed(images, [&](auto tag) {
    using T = decltype(tag);
    const T* in = cptr<T>(images);
    T* o = mptr<T>(out);
    const auto* m = static_cast<const double*>(mean.data());
    const auto* s = static_cast<const double*>(std.data());
    py::gil_scoped_release release;
    normalize_channels<T>(in, o, d.n, d.c, d.h * d.w, m, s);
  });
}

}  // namespace
}  // namespace augment_helpers

void bind_augment(py::module_& m) {
  using namespace augment_helpers;
  using py::arg;
  m.def("flip_images", &flip, arg("images"), arg("out"), arg("flip"), arg("horizontal"),
        "out[n] = images[n] mirrored (horizontally or vertically) where flip[n], else copied.");
  m.def("affine_warp", &warp, arg("images"), arg("out"), arg("maps"), arg("interpolation"), arg("fill"),
        "out[n] sampled from images[n] at maps[n] @ (x, y, 1) (output to input pixel coordinates).");
  m.def("erase_boxes", &erase, arg("images"), arg("boxes"), arg("value"),
        "In place: images[n, :, y0:y1, x0:x1] = value for boxes[n] = (y0, x0, y1, x1).");
  m.def("normalize_channels", &normalize, arg("images"), arg("out"), arg("mean"), arg("std"),
        "out[:, c] = (images[:, c] - mean[c]) / std[c].");
}

}  // namespace eigengrad::bindings
