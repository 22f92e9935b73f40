// eigengrad._cpuinfo: what the CPU and the OS support, and which instruction-set levels this build has.
//
// It runs before eigengrad knows which kernel module the CPU can execute, so it is compiled for the
// compiler's default target (plain x86-64: SSE2) and uses nothing else. A feature counts only when the
// CPU has it (cpuid) and the OS saves its registers on a context switch (xgetbv: XCR0's YMM bits for AVX,
// its opmask/ZMM bits for AVX-512); a hypervisor or kernel that turns AVX-512 state off makes the level
// unusable even though cpuid lists the instructions.
#include <pybind11/pybind11.h>

#include <cstdint>
#include <cstring>
#include <string>

#if defined(__x86_64__) || defined(_M_X64)
#define EIGENGRAD_PROBE_X86 1
#if defined(_MSC_VER)
#include <immintrin.h>
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#endif

namespace py = pybind11;

namespace {

#ifdef EIGENGRAD_PROBE_X86
struct Regs {
  std::uint32_t a = 0, b = 0, c = 0, d = 0;
};

Regs cpuid(std::uint32_t leaf, std::uint32_t sub = 0) {
  Regs r;
#if defined(_MSC_VER)
  int v[4];
  __cpuidex(v, static_cast<int>(leaf), static_cast<int>(sub));
  r.a = v[0], r.b = v[1], r.c = v[2], r.d = v[3];
#else
  __cpuid_count(leaf, sub, r.a, r.b, r.c, r.d);
#endif
  return r;
}

// XCR0: which register states the OS saves. Only valid when cpuid says OSXSAVE.
std::uint64_t xgetbv0() {
#if defined(_MSC_VER)
  return _xgetbv(0);
#else
  std::uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (std::uint64_t(hi) << 32) | lo;
#endif
}

bool bit(std::uint32_t reg, int i) { return (reg >> i) & 1u; }

py::dict features() {
  py::dict f;
  const Regs r0 = cpuid(0);
  const std::uint32_t max_leaf = r0.a;
  const Regs r1 = max_leaf >= 1 ? cpuid(1) : Regs{};
  const Regs r7 = max_leaf >= 7 ? cpuid(7, 0) : Regs{};
  const Regs e1 = cpuid(0x80000001u);
  const bool osxsave = bit(r1.c, 27);
  const std::uint64_t xcr0 = osxsave ? xgetbv0() : 0;
  f["sse2"] = bit(r1.d, 26);
  f["sse3"] = bit(r1.c, 0);
  f["ssse3"] = bit(r1.c, 9);
  f["sse4_1"] = bit(r1.c, 19);
  f["sse4_2"] = bit(r1.c, 20);
  f["popcnt"] = bit(r1.c, 23);
  f["cx16"] = bit(r1.c, 13);
  f["lahf_lm"] = bit(e1.c, 0);
  f["fma"] = bit(r1.c, 12);
  f["movbe"] = bit(r1.c, 22);
  f["avx"] = bit(r1.c, 28);
  f["f16c"] = bit(r1.c, 29);
  f["avx2"] = bit(r7.b, 5);
  f["bmi1"] = bit(r7.b, 3);
  f["bmi2"] = bit(r7.b, 8);
  f["lzcnt"] = bit(e1.c, 5);
  f["avx512f"] = bit(r7.b, 16);
  f["avx512dq"] = bit(r7.b, 17);
  f["avx512cd"] = bit(r7.b, 28);
  f["avx512bw"] = bit(r7.b, 30);
  f["avx512vl"] = bit(r7.b, 31);
  f["osxsave"] = osxsave;
  f["os_avx"] = osxsave && (xcr0 & 0x6) == 0x6;            // XMM and YMM state
  f["os_avx512"] = osxsave && (xcr0 & 0xe6) == 0xe6;       // + opmask, ZMM_Hi256, Hi16_ZMM
  return f;
}

std::string brand() {
  if (cpuid(0x80000000u).a < 0x80000004u) return "";
  char s[49] = {};
  for (std::uint32_t i = 0; i < 3; ++i) {
    const Regs r = cpuid(0x80000002u + i);
    std::memcpy(s + 16 * i, &r, 16);
  }
  std::string out(s);
  const auto first = out.find_first_not_of(' ');
  return first == std::string::npos ? "" : out.substr(first);
}

std::string vendor() {
  const Regs r = cpuid(0);
  char s[13] = {};
  std::memcpy(s, &r.b, 4);
  std::memcpy(s + 4, &r.d, 4);
  std::memcpy(s + 8, &r.c, 4);
  return s;
}
#endif

}  // namespace

PYBIND11_MODULE(_cpuinfo, m) {
  m.doc() = "CPU features (cpuid + xgetbv) and the instruction-set levels this build has; used by eigengrad._isa.";
#ifdef EIGENGRAD_PROBE_X86
  m.attr("architecture") = "x86_64";
  m.def("features", &features, "Features the CPU has and the OS enables, as {name: bool}.");
  m.def("brand", &brand, "The CPU's model name (cpuid's brand string).");
  m.def("vendor", &vendor, "The CPU vendor id (GenuineIntel, AuthenticAMD, ...).");
#else
  m.attr("architecture") = "other";
  m.def("features", [] { return py::dict(); }, "No level features off x86-64.");
  m.def("brand", [] { return std::string(); });
  m.def("vendor", [] { return std::string(); });
#endif
  m.attr("build_levels") = py::str(EIGENGRAD_BUILD_LEVELS).attr("split")(",");
  m.attr("native_level") = EIGENGRAD_NATIVE_LEVEL;
}
