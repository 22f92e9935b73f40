"""The plan's kernel calls on the native executor (``_C.PlanExecutor``, cpp/bindings/bind_plan.cpp).

Each compiled binding that can be captured (``_C.capturable_kernels()``) is called once when the plan is
bound, with its kernel call captured instead of run: its argument checks run then, and a replay runs the
stored calls, in order and without the GIL, as one native call per run of consecutive captured ops. What
stays in Python, in the plan's order:

- the Python ops (an optimizer's step, which reads its hyperparameters at every call) and the glue;
- bindings that are not capturable: they are called as before;
- random draws: the generator advances in Python as in eager mode and sets the draw register of the kernel
  that uses the numbers (``PlanExecutor.set_draw``; a kernel that takes a draw but does not read the
  register stays a Python call);
- the kernels that read a step argument are bound again when a call passes other arrays than the last one
  did (another object, or other memory: a weak reference and the data address tell; no reference to the
  caller's arrays is kept, and the captured calls never run on a freed array: they are bound again first).

Checks of array contents (class indices in range) are part of the captured call: they run at every replay,
on that replay's values, as in eager mode.
"""
from __future__ import annotations

import weakref

from eigengrad import _kernels
from eigengrad.compile.recorder import Op


def _capturable() -> set:
    return set(_kernels.compiled_module().capturable_kernels())


class NativeSteps:
    """The plan's steps with the captured kernels replaced by runs of the executor.

    ``bound``: (function, argument list) per op (None for an elided op), as ``Plan._bind`` made them, with
    the draw steps already pointing at their consumers' argument lists; ``input_ops``: the ops that read a
    step argument."""

    def __init__(self, ops: list[Op], bound: list, input_ops: set) -> None:
        table, module = _capturable(), _kernels.compiled_module()
        self.ops = ops
        self.executor = module.PlanExecutor(len(ops))
        native = [op.kind == "kernel" and op.table == "C" and op.name in table and op.fn is getattr(module, op.name)
                  for op in ops]
        self.last_inputs: list | None = None  # (weak reference, data address) of the arrays bound last
        self.drawn = {i for i in range(len(ops)) if native[i] and self.bind(i, bound[i][1])}
        # (a kernel that takes a draw but does not read its register would replay the trace's numbers)
        native = [yes and (not op.draw or i in self.drawn) for i, (yes, op) in enumerate(zip(native, ops))]
        self.rebind = [(i, bound[i][1]) for i in sorted(input_ops) if native[i]]
        self.captured_ops = {i for i, yes in enumerate(native) if yes}
        self.captured = len(self.captured_ops)
        self.steps = self._steps(bound, native)
        self.runs = sum(fn == self.executor.run for fn, _ in self.steps)

    def bind(self, i: int, args: list) -> bool:
        """Bind slot i to its op's kernel over ``args``; whether the kernel reads the slot's draw register."""
        return self.executor.bind(i, self.ops[i].fn, *args, **self.ops[i].kwargs)

    def bind_inputs(self, arrays: list, placed: list) -> None:
        """Bind the kernels that read step arguments to this call's arrays (after ``InputSlots.place``, which
        passed the inputs ``placed`` as they are and copied the others), unless the last call bound them to
        the same arrays at the same addresses."""
        if not self.rebind:
            return
        now = [(a, a.__array_interface__["data"][0]) for a in arrays]
        last = self.last_inputs
        if last is not None and last[0] == placed and all(
                r() is a and p == q for (r, p), (a, q) in zip(last[1], now)):
            return
        self.last_inputs = None  # (a bind that raises leaves nothing to trust)
        for i, args in self.rebind:
            self.bind(i, args)
        self.last_inputs = (list(placed), [(weakref.ref(a), q) for a, q in now])

    def _steps(self, bound: list, native: list) -> list:
        steps, start = [], None
        for i, step in enumerate(bound):
            if step is None:
                continue
            if native[i]:
                start = i if start is None else start
                continue
            if start is not None:
                steps.append((self.executor.run, [start, i]))
                start = None
            fn, args = step
            if self.ops[i].kind == "draw":
                registers = [k for k, o in enumerate(self.ops) if o.kind == "kernel" and o.draw == (i,)
                             and k in self.drawn]
                if registers:
                    steps.append((self._draw_to_register, [fn, args, registers]))
                    continue
            steps.append(step)
        if start is not None:
            steps.append((self.executor.run, [start, len(bound)]))
        return steps

    def _draw_to_register(self, draw, args: list, consumers: list) -> None:
        numbers = draw(*args)  # (the Python-called consumers get them in their argument lists)
        for k in consumers:
            self.executor.set_draw(k, *numbers)
