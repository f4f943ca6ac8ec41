"""The inspectors' page says everything in both its languages, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

JS = (Path(__file__).parents[2] / "cloud/inspector/static/i18n.js").read_text(encoding="utf-8")
APP = (Path(__file__).parents[2] / "cloud/inspector/static/app.js").read_text(encoding="utf-8")
HTML = (Path(__file__).parents[2] / "cloud/inspector/static/index.html").read_text(encoding="utf-8")


def _texts(lang: str) -> dict[str, str]:
    block = JS[JS.index(f"\n  {lang}: {{") :]
    block = block[: block.index("\n  },")]
    return dict(re.findall(r'^\s+"([\w.]+)": "((?:[^"\\]|\\.)*)",?$', block, re.M))


def test_every_text_is_in_english_and_chinese_with_the_same_placeholders() -> None:
    en, zh = _texts("en"), _texts("zh")
    assert len(en) > 50 and set(en) == set(zh), set(en) ^ set(zh)
    for key, text in en.items():
        assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}", zh[key])), key


def test_every_key_the_page_uses_has_a_text() -> None:
    used = set(re.findall(r'\bt\("([\w.]+)"', APP)) | set(re.findall(r'data-i18n[\w-]*="([\w.]+)"', HTML))
    used |= set(re.findall(r'"(pending\.full|clear\.nophoto)"', APP))  # chosen, then passed to t()
    groups = re.findall(r'texts: "(\w+)", reasons: \[([^\]]*)\]', APP)  # askWhy's dialogs
    assert groups
    for texts, reasons in groups:
        used |= {f"{texts}.{part}" for part in ("title", "note", "send")} | set(
            re.findall(r'"([\w.]+)"', reasons)
        )
    for first in re.findall(r"askPick\(([^,]*),", APP):  # askWho's dialogs: "send", or "resend"
        for texts in re.findall(r'"(\w+)"', first):
            used |= {f"{texts}.{part}" for part in ("title", "note", "send")}
    used |= set(re.findall(r'askPick\([^;]*?"(\w+\.label)"', APP))
    assert {"send.title", "resend.title", "send.label", "why.label", "act.redispatch"} <= used
    assert used and used <= set(_texts("en")), used - set(_texts("en"))
