"""Accessibility in Debian's Chromium: the whole flow on the tactile keypad alone, spoken prompts on every screen
(recorded from what the page asked to say, checked against the catalogue and the generated audio, never a PIN
digit), and the large-text and high-contrast screens axe-clean with nothing cut off at 200% text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from kiosk.speech import SPEECH_DIR, Catalogue, load_manifest, problems
from tests.e2e.checks import screen_problems
from tests.e2e.live import LiveKiosk, kiosk_context_args
from tests.e2e.walk import SITI, slow_printers, walk_all_screens

pytestmark = pytest.mark.e2e

FOCUS_RING_JS = """() => { const f = document.activeElement; const el = f.closest('label') || f;
  const s = getComputedStyle(el);
  return {id: f.id, outline: parseFloat(s.outlineWidth), style: s.outlineStyle, shadow: s.boxShadow}; }"""


def focused(page: Page) -> dict[str, Any]:
    return page.evaluate(FOCUS_RING_JS)


def assert_focus_visible(page: Page, element_id: str) -> None:
    """The keypad's focus is on ``element_id`` (after the page's script has placed it) with the large ring."""
    page.wait_for_function("(id) => document.activeElement && document.activeElement !== document.body "
                           "&& document.activeElement.id === id", arg=element_id, timeout=5_000)
    ring = focused(page)
    assert ring["id"] == element_id, ring
    assert ring["outline"] >= 6 and ring["style"] == "solid" and "14px" in ring["shadow"], ring


def tab_to(page: Page, element_id: str, limit: int = 25) -> None:
    for _ in range(limit):
        if focused(page)["id"] == element_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached #{element_id}")


def printed(live: LiveKiosk) -> dict[str, int]:
    return {d: len(live.sim.cups.printed_files(live.sim.queue(d).name)) for d in ("card_printer", "document_printer")}


def test_the_whole_flow_with_the_keypad_alone(kiosk_page: Page, live: LiveKiosk) -> None:
    page = kiosk_page
    page.goto("/")
    page.keyboard.press("Tab")  # nothing focused yet: the first key starts on the screen's main control
    assert_focus_visible(page, "type-nik")
    page.keyboard.press("Enter")
    page.wait_for_url("**/nik")
    assert_focus_visible(page, "nik")
    page.keyboard.press("F1")  # help, and Escape back to where the citizen was
    page.wait_for_url("**/help**")
    page.keyboard.press("Escape")
    page.wait_for_url("**/nik")
    assert_focus_visible(page, "nik")
    page.keyboard.type(SITI[:-1] + "9")
    page.keyboard.press("Backspace")  # clear one
    page.keyboard.type(SITI[-1])
    expect(page.locator("#nik")).to_have_value(" ".join(SITI[i:i + 4] for i in range(0, 16, 4)))
    page.keyboard.press("Enter")
    page.wait_for_url("**/pin")
    assert_focus_visible(page, "pin")
    page.keyboard.type(live.pins[SITI].pin)
    page.keyboard.press("Enter")
    page.wait_for_url("**/documents")
    assert_focus_visible(page, "")  # the first document's checkbox (no id): its label carries the ring
    first = page.locator('input[name="doc"]').first
    page.keyboard.press("Enter")  # leave the first document out, then take it back
    expect(first).not_to_be_checked()
    page.keyboard.press("Enter")
    expect(first).to_be_checked()
    page.keyboard.press("ArrowDown")  # the arrows move like Tab
    expect(page.locator('input[name="doc"]').nth(1)).to_be_focused()
    tab_to(page, "print")
    assert_focus_visible(page, "print")
    slow_printers(live, 0.3)
    page.keyboard.press("Enter")
    page.wait_for_url("**/check")  # "Periksa data Anda": the keypad starts on "Data benar, cetak"
    assert_focus_visible(page, "data-ok")
    page.keyboard.press("Enter")
    page.wait_for_url("**/done", timeout=30_000)
    expect(page.locator("#result")).to_have_attribute("data-result", "ok")
    assert_focus_visible(page, "finish")
    page.keyboard.press("Enter")
    page.wait_for_url("**/")
    assert printed(live) == {"card_printer": 1, "document_printer": 2}  # what came out of the simulated printers
    assert live.kiosk.sessions.active() == []


def test_escape_cancels_and_goes_back(kiosk_page: Page, live: LiveKiosk) -> None:
    page = kiosk_page
    page.goto("/nik")
    page.keyboard.press("Tab")
    assert_focus_visible(page, "nik")
    page.keyboard.press("Escape")
    page.wait_for_url("**/")
    page.goto("/nik")
    assert_focus_visible(page, "nik")
    page.keyboard.type(SITI)
    page.keyboard.press("Enter")
    page.wait_for_url("**/pin")
    assert_focus_visible(page, "pin")
    page.keyboard.type("12")
    page.keyboard.press("Escape")  # cancel: the session ends, nothing was asked of central
    page.wait_for_url("**/")
    assert live.kiosk.sessions.active() == []


@pytest.fixture
def listening(browser: Browser, live: LiveKiosk) -> Iterator[tuple[Page, list[dict[str, Any]]]]:
    """A kiosk page that records every request to speak (path, kind, text, clips) across navigations."""
    ctx = browser.new_context(**kiosk_context_args(live.url))
    ctx.set_default_timeout(10_000)
    said: list[dict[str, Any]] = []
    errors: list[str] = []
    ctx.expose_binding("admSpoke", lambda source, d: said.append({**d, "path": source["page"].url}))
    ctx.add_init_script("document.addEventListener('adm-speak', e => window.admSpoke(e.detail))")
    page = ctx.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page, said
    ctx.close()
    assert not errors, errors


def screen_said(said: list[dict[str, Any]], path: str, lang: str = "id") -> list[str]:
    return [s["text"] for s in said if s["kind"] == "screen" and s["path"].split("?")[0].endswith(path)
            and s["lang"] == lang]


@pytest.mark.parametrize("lang", ["id", "en"])
def test_with_a_headset_every_screen_speaks_and_no_pin_digit_is_said(
        listening: tuple[Page, list[dict[str, Any]]], live: LiveKiosk, lang: str) -> None:
    if problems(Catalogue.load()):
        pytest.fail(f"the spoken prompts are missing or out of date: {problems(Catalogue.load())}")
    page, said = listening
    catalogue = Catalogue.load().messages[lang]
    manifest = load_manifest(lang)
    assert manifest is not None
    live.kiosk.simulator.plug_headset()  # type: ignore[attr-defined]
    page.goto("/")
    if lang == "en":
        page.locator("#lang").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
    screens = {"/": "welcome", "/nik": "nik", "/pin": "pin", "/documents": "documents", "/check": "check",
               "/printing": "printing", "/done": "done"}

    def heard(path: str) -> list[str]:
        for _ in range(50):
            texts = screen_said(said, path, lang)
            if texts:
                return texts
            page.wait_for_timeout(100)
        raise AssertionError(f"{screens[path]}: nothing spoken")

    welcome = heard("/")
    assert welcome[0] == page.locator("h1").inner_text()
    assert len(welcome) >= 5  # title, what to do, and the three steps the welcome teaches
    page.wait_for_function("() => document.activeElement.id === 'type-nik'")  # speech on: the keypad starts there
    page.keyboard.press("Enter")
    page.wait_for_url("**/nik")
    assert heard("/nik")[0] == page.locator("h1").inner_text()
    page.keyboard.type(SITI)
    page.keyboard.press("Enter")
    page.wait_for_url("**/pin")
    assert heard("/pin")[0] == page.locator("h1").inner_text()
    pin = live.pins[SITI].pin
    wrong = "000000" if pin != "000000" else "111111"
    before_wrong = len(said)
    page.keyboard.type(wrong)
    page.keyboard.press("Enter")  # a wrong PIN: the error is said with the screen, in the citizen's language
    expect(page.locator("#pin-error")).not_to_be_empty()
    error = page.locator("#pin-error").inner_text()
    for _ in range(50):
        if error in [s["text"] for s in said[before_wrong:] if s["kind"] == "screen"]:
            break
        page.wait_for_timeout(100)
    else:
        raise AssertionError(f"the PIN error was not spoken: {said[before_wrong:]}")
    page.wait_for_function("() => document.activeElement.id === 'pin'")
    on_pin = len(said)
    page.keyboard.type(pin)
    page.wait_for_timeout(300)
    while_typing = said[on_pin:]
    ticks = [s for s in while_typing if s["kind"] == "tick"]
    assert len(ticks) == 6 and all(s["clips"] == ["tick.wav"] for s in ticks)
    counts = [s["text"] for s in while_typing if s["kind"] == "count"]
    assert counts == (["6 dari 6 angka"] if lang == "id" else ["6 of 6 digits"])
    assert {s["kind"] for s in while_typing} <= {"tick", "count"}
    page.keyboard.press("Enter")
    page.wait_for_url("**/documents")
    assert heard("/documents")[0] == page.locator("h1").inner_text()
    slow_printers(live, 0.8)
    tab_to(page, "print")
    page.keyboard.press("Enter")
    page.wait_for_url("**/check")  # "Periksa data Anda" speaks too, and the keypad starts on "Data benar, cetak"
    assert heard("/check")[0] == page.locator("h1").inner_text()
    page.wait_for_function("() => document.activeElement.id === 'data-ok'")
    page.keyboard.press("Enter")
    page.wait_for_url("**/printing")
    assert heard("/printing")
    page.wait_for_url("**/done", timeout=30_000)
    assert heard("/done")[0] == page.locator("h1").inner_text()
    progress = [s["text"] for s in said if s["kind"] == "live" and "/printing" in s["path"]]
    assert progress, "printing progress was not spoken"

    # Everything asked to be said: in the catalogue, with current audio; never the PIN, never a PIN digit alone.
    numbers = {str(n) for n in range(121)}
    templates = [re.compile("^" + r"\s*([0-9]+(?:[.:][0-9]+)?)\s*".join(re.escape(" ".join(p.split()))
                                                                       for p in re.split(r"%\(\w+\)[sd]", t)) + "$")
                 for t in manifest["templates"]]  # type: ignore[union-attr]
    assert all(s["lang"] == lang for s in said if s["path"].split("?")[0] != live.url + "/")
    for s in (s for s in said if s["lang"] == lang):
        assert not s["missing"], f"not in the catalogue, so not spoken: {s}"
        assert pin not in s["text"].replace(" ", "") and wrong not in s["text"].replace(" ", "")
        if s["kind"] == "tick":
            continue
        text = s["text"]
        assert text in catalogue or text in numbers or any(t.match(text) for t in templates), s
        for clip in s["clips"]:
            assert (SPEECH_DIR / lang / clip).is_file(), clip
    on_pin_page = [s for s in said if s["path"].endswith("/pin")]
    assert not [s for s in on_pin_page if s["kind"] == "digit"]
    served = page.request.get(f"/speech/{lang}/{manifest['texts'][welcome[0]]}")  # type: ignore[index]
    assert served.ok and served.headers["content-type"].startswith("audio/")


def test_the_speech_key_turns_speech_on_for_this_session_only(
        listening: tuple[Page, list[dict[str, Any]]], live: LiveKiosk) -> None:
    page, said = listening
    page.goto("/nik")
    page.wait_for_timeout(1500)
    assert said == []  # no headset: silent
    page.keyboard.press("F2")
    page.wait_for_timeout(300)
    assert said[0]["kind"] == "speech-key" and said[0]["text"].startswith("Suara aktif")
    assert screen_said(said, "/nik")[0] == "Ketik NIK"
    page.keyboard.press("Escape")  # back to the start: still this citizen's session, still speaking
    page.wait_for_url("**/")
    page.wait_for_timeout(1200)
    assert screen_said(said, "/")
    page.goto("/nik")
    page.keyboard.type(SITI)
    page.keyboard.press("Enter")
    page.wait_for_url("**/pin")
    page.keyboard.press("Escape")  # the session ends: the next citizen starts silent
    page.wait_for_url("**/")
    before = len(said)
    page.reload()
    page.wait_for_timeout(1500)
    assert said[before:] == []


CUT_OFF_JS = """() => {
  const out = [];
  const vw = document.documentElement.clientWidth;
  const sw = document.documentElement.scrollWidth;
  if (sw > vw + 1) out.push(`page scrolls sideways: ${sw} > ${vw}`);
  for (const el of document.querySelectorAll('main *, header *, footer *')) {
    if (el.closest('[hidden]') || !el.getClientRects().length) continue;
    const s = getComputedStyle(el);
    const r = el.getBoundingClientRect();
    if (r.right > vw + 1 && s.position !== 'fixed') out.push(`${el.tagName}#${el.id} ends at ${Math.round(r.right)}`);
    const clips = el.tagName === 'INPUT' || (s.overflowX !== 'visible' && s.overflowX !== '');
    if (clips && el.scrollWidth > el.clientWidth + 1) out.push(`${el.tagName}#${el.id} cuts off its content`);
  }
  return out.slice(0, 8);
}"""


@pytest.mark.parametrize("mode", ["text-large", "contrast-high"])
def test_large_text_and_contrast_screens_are_clean(browser: Browser, live: LiveKiosk, tmp_path: Path,
                                                   mode: str) -> None:
    """Every screen in the mode (the mode's class kept on across sessions here, since the walk ends several): axe,
    the usual touch and type checks, the toggles one tap away, and at 200% text nothing cut off."""
    ctx = browser.new_context(**kiosk_context_args(live.url))
    ctx.set_default_timeout(15_000)
    ctx.add_init_script(f"document.addEventListener('DOMContentLoaded', () => "
                        f"document.documentElement.classList.add('{mode}'))")
    page = ctx.new_page()
    found: dict[str, list[str]] = {}

    def visit(name: str) -> None:
        problems_here = screen_problems(page)
        if page.locator("#pref-large").count():
            if not (page.locator("#pref-large").is_visible() and page.locator("#pref-contrast").is_visible()):
                problems_here.append("the large-text and contrast toggles are not one tap away")
        elif name not in ("printing",):
            problems_here.append("no large-text toggle")
        before = page.evaluate("() => getComputedStyle(document.documentElement).fontSize")
        page.evaluate("() => { document.documentElement.style.fontSize = '60px'; }")  # 200% of the 30 px base
        problems_here += [f"at 200%: {p}" for p in page.evaluate(CUT_OFF_JS)]
        page.evaluate("() => { document.documentElement.style.fontSize = ''; }")
        assert page.evaluate("() => getComputedStyle(document.documentElement).fontSize") == before
        if problems_here:
            found[name] = problems_here

    try:
        seen = walk_all_screens(page, live, "id", visit)
    finally:
        ctx.close()
    assert {"welcome", "nik", "pin", "documents", "printing", "done", "help", "locked"} <= set(seen)
    assert not found, "\n".join(f"{k}: {p}" for k, v in found.items() for p in v)


def test_the_idle_question_is_spoken_with_its_button(listening: tuple[Page, list[dict[str, Any]]],
                                                      live: LiveKiosk) -> None:
    page, said = listening
    live.kiosk.simulator.plug_headset()  # type: ignore[attr-defined]
    page.clock.install()
    page.goto("/nik")
    page.wait_for_function("() => document.activeElement.id === 'nik'")
    cfg = live.kiosk.cfg.session
    page.clock.run_for((cfg.idle_timeout_s - cfg.warn_before_s + 2) * 1000)
    expect(page.locator("#idle")).to_be_visible()
    page.wait_for_timeout(300)
    alert = [s["text"] for s in said if s["kind"] == "alert"]
    assert alert[:1] == ["Masih di sana?"]
    assert len(alert) == 2  # the question and its countdown once, not at every second
    assert [s["text"] for s in said if s["kind"] == "focus"][-1] == "Ya, lanjutkan"
    page.clock.run_for(3000)
    assert len([s for s in said if s["kind"] == "alert"]) == 2
