"""The environment the templates render in: what a template prints is cleaned wherever it is
printed, and a dict's keys read as attributes, as jinja reads them.

The finalizer passes a macro's output without scanning it again (``jinja_environment``);
these tests hold it to the cleaning it skips: values inside macros, filter blocks, and a
partnership's template whose own text holds what ``printable`` removes.
"""

from __future__ import annotations

import pytest
from jinja2 import UndefinedError

from mailbot.adapters.jinja_environment import template_environment
from mailbot.domain.working_days import LONDON

HOSTILE = "Sam\u202eelpmaS \x1b[2J<b>bold</b>\r\nnext"
MACROS = """{% macro para(text) %}<p>{{ text|nl2br }}</p>{% endmacro %}
{% macro box(text) %}<div>{{ para(text) }}</div>{% endmacro %}
{% macro frame() %}[{{ caller() }}]{% endmacro %}
"""


def _render(tmp_path, source: str, **context) -> str:
    (tmp_path / "_macros.html").write_text(MACROS, encoding="utf-8")
    (tmp_path / "page.html").write_text(source, encoding="utf-8")
    environment = template_environment([tmp_path], LONDON)
    return environment.get_template("page.html").render(**context)


def test_a_value_printed_inside_nested_macros_is_cleaned_and_escaped(tmp_path):
    page = ('{% import "_macros.html" as m %}{{ m.box(text) }}|{{ m.para(text) + text }}|'
            '{% call m.frame() %}{{ text }}{% endcall %}')
    html = _render(tmp_path, page, text=HOSTILE)
    clean = "SamelpmaS [2J&lt;b&gt;bold&lt;/b&gt;"
    assert html == (f"<div><p>{clean}<br>\nnext</p></div>|<p>{clean}<br>\nnext</p>{clean}\nnext"
                    f"|[{clean}\nnext]")


def test_markup_a_filter_made_from_a_value_is_cleaned_too(tmp_path):
    html = _render(tmp_path, "{{ text|e }}|{{ text|safe }}", text="a\x1bb\u2066c")
    assert html == "abc|abc"


def test_a_filter_block_inside_a_macro_still_has_its_output_cleaned(tmp_path):
    page = ('{% macro shout(text) %}{% filter upper %}{{ text }}{% endfilter %}'
            '{{ text|replace("x", bad) }}{% endmacro %}{{ shout("x") }}')
    assert _render(tmp_path, page, bad="\x07!") == "X!"


def test_a_template_whose_own_text_holds_a_control_character_has_it_removed_in_macros(
        tmp_path):
    page = '{% macro note() %}<i>\u202enote\x07</i>{% endmacro %}{{ note() }}'
    assert _render(tmp_path, page) == "<i>note</i>"


def test_a_dict_reads_its_keys_as_attributes_and_its_methods_stay_methods(tmp_path):
    page = "{{ view.name }} {{ view['name'] }} {{ view.items()|list|length }}"
    assert _render(tmp_path, page, view={"name": "Bea", "items": "shadowed"}) == "Bea Bea 2"


def test_a_key_a_dict_does_not_have_fails_loudly(tmp_path):
    with pytest.raises(UndefinedError, match="no attribute 'nmae'"):
        _render(tmp_path, "{{ view.nmae }}", view={"name": "Bea"})


def test_macros_called_every_way_render_as_plain_jinja_renders_them(tmp_path):
    """Calls given every argument by position take a shorter path than jinja's own; the
    others (defaults, keywords, varargs, a caller) take jinja's, and all print the same."""
    from jinja2 import Environment

    page = ('{% macro two(a, b="B") %}<{{ a }}{{ b }}>{% endmacro %}'
            '{% macro many() %}{{ varargs|join }}{{ kwargs|dictsort }}{% endmacro %}'
            '{% macro wrap(x) %}[{{ x }}{{ caller() }}]{% endmacro %}'
            '{{ two("a", "&") }}{{ two("a") }}{{ two(b="b", a=1) }}{{ many(1, 2, k=3) }}'
            '{% call wrap("<") %}in{% endcall %}{% for i in [1] %}{{ two(i, i) }}{% endfor %}')
    plain = Environment(autoescape=True).from_string(page).render()
    assert _render(tmp_path, page) == plain
    assert plain.startswith("<a&amp;><aB><1b>12[")
