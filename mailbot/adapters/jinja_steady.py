"""Parts of an email that read nothing but the partnership's own facts, rendered once.

The policy's command table, its guidance, the immediate-risk box, who may change a case:
every email of a partnership prints them the same, and they were a third of rendering an
HTML part (issue 18). A template included, or a macro called, whose source reads no names
but ``STEADY`` ones (the policy's view, the partnership's name, the environment's own
globals) is rendered the first time and its output kept, keyed by those names' values, so
the next email prints the same text without running it again.

Which parts qualify is read from each template's source with jinja's parser when it is
first used, in the environment that renders it, so a partnership's own template (its
folder comes first) is the one judged and kept; a part that reads anything else (the case,
the recipient, the notice's facts, ``caller``), uses ``random``, or includes a template
that is not steady itself, renders every time as before. A macro's output is kept only
for arguments that are flags or numbers: text handed to a macro may be the child's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import CodeType
from typing import Any

from jinja2 import Environment, meta, nodes
from jinja2.runtime import Context, Macro

# What a steady part may read: the same for every email one renderer sends for a partnership.
STEADY = frozenset({"policy", "partnership_name"})
_KEPT = 256  # outputs kept at most (a few per partnership); then they are made again
_SCALARS = (bool, int, type(None))
_JINJA_ONLY = ("_block_vars", "_loop_vars")
# Nodes that bring in names the parser cannot see from here.
_OPAQUE = (nodes.Extends, nodes.Import, nodes.FromImport, nodes.CallBlock)
# And in a template kept whole: what it defines for a template importing it.
_DEFINING = (nodes.Macro, nodes.Assign, nodes.AssignBlock)


class SteadyParts:
    """The parts of one environment's templates that are steady, and what they rendered."""

    def __init__(self, environment: Environment, allowed: frozenset[str]):
        self.environment = environment
        self.allowed = allowed  # STEADY and the globals the environment was given
        self.sources: dict[str, tuple[str, str]] = {}  # file name -> (template, source)
        self._templates: dict[str, frozenset[str] | None] = {}
        self._macros: dict[CodeType, tuple[str, ...] | None] = {}
        self._kept: dict[tuple, tuple[tuple, Any]] = {}
        self.renders = 0  # how many times a steady part was actually rendered

    # --- templates included ------------------------------------------------------------

    def wrap(self, name: str, render: Callable[[Context], Iterator[str]]
             ) -> Callable[[Context], Iterator[str]]:
        """``render`` (a template's root function), kept per value of its names when steady."""
        names = self.template_names(name)
        if not names:
            return render
        ordered = tuple(sorted(names))

        def steady_render(context: Context) -> Iterator[str]:
            values = tuple(context.resolve_or_missing(n) for n in ordered)
            yield self._output(("template", name, _key(values)), values,
                               lambda: self.environment.concat(render(context)))  # type: ignore[attr-defined]

        return steady_render

    def template_names(self, name: str, seen: frozenset[str] = frozenset()
                       ) -> frozenset[str] | None:
        """The names the template reads, when they are all steady (and it reads some)."""
        if name not in self._templates:
            self._templates[name] = None  # a template including itself is not steady
            self._templates[name] = self._judge_template(name, seen | {name})
        return self._templates[name]

    def _judge_template(self, name: str, seen: frozenset[str]) -> frozenset[str] | None:
        assert self.environment.loader is not None
        source = self.environment.loader.get_source(self.environment, name)[0]
        tree = self.environment.parse(source)
        if _opaque(tree) or any(True for _ in tree.find_all(_DEFINING)):
            return None
        names = set(meta.find_undeclared_variables(tree))
        for include in tree.find_all(nodes.Include):
            target = include.template
            inner = (self.template_names(target.value, seen)
                     if isinstance(target, nodes.Const) and target.value not in seen else None)
            if inner is None or not include.with_context:
                return None
            names |= inner
        return frozenset(names) if names and names <= self.allowed else None

    # --- macros called -----------------------------------------------------------------

    def call(self, macro: Macro, args: tuple, kwargs: dict[str, Any],
             invoke: Callable[[], Any]) -> Any:
        """The macro's output (``invoke`` calls it), kept when the macro is steady and its
        arguments are flags or numbers."""
        names = self.steady_names(macro)
        context = _defined_in(macro) if names is not None else None
        # jinja hands every call the variables of the loop or block it is made in, for
        # functions that take the context; a macro does not.
        given = {k: v for k, v in kwargs.items() if k not in _JINJA_ONLY}
        if context is None or not all(type(a) in _SCALARS for a in (*args, *given.values())):
            return invoke()
        values = tuple(context.resolve_or_missing(n) for n in names)  # type: ignore[union-attr]
        key = ("macro", macro._func.__code__, args, tuple(sorted(given.items())), _key(values))
        return self._output(key, values, invoke)

    def steady_names(self, macro: Macro) -> tuple[str, ...] | None:
        """The names a steady macro reads; None for any other macro."""
        code = macro._func.__code__
        return self._macros[code] if code in self._macros else self._judge_macro(macro)

    def _judge_macro(self, macro: Macro) -> tuple[str, ...] | None:
        code = macro._func.__code__
        self._macros[code] = None
        found = self.sources.get(code.co_filename)
        if found is not None and not macro.caller:
            tree = self.environment.parse(found[1])
            names = _macro_names(self.environment, tree, macro.name, frozenset())
            if names and names <= self.allowed:
                self._macros[code] = tuple(sorted(names))
        return self._macros[code]

    # --- what they rendered ------------------------------------------------------------

    def _output(self, key: tuple, values: tuple, make: Callable[[], Any]) -> Any:
        kept = self._kept.get(key)
        if kept is None:
            if len(self._kept) >= _KEPT:
                self._kept.clear()
            self.renders += 1
            # The values are kept with the output: an object's id in the key cannot then
            # be reused by another object while the output is kept.
            kept = self._kept[key] = (values, make())
        return kept[1]


def _key(values: tuple) -> tuple:
    """Text by its value, anything else (the policy's view) by its identity."""
    return tuple(v if type(v) is str else id(v) for v in values)


def _opaque(tree: nodes.Node) -> bool:
    return any(True for _ in tree.find_all(_OPAQUE)) or any(
        f.name == "random" for f in tree.find_all(nodes.Filter))


def _macro_names(environment: Environment, tree: nodes.Template, name: str,
                 seen: frozenset[str]) -> frozenset[str] | None:
    """The context names a macro of this file reads, its sibling macros' included; None
    when it reads ``caller`` or something the parser cannot see into."""
    found = {m.name: m for m in tree.body if isinstance(m, nodes.Macro)}
    node = found.get(name)
    if node is None or _opaque(node) or any(True for _ in node.find_all(nodes.Include)):
        return None
    body = nodes.Template(node.body, lineno=node.lineno).set_environment(environment)
    used = set(meta.find_undeclared_variables(body)) - {a.name for a in node.args}
    if used & {"caller", "varargs", "kwargs"}:
        return None
    for sibling in used & set(found):
        inner = (_macro_names(environment, tree, sibling, seen | {name})
                 if sibling not in seen else frozenset())
        if inner is None:
            return None
        used |= inner
    return frozenset(used - set(found))


def _defined_in(macro: Macro) -> Context | None:
    """The context the macro was defined in, whose names it reads (its module's, for
    ``import ... with context``)."""
    for cell in macro._func.__closure__ or ():
        try:
            contents = cell.cell_contents
        except ValueError:  # a name the module has not assigned (yet)
            continue
        # Its module's context itself, or ``resolve``, that context's bound lookup.
        contents = getattr(contents, "__self__", contents)
        if isinstance(contents, Context):
            return contents
    return None
