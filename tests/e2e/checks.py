"""What every screen must satisfy: axe-core (WCAG 2.2 AA) without serious or critical findings,
touch targets of at least 64 px, large type, and no text selection.

axe-core comes from the axe-playwright-python wheel (a copy of axe.min.js inside it), injected
from disk: nothing is fetched, the kiosk may be offline and so may CI.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
MIN_TARGET_PX = 64
MIN_FONT_PX = 24


@cache
def axe_source() -> str:
    import axe_playwright_python
    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())
    result = page.evaluate("""async (tags) => {
        const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
    }""", AXE_TAGS)
    return [v for v in result if v["impact"] in ("serious", "critical")]


SMALL_TARGETS_JS = """(min) => {
  const out = [];
  const els = document.querySelectorAll('a[href], button, input:not([type=hidden]), label, select, [role=button], [tabindex]');
  for (const el of els) {
    if (el.closest('[hidden]')) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    const label = el.closest('label');
    if (el.tagName === 'INPUT' && label) continue;               /* the whole label is the target */
    if (el.tagName === 'LABEL' && !el.querySelector('input')) continue;  /* a caption, not a control */
    if (r.width < min || r.height < min) {
      out.push(`${el.tagName}#${el.id || el.className} ${Math.round(r.width)}x${Math.round(r.height)}`);
    }
  }
  return out;
}"""

SMALL_TEXT_JS = """(min) => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.textContent.trim()) continue;
    const el = node.parentElement;
    if (el.closest('[hidden], .sr-only, [aria-hidden=true]')) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (size < min) out.push(`${el.tagName}.${el.className} ${size}px: ${node.textContent.trim().slice(0, 30)}`);
  }
  return out;
}"""


def screen_problems(page: Page) -> list[str]:
    """Everything wrong with the screen as shown; empty when it passes."""
    problems = [f"axe {v['impact']}: {v['id']} ({v['help']}) at {v['nodes']}" for v in axe_violations(page)]
    problems += [f"touch target under {MIN_TARGET_PX} px: {t}" for t in page.evaluate(SMALL_TARGETS_JS, MIN_TARGET_PX)]
    problems += [f"text under {MIN_FONT_PX} px: {t}" for t in page.evaluate(SMALL_TEXT_JS, MIN_FONT_PX)]
    if page.evaluate("() => getComputedStyle(document.body).userSelect") != "none":
        problems.append("text can be selected")
    return problems
