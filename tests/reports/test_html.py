"""The HTML building blocks: escaped text, inert JSON, no external resource."""

from __future__ import annotations

import json
import re

from predictive_scoring.reports.html import json_block, page, table, text


def test_text_escapes_markup_and_quotes() -> None:
    assert text('<script>alert("x")</script>') == (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
    )
    assert text(None) == ""


def test_json_block_cannot_close_its_element_and_round_trips() -> None:
    payload = {"company": "</script><script>alert(1)</script>", "a&b": "\u2028"}
    block = json_block("data", payload)
    inner = block[block.index(">") + 1 : block.rindex("</script>")]
    assert "<" not in inner and ">" not in inner and "&" not in inner
    assert json.loads(inner) == payload
    assert block.count("</script>") == 1


def test_table_escapes_every_cell() -> None:
    html = table([("<b>x</b>", 1)], ["<i>h</i>", "n"], {1})
    assert "<b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert '<td class="num">1</td>' in html


def test_page_loads_nothing_from_elsewhere() -> None:
    document = page("T <x>", "s", "<p>body</p>", script="var a = 1;")
    assert "T &lt;x&gt;" in document
    assert "default-src 'none'" in document
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", document)
