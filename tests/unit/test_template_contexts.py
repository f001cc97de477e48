"""Each template uses only the names its notice's context class gives it (issue 17).

The names a template uses are read from its source with jinja2's own parser: its own, those
of the templates it includes or extends, and those of the macros it calls. They must be
fields of the template's context class (``notices.CONTEXTS``, or a subclass of it) or names
the renderer gives every template. A field renamed on one side only, a fact a template
starts to use that no notice fills, or a field no template reads any more fails here,
before a blank reaches an email.
"""

from __future__ import annotations

from dataclasses import fields
from functools import cache

import pytest
from jinja2 import meta, nodes

from mailbot.adapters.jinja_renderer import PARTS, JinjaRenderer
from mailbot.domain.notice_contexts import NoticeContext
from mailbot.domain.notices import CONTEXTS, Notice, Template
from mailbot.domain.referral import Person
from mailbot.domain.service_notice_contexts import JobAlert

RENDERER = JinjaRenderer()
ENVIRONMENT = RENDERER.environment("")

# Fields no template prints, and who reads them instead: the renderer (the decision notice's
# maker and decider; the roles it turns into ASSIGN lines) and the engine's own record of a
# notice (the stage's name and decision maker, the roles a notify rule names).
NOT_PRINTED = {"decision_by", "decided_by", "unassigned",
               "stage_name", "decision_maker", "rule_roles"}


def _given_to_every_template() -> set[str]:
    """The names the renderer adds to every context, and the environment's globals."""
    bare = Notice("any", (), context=NoticeContext())
    shared = RENDERER.context(bare, None, None, "", Person("", ""))
    return {*shared, "attached", *ENVIRONMENT.globals}


SHARED = _given_to_every_template()


@cache
def _tree(name: str) -> nodes.Template:
    assert ENVIRONMENT.loader is not None
    return ENVIRONMENT.parse(ENVIRONMENT.loader.get_source(ENVIRONMENT, name)[0])


@cache
def _macro_names(file: str, macro: str) -> frozenset[str]:
    """The names a macro of ``file`` uses from the caller's context (the files import them
    ``with context``), its sibling macros' included."""
    found = {m.name: m for m in _tree(file).find_all(nodes.Macro)}
    node = found[macro]
    body = nodes.Template(node.body).set_environment(ENVIRONMENT)
    used = set(meta.find_undeclared_variables(body))
    used -= {arg.name for arg in node.args} | {"caller", "varargs", "kwargs"}
    for sibling in used & set(found):
        if sibling != macro:
            used |= _macro_names(file, sibling)
    return frozenset(used - set(found))


@cache
def names_used(name: str) -> frozenset[str]:
    tree = _tree(name)
    used = set(meta.find_undeclared_variables(tree))
    modules = {n.target: n.template.value for n in tree.find_all(nodes.Import)}
    imported = {}
    for node in tree.find_all(nodes.FromImport):
        for item in node.names:
            macro, alias = item if isinstance(item, tuple) else (item, item)
            imported[alias] = (node.template.value, macro)
    for call in tree.find_all(nodes.Call):
        target = call.node
        if (isinstance(target, nodes.Getattr) and isinstance(target.node, nodes.Name)
                and target.node.name in modules):
            used |= _macro_names(modules[target.node.name], target.attr)
        elif isinstance(target, nodes.Name) and target.name in imported:
            used |= _macro_names(*imported[target.name])
    for node in tree.find_all((nodes.Include, nodes.Extends)):
        used |= names_used(node.template.value)
    return frozenset(used - set(modules) - set(imported))


def _template_names(template: Template) -> set[str]:
    return {n for part in PARTS for n in names_used(f"{template}.{part}")} - SHARED


def _with_subclasses(kind: type) -> list[type]:
    return [kind, *(k for sub in kind.__subclasses__() for k in _with_subclasses(sub))]


def _fields(kind: type) -> set[str]:
    return {f.name for f in fields(kind)}


def test_every_template_has_a_context_class():
    assert set(CONTEXTS) == set(Template)


@pytest.mark.parametrize("template", list(Template), ids=str)
def test_a_template_uses_only_names_its_context_gives(template):
    offered = {n for kind in _with_subclasses(CONTEXTS[template]) for n in _fields(kind)}
    assert _template_names(template) - offered == set()


def _own_fields(kind: type) -> set[str]:
    """The fields a class adds to those of the contexts it extends."""
    inherited = {n for base in kind.__bases__ if issubclass(base, NoticeContext)
                 for n in _fields(base)}
    return _fields(kind) - inherited


ALL_CONTEXTS = sorted(set(_with_subclasses(NoticeContext)) - {NoticeContext},
                      key=lambda k: k.__name__)


@pytest.mark.parametrize("kind", ALL_CONTEXTS, ids=lambda k: k.__name__)
def test_every_field_of_a_context_is_read_by_a_template_that_takes_it(kind):
    readers = [t for t, wanted in CONTEXTS.items()
               if issubclass(kind, wanted) or issubclass(wanted, kind)]
    read = {n for t in readers for n in _template_names(t)} | NOT_PRINTED
    assert readers and _own_fields(kind) - read == set()


def test_the_check_sees_names_in_partials_and_macros():
    """The parser sees through includes and macros, so a misspelling there is found too."""
    assert "failed_recipient" in names_used("bounce_alert.html")  # a macro's argument
    assert "step_word" in names_used("bounce_alert.txt")  # an included partial
    assert "roles" in names_used("overdue.html")  # inside the stage_facts macro
    job_failure = _template_names(Template.JOB_FAILURE)
    assert "job" in job_failure and "job_name" not in job_failure  # a macro imported by name


def test_a_notice_is_refused_a_context_written_for_another_template():
    with pytest.raises(TypeError, match="MailboxAlert"):
        Notice(Template.MAILBOX_FAILURE, (), context=JobAlert(job="send", error="down"))
    assert Notice(Template.JOB_FAILURE, (), context=JobAlert(job="send", error="down"))
