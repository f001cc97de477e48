"""The jinja ``Environment`` the renderer runs every template in: its filters, the finalizer
that cleans what a template prints, and attribute lookups that suit the renderer's views.

Rendering was most of the time spent acting on a referral (issue 18), and the templates read
plain dicts (``jinja_context``): jinja's own ``getattr`` tries an attribute first and pays an
``AttributeError`` for every ``case.reference`` before it looks the key up. Here a dict's key
is looked up first unless ``dict`` itself has an attribute of that name, which is the order
jinja's lookup already comes to, so every template reads exactly what it read before.

Every value a template prints is cleaned (``printable``), and so was, once more, the whole
output of every macro, though all it holds is the template's own text and values already
cleaned: scanning it again was a third of rendering an HTML part. The output a macro call
has just returned is now passed as it is, for as long as every template read holds neither
a character ``printable`` would remove nor a ``{% filter %}`` block (whose output is
printed without passing the finalizer); the loader checks each one as it is read.

Jinja writes each value an HTML template prints as ``escape(environment.finalize(value))``:
two calls, and for markup (a macro's output, ``nl2br``'s) a copy of it made by ``escape``.
The templates here are compiled to call ``printed_html`` (or ``printed_text``) once instead,
which cleans as the finalizer does and passes markup as it is: the same text, some 200
printed values an email's parts.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template
from jinja2.compiler import CodeGenerator, Frame
from jinja2.nodes import Expr
from jinja2.runtime import Context, Macro, missing
from markupsafe import Markup, escape

from mailbot.adapters.jinja_steady import STEADY, SteadyParts
from mailbot.adapters.plain_dates import date_phrase, deadline_phrase
from mailbot.domain.commands import COMMANDS
from mailbot.domain.text import printable

_DICT_ATTRIBUTES = frozenset(dir(dict))
_BREAK = Markup("<br>\n")
_FILTER_BLOCK = re.compile(r"{%[-+]?\s*filter\b")
_CALL_ONLY = frozenset({"_block_vars", "_loop_vars"})  # what jinja adds to every call


_RENDERING = threading.local()  # .contexts: those made by the render_each running in a thread


class _ViewContext(Context):
    """Notes the output of each macro call, for the finalizer to pass without a scan, and
    keeps the output of a steady macro (``jinja_steady``)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        made = getattr(_RENDERING, "contexts", None)
        if made is not None:
            made.append(self)

    def call(__self, __obj: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        if type(__obj) is not Macro:
            return Context.call(__self, __obj, *args, **kwargs)
        environment = __self.environment
        assert isinstance(environment, ViewEnvironment)
        if environment.steady.steady_names(__obj) is None:  # most calls: para(), heading()
            value = _call_macro(__self, __obj, args, kwargs)
        else:
            value = environment.steady.call(__obj, args, kwargs, lambda: _call_macro(
                __self, __obj, args, kwargs))
        if type(value) is Markup:
            # One slot, not a list: when threads rendering at once overwrite each other's,
            # a clean output is merely scanned again. Only a macro's output is ever put here.
            environment.macro_output = value
        return value


def _call_macro(context: Context, macro: Macro, args: tuple, kwargs: dict[str, Any]) -> Any:
    """What ``Context.call`` and ``Macro.__call__`` do for a macro, shortened for the usual
    call, every argument given by position to a macro without ``caller``, ``varargs`` or
    ``kwargs``: its function's text, as markup where the caller autoescapes. Their general
    handling of arguments was a tenth of rendering an HTML part, called 16 times in each."""
    if (len(args) != macro._argument_count or macro.caller or macro.catch_kwargs
            or macro.catch_varargs or not kwargs.keys() <= _CALL_ONLY):
        return Context.call(context, macro, *args, **kwargs)
    try:
        value = macro._func(*args)
    except StopIteration:  # as Context.call answers it
        return context.environment.undefined(
            "value was undefined because a callable raised a StopIteration exception")
    return Markup(value) if context.eval_ctx.autoescape else value


class _CheckingLoader(FileSystemLoader):
    """Reads templates from folders, and tells the environment of one whose own text could
    make a macro's output need cleaning; notes each file's source, where a macro's is found."""

    def get_source(self, environment: Environment, template: str) -> Any:
        source, filename, uptodate = super().get_source(environment, template)
        if isinstance(environment, ViewEnvironment):
            if printable(source) != source or _FILTER_BLOCK.search(source):
                environment.macros_clean = False
            environment.steady.sources[filename] = (template, source)
        return source, filename, uptodate


class _SteadyTemplate(Template):
    """A template that, included in an email, renders once while its names stay the same."""

    def new_context(self, vars: dict[str, Any] | None = None, shared: bool = False,
                    locals: Mapping[str, Any] | None = None) -> Context:
        # Given locals, jinja copies the shared variables (some 80 names) to set them on the
        # copy; the macros imported with the context (once an HTML part) and most includes
        # pass only locals not yet set (``missing``), which it leaves out: the copy is not
        # needed, as a context never changes the variables it was given.
        if shared and locals and all(value is missing for value in locals.values()):
            locals = None
        return super().new_context(vars, shared, locals)

    @classmethod
    def _from_namespace(cls, environment: Environment, namespace: Any, globals: Any) -> Any:
        template = super()._from_namespace(environment, namespace, globals)
        if isinstance(environment, ViewEnvironment) and template.name:
            template.root_render_func = environment.steady.wrap(  # type: ignore[method-assign]
                template.name, template.root_render_func)
        return template


_FINALIZE = "environment.finalize("  # what jinja writes for a finalizer given no context


class _PrintingCodeGenerator(CodeGenerator):
    """Compiles a printed value to one call of the environment's ``printed_html`` or
    ``printed_text`` rather than jinja's ``escape(environment.finalize(...))`` or
    ``str(environment.finalize(...))``; an ``{% autoescape %}`` block is left to jinja."""

    def _own(self, frame: Frame, finalize: Any) -> bool:
        return not frame.eval_ctx.volatile and finalize.src == _FINALIZE

    def _output_child_pre(self, node: Expr, frame: Frame, finalize: Any) -> None:
        if not self._own(frame, finalize):
            return super()._output_child_pre(node, frame, finalize)
        self.write("environment.printed_html(" if frame.eval_ctx.autoescape
                   else "environment.printed_text(")

    def _output_child_post(self, node: Expr, frame: Frame, finalize: Any) -> None:
        if not self._own(frame, finalize):
            return super()._output_child_post(node, frame, finalize)
        self.write(")")


class ViewEnvironment(Environment):
    """An environment whose ``x.name`` on a plain dict reads the key without an exception,
    and whose finalizer passes the output of the macro call just made as it is."""

    context_class = _ViewContext
    template_class = _SteadyTemplate
    code_generator_class = _PrintingCodeGenerator
    macros_clean = True  # every template read so far keeps a macro's output clean
    macro_output: Markup | None = None  # the output of the last macro call

    def __init__(self, **options: Any):
        # The parts of its templates that read only a partnership's facts, and their output.
        self.steady = SteadyParts(self, STEADY)
        super().__init__(**options)

    def render_each(self, names: Sequence[str], context: dict[str, Any]) -> list[str]:
        """Each template rendered with one context, built once with the globals: building a
        jinja context per template (copying the globals and ``context`` each time) was a
        tenth of rendering an email's three parts."""
        shared = {**self.globals, **context}  # as ``Template.render`` would layer them
        rendered: list[str] = []
        made: list[Context] = []
        outer, _RENDERING.contexts = getattr(_RENDERING, "contexts", None), made
        try:
            for name in names:
                template = self.get_template(name)
                try:
                    rendered.append(self.concat(  # type: ignore[attr-defined]
                        template.root_render_func(template.new_context(shared, shared=True))))
                except Exception:
                    self.handle_exception()  # raises it again, the template's line in its traceback
        finally:
            _RENDERING.contexts = outer
            # The macros imported with the context are a cycle (each macro's function holds
            # the context, whose variables hold the macros): some 70 objects an HTML part that
            # only the garbage collector freed, and its runs were a twentieth of acting on a
            # referral. Their variables are dropped once the parts are written, and the rest
            # goes as soon as it is unused.
            for made_context in made:
                made_context.vars.clear()
        return rendered

    def printed_html(self, value: Any) -> Any:
        """``escape(finalize(value))``: a value printed in an HTML template, cleaned as the
        finalizer cleans it and escaped; markup (the template's own) passes as it is, where
        ``escape`` would copy it."""
        if value is self.macro_output and self.macros_clean:
            return value  # the template's own text and values already cleaned
        value = printable_value(value)
        return value if type(value) is Markup else escape(value)

    def printed_text(self, value: Any) -> str:
        """``str(finalize(value))``: a value printed in a text template, cleaned."""
        if value is self.macro_output and self.macros_clean:
            return str(value)
        return str(printable_value(value))

    def make_globals(self, d: Mapping[str, Any] | None) -> MutableMapping[str, Any]:
        """A template's globals as one plain dict, not jinja's ``ChainMap`` over its own and
        the environment's: every context a render makes (about ten an email: each part,
        each include, the macros imported) lists the globals' names, and listing a
        ``ChainMap`` builds a dict of it each time. The environment's globals are all set
        before its first template is read (``template_environment``)."""
        return {**self.globals, **(d or {})}

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


def template_environment(search_path: list[Path], tz: ZoneInfo) -> ViewEnvironment:
    environment = ViewEnvironment(
        loader=_CheckingLoader([str(p) for p in search_path]),
        undefined=StrictUndefined,
        autoescape=lambda name: bool(name and name.endswith(".html")),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # Templates are read once per process: checking every file's mtime on each render
        # was a tenth of composing an email.
        auto_reload=False,
        # And kept in a plain dict: an environment's templates are a fixed few dozen, and the
        # default least-recently-used cache took a lock and reordered a queue on each of the
        # 40 or so look-ups an email's parts make (includes, imports, the base template).
        cache_size=-1,
    )
    # Every value a template prints loses control characters and bidi overrides.
    environment.finalize = _finalizer(environment)
    environment.filters["deadline"] = _deadline_filter(tz)
    environment.filters["day"] = lambda value: date_phrase(value or None, weekday=True, tz=tz)
    environment.filters["nl2br"] = nl2br
    # The commands that change a case, as the registry lists them (only NOTE is open to all).
    environment.globals["case_changing_words"] = [w.verb for w in COMMANDS if w.changes_case]
    environment.steady.allowed = STEADY | {"case_changing_words"}
    return environment


def _finalizer(environment: ViewEnvironment) -> Callable[[Any], Any]:
    def finalize(value: Any) -> Any:
        if value is environment.macro_output and environment.macros_clean:
            return value  # the template's own text and values already cleaned
        return printable_value(value)

    return finalize


def _deadline_filter(tz: ZoneInfo) -> Callable[[Any], str]:
    """``deadline_phrase`` of a value, each moment written as text phrased once: an email's
    parts print its deadline three or four times, and a case's emails all print the same."""

    @lru_cache(maxsize=64)
    def phrased(moment: str) -> str:  # a deadline, a bounce's or an alert's time: no child's
        return deadline_phrase(moment, tz)

    def deadline(value: Any) -> str:
        return phrased(value) if type(value) is str else deadline_phrase(value or None, tz)

    return deadline


def printable_value(value: Any) -> Any:
    """Text a template prints, without control characters or bidi overrides; markup the
    templates built stays markup, so it is not escaped twice."""
    if type(value) is str:  # the usual case first: called for every value printed
        return printable(value)
    if isinstance(value, Markup):
        if value.isprintable():  # nothing to clean (``printable``): no copy to compare
            return value
        cleaned = printable(str(value))
        return value if cleaned == value else Markup(cleaned)
    return printable(value) if isinstance(value, str) else value


def nl2br(text: Any) -> Markup:
    """Escapes ``text`` and keeps its line breaks, for the HTML part."""
    text = str(text)
    if "\n" not in text and "\r" not in text:
        return escape(text)
    return _BREAK.join(escape(line) for line in text.replace("\r\n", "\n").split("\n"))
