#include "eigengrad/copy.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace eigengrad {
namespace {

// One dimension of the copy: its size and the source's stride in elements (the destination's strides
// follow from the shape: it is C-contiguous).
struct Dim {
  index_t size, stride;
};

// The dims with size-1 dims dropped and neighbours merged where the source is contiguous across them
// (stride[k] == stride[k + 1] * size[k + 1]); none when an extent is 0 (nothing to copy: sets n to 0).
int simplify(int ndim, const index_t* shape, const index_t* strides, int item, Dim* out, index_t& n) {
  int d = 0;
  n = 1;
  for (int k = 0; k < ndim; ++k) {
    n *= shape[k];
    if (shape[k] == 1) continue;
    const index_t stride = strides[k] / item;
    if (d > 0 && out[d - 1].stride == stride * shape[k]) {
      out[d - 1] = {out[d - 1].size * shape[k], stride};
    } else {
      out[d++] = {shape[k], stride};
    }
  }
  return n == 0 ? 0 : d;
}

// The copy of dims `dims` (the last one the destination's inner dim), cut into items: each outer index (of the
// dims other than `inner` and `tile`) times, with a tiled dim (tile >= 0), the bands of kTile of its indices.
// A chunk of items walks its outer indices with an odometer (no division per item).
template <class U>
class Copier {
 public:
  static constexpr index_t kTile = 64 / sizeof(U) < 8 ? 8 : 64 / sizeof(U);  // a cache line of elements

  Copier(const U* src, U* dst, const Dim* dims, int nd, int tile)
      : src_(src), dst_(dst), dims_(dims), nd_(nd), tile_(tile),
        bands_(tile < 0 ? 1 : ceil_div(dims[tile].size, kTile)) {
    index_t step = 1;
    for (int k = nd - 1; k >= 0; --k) dst_stride_[k] = step, step *= dims[k].size;
  }

  index_t bands() const { return bands_; }

  void operator()(index_t begin, index_t end) const {
    index_t at[kCopyMaxDims] = {}, s = 0, t = 0;
    index_t rest = begin / bands_, band = begin % bands_;
    for (int k = nd_ - 2; k >= 0; --k) {  // the outer index of the first item
      if (k == tile_) continue;
      at[k] = rest % dims_[k].size;
      rest /= dims_[k].size;
      s += at[k] * dims_[k].stride;
      t += at[k] * dst_stride_[k];
    }
    for (index_t item = begin; item < end; ++item) {
      if (tile_ < 0) row(src_ + s, dst_ + t);
      else tiles(src_ + s, dst_ + t, band);
      if (++band == bands_) {
        band = 0;
        advance(at, s, t);
      }
    }
  }

 private:
  void advance(index_t* at, index_t& s, index_t& t) const {
    for (int k = nd_ - 2; k >= 0; --k) {
      if (k == tile_) continue;
      s += dims_[k].stride, t += dst_stride_[k];
      if (++at[k] < dims_[k].size) return;
      s -= at[k] * dims_[k].stride, t -= at[k] * dst_stride_[k];
      at[k] = 0;
    }
  }

  void row(const U* s, U* d) const {
    const Dim& in = dims_[nd_ - 1];
    if (in.stride == 1) {
      std::memcpy(d, s, std::size_t(in.size) * sizeof(U));
      return;
    }
    for (index_t j = 0; j < in.size; ++j) d[j] = s[j * in.stride];
  }

  // dims_[tile_] is contiguous in the source: its indices [band kTile, +kTile) by the inner dim in tiles of
  // kTile x kTile, read along the tiled dim and written along the inner one (both in L1)
  void tiles(const U* s, U* d, index_t band) const {
    const Dim& in = dims_[nd_ - 1];
    const index_t dt = dst_stride_[tile_];
    const index_t i0 = band * kTile, i1 = std::min(dims_[tile_].size, i0 + kTile);
    for (index_t j0 = 0; j0 < in.size; j0 += kTile) {
      const index_t j1 = std::min(in.size, j0 + kTile);
      for (index_t j = j0; j < j1; ++j) {
        const U* sj = s + j * in.stride;
        U* dj = d + j;
        for (index_t i = i0; i < i1; ++i) dj[i * dt] = sj[i];
      }
    }
  }

  const U* src_;
  U* dst_;
  const Dim* dims_;
  int nd_, tile_;
  index_t bands_;
  index_t dst_stride_[kCopyMaxDims];
};

template <class U>
void copy_as(const void* src, void* dst, const Dim* dims, int nd, index_t n) {
  const U* s = static_cast<const U*>(src);
  U* d = static_cast<U*>(dst);
  if (nd == 0) {  // one element (every dim of size 1)
    *d = *s;
    return;
  }
  const Dim& in = dims[nd - 1];
  int tile = -1;
  if (in.stride != 1) {  // a dim the source is contiguous along, to tile with the inner one
    for (int k = 0; k < nd - 1; ++k)
      if (dims[k].stride == 1) tile = k;
  }
  const Copier<U> copier(s, d, dims, nd, tile);
  const index_t per_item = in.size * (tile >= 0 ? std::min(dims[tile].size, Copier<U>::kTile) : 1);
  const index_t items = n / (in.size * (tile >= 0 ? dims[tile].size : 1)) * copier.bands();
  // about 32 KB per chunk: a chunk's size depends on the shape alone
  const index_t grain = std::max<index_t>(1, (index_t(1) << 15) / std::max<index_t>(1, per_item * index_t(sizeof(U))));
  parallel_for(items, grain, copier);
}

}  // namespace

void strided_copy(const void* src, void* dst, int item, int ndim, const index_t* shape, const index_t* src_strides) {
  Dim dims[kCopyMaxDims];
  index_t n = 0;
  const int nd = simplify(ndim, shape, src_strides, item, dims, n);
  if (n == 0) return;
  switch (item) {
    case 1: copy_as<std::uint8_t>(src, dst, dims, nd, n); break;
    case 2: copy_as<std::uint16_t>(src, dst, dims, nd, n); break;
    case 4: copy_as<std::uint32_t>(src, dst, dims, nd, n); break;
    default: copy_as<std::uint64_t>(src, dst, dims, nd, n); break;
  }
}

}  // namespace eigengrad
