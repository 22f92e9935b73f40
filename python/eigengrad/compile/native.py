"""The plan's kernel calls on the native executor (``_C.PlanExecutor``, cpp/bindings/bind_plan.cpp).

Each compiled binding that can be captured (``_C.capturable_kernels()``) is called once when the plan is
bound, with its kernel call captured instead of run: its argument checks run then, and a replay runs the
stored calls, in order and without the GIL, as one native call per run of consecutive captured ops. What
stays in Python, in the plan's order:

- the Python ops (an optimizer's step, which reads its hyperparameters at every call) and the glue;
- bindings that are not capturable, and the value-checked ones (their checks read array contents, such as
  class indices in range, which can change at every replay): they are called as before;
- random draws: the generator advances in Python as in eager mode, and the kernel that uses the numbers is
  bound again with them;
- the kernels that read a step argument are bound again at every replay, to the arrays of that call (the
  plan keeps no reference to the caller's arrays between calls, and the checks see each call's arrays).
"""
from __future__ import annotations

from eigengrad import _kernels
from eigengrad.compile.recorder import Op


def _capturable() -> dict:
    return _kernels.compiled_module().capturable_kernels()


class NativeSteps:
    """The plan's steps with the captured kernels replaced by runs of the executor.

    ``bound``: (function, argument list) per op (None for an elided op), as ``Plan._bind`` made them, with
    the draw steps already pointing at their consumers' argument lists; ``input_ops``: the ops that read a
    step argument."""

    def __init__(self, ops: list[Op], bound: list, input_ops: set) -> None:
        table, module = _capturable(), _kernels.compiled_module()
        self.ops = ops
        self.executor = module.PlanExecutor(len(ops))
        native = [op.kind == "kernel" and op.table == "C" and table.get(op.name) is False
                  and op.fn is getattr(module, op.name) for op in ops]
        for i in range(len(ops)):
            if native[i]:  # (a draw's consumer is bound again by its draw step, with the new numbers)
                self.bind(i, bound[i][1])
        self.rebind = [(i, bound[i][1]) for i in sorted(input_ops) if native[i]]
        self.captured = sum(native)
        self.steps = self._steps(bound, native)
        self.runs = sum(fn == self.executor.run for fn, _ in self.steps)

    def bind(self, i: int, args: list) -> None:
        self.executor.bind(i, self.ops[i].fn, *args, **self.ops[i].kwargs)

    def bind_inputs(self) -> None:
        """Bind the kernels that read step arguments to this call's arrays (after ``InputSlots.place``)."""
        for i, args in self.rebind:
            self.bind(i, args)

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
            if self.ops[i].kind == "draw" and args[2] is not None:
                consumer = next(k for k, o in enumerate(self.ops) if o.kind == "kernel" and o.draw == (i,))
                if native[consumer]:
                    steps.append((self._draw_and_bind, [fn, args, consumer]))
                    continue
            steps.append(step)
        if start is not None:
            steps.append((self.executor.run, [start, len(bound)]))
        return steps

    def _draw_and_bind(self, draw, args: list, consumer: int) -> None:
        draw(*args)  # writes the seed and offset into the consumer's arguments
        self.bind(consumer, args[2])
