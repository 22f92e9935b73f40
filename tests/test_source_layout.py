"""Rules of the C++ source tree that the build relies on (read from the source tree; skipped beside an
installed wheel)."""
import re

from source_tree import ROOT, needs_source_file

BINDINGS = ROOT / "cpp" / "bindings"


@needs_source_file("cpp/bindings/module.cpp")
def test_each_binding_file_keeps_its_helpers_in_its_own_namespace():
    """The modules are unity builds (cpp/cmake/bindings.cmake): several bind_<area>.cpp files are compiled as
    one translation unit, where two files' helpers of one name (five files have a `forward_binding`) would
    overload each other, and a call could silently pick the other file's. So each file's helpers live in
    `namespace <area>_helpers`, opened right inside eigengrad::bindings; outside it a file defines bind_<area>
    and functions that a header of cpp/bindings declares for the others."""
    shared = set(re.findall(r"\b(\w+)\(", "".join(p.read_text() for p in BINDINGS.glob("*.hpp"))))
    files = sorted(BINDINGS.glob("bind_*.cpp"))
    assert len(files) >= 20
    for path in files:
        area = path.stem[len("bind_"):]
        text = path.read_text()
        body = text.split("namespace eigengrad::bindings {", 1)
        assert len(body) == 2, f"{path.name}: no namespace eigengrad::bindings"
        outside = re.sub(r"namespace %s_helpers \{.*\n\}  // namespace %s_helpers\n" % (area, area), "", body[1],
                         flags=re.S)
        assert outside != body[1], f"{path.name}: its helpers are not in namespace {area}_helpers"
        # what remains at eigengrad::bindings scope: bind_<area> and the shared functions
        defined = re.findall(r"^[A-Za-z].*\b(\w+)\([^;]*\)\s*\{", outside, flags=re.M)
        assert f"bind_{area}" in defined, path.name
        stray = [name for name in defined if name != f"bind_{area}" and name not in shared]
        assert not stray, f"{path.name}: defines {stray} outside {area}_helpers"
        assert f"using namespace {area}_helpers;" in outside, path.name
