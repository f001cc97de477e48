"""Parts of an email that read only the partnership's facts render once (``jinja_steady``):
kept while the policy's view and the partnership's name stay the same, never kept when
they read anything else, and a partnership's own template is the one kept for it."""

from __future__ import annotations

import pytest
from jinja2 import UndefinedError

from mailbot.adapters.jinja_environment import template_environment
from mailbot.domain.working_days import LONDON

MACROS = """{% macro box(prominent) %}[{{ policy.name }}{{ "!" if prominent }}]{% endmacro %}
{% macro told(text) %}<{{ policy.name }}: {{ text }}>{% endmacro %}
{% macro named() %}({{ case }}){% endmacro %}
"""
PAGE = ('{% import "_macros.txt" as m with context %}{% include "_policy.txt" %}|'
        '{% include "_case.txt" %}|{{ m.box(true) }}{{ m.box(false) }}|{{ m.told(case) }}|'
        '{{ m.named() }}')


def _environment(*folders):
    for folder in folders:
        folder.mkdir(exist_ok=True)
    shared = folders[-1]
    (shared / "_macros.txt").write_text(MACROS)
    (shared / "_policy.txt").write_text("{{ policy.name }} / {{ partnership_name }}")
    (shared / "_case.txt").write_text("{{ case }}")
    (shared / "page.txt").write_text(PAGE)
    return template_environment(list(folders), LONDON)


def _page(environment, policy, case, partnership_name="Bury"):
    return environment.get_template("page.txt").render(
        policy=policy, case=case, partnership_name=partnership_name)


def test_a_part_reading_only_the_policy_renders_once_and_the_rest_every_time(tmp_path):
    environment, policy = _environment(tmp_path), {"name": "P"}
    first = _page(environment, policy, "case 1")
    renders = environment.steady.renders
    assert first == "P / Bury|case 1|[P!][P]|<P: case 1>|(case 1)"
    assert _page(environment, policy, "case 2") == "P / Bury|case 2|[P!][P]|<P: case 2>|(case 2)"
    # The include and the two flags of box(): kept; told(text) and named() were not.
    assert renders == 3 and environment.steady.renders == 3


def test_another_policy_or_partnership_name_renders_the_part_again(tmp_path):
    environment = _environment(tmp_path)
    _page(environment, {"name": "P"}, "c")
    assert _page(environment, {"name": "Q"}, "c") == "Q / Bury|c|[Q!][Q]|<Q: c>|(c)"
    assert _page(environment, {"name": "Q"}, "c", "Hackney").startswith("Q / Hackney|")


def test_a_partnerships_own_template_is_the_one_kept_for_it(tmp_path):
    own, shared = tmp_path / "bury", tmp_path / "shared"
    plain = _environment(shared)
    bury = _environment(own, shared)
    (own / "_policy.txt").write_text("Bury's own: {{ policy.name }}")
    policy = {"name": "P"}
    assert _page(plain, policy, "c").startswith("P / Bury|")
    assert _page(bury, policy, "c").startswith("Bury's own: P|")
    assert _page(plain, policy, "c").startswith("P / Bury|")


def test_a_misspelt_name_in_a_steady_part_still_fails_loudly_every_time(tmp_path):
    environment = _environment(tmp_path)
    (tmp_path / "_policy.txt").write_text("{{ policy.nmae }}")
    for _ in range(2):
        with pytest.raises(UndefinedError, match="nmae"):
            _page(environment, {"name": "P"}, "c")


def test_which_parts_are_steady_is_read_from_their_source(tmp_path):
    environment = _environment(tmp_path)
    (tmp_path / "_random.txt").write_text("{{ policy.names|random }}")
    (tmp_path / "_outer.txt").write_text('{% include "_policy.txt" %}{% include "_case.txt" %}')
    steady = environment.steady
    assert steady.template_names("_policy.txt") == {"policy", "partnership_name"}
    assert steady.template_names("_case.txt") is None  # reads the case
    assert steady.template_names("_random.txt") is None  # differs each time
    assert steady.template_names("_outer.txt") is None  # includes a part that is not steady
    assert steady.template_names("_macros.txt") is None  # defines macros for its importer
