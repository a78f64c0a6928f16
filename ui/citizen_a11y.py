"""The citizen's accessibility preferences and the spoken prompts: large text, high contrast, speech.

Preferences live in the citizen's cookie session under one key, ``SESSION_KEY``, for one
session only: ui/citizen.py drops it wherever the session ends (Finish, cancel, timeout, the
e-KTP taken off), as it drops the language, so the next citizen starts with the defaults.
Speech follows the headset (``Kiosk.headset``, a cache the watch thread fills; a request
never asks the sound card) unless the speech key (F2) set it for this session. The prompts
themselves are files made ahead by tools/speech.py; this module only serves them, and a
missing one is a 404 the page's script treats as silence.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, current_app, jsonify, redirect, request, send_from_directory, session
from flask_babel import gettext as _

from kiosk.i18n import LANGUAGES
from kiosk.speech import SPEECH_DIR
from ui.citizen import local_path

bp = Blueprint("a11y", __name__)
SESSION_KEY = "a11y"
PREFS = ("large", "contrast", "speech")
SPEECH_MODES = ("auto", "on", "off")  # auto: speak while a headset is plugged in
AUDIO_NAME = re.compile(r"^(?:[0-9a-f]{24}|tick)\.wav$|^manifest\.json$")


def headset_plugged() -> bool:
    watch = current_app.extensions["kiosk"].headset
    return watch is not None and watch.plugged()


def prefs() -> dict[str, Any]:
    saved = session.get(SESSION_KEY)
    saved = saved if isinstance(saved, dict) else {}
    speech = saved.get("speech", "auto")
    return {"large": saved.get("large") is True, "contrast": saved.get("contrast") is True,
            "speech": speech if speech in SPEECH_MODES else "auto"}


@bp.app_context_processor
def _inject() -> dict[str, Any]:
    return {"a11y": prefs()}


@bp.post("/a11y/prefs")
def set_pref() -> Any:
    """Toggles one preference (``pref`` = large | contrast; speech takes ``value`` on | off | auto)."""
    name = request.form.get("pref", "")
    if name not in PREFS:
        return jsonify(error="unknown preference"), 422
    current = prefs()
    if name == "speech":
        value = request.form.get("value", "")
        if value not in SPEECH_MODES:
            return jsonify(error="speech is on, off or auto"), 422
        current["speech"] = value
    else:
        current[name] = not current[name]
    session[SESSION_KEY] = current
    if request.accept_mimetypes.best == "application/json":
        return jsonify(current)
    return redirect(local_path(request.form.get("next")))


@bp.get("/a11y/state")
def state() -> Any:
    """Polled by every citizen page: a headset plugged in turns speech on (from the watch's cache)."""
    return jsonify(headset=headset_plugged(), **prefs())


@bp.get("/speech/<lang>/<name>")
def audio(lang: str, name: str) -> Any:
    if lang not in LANGUAGES or not AUDIO_NAME.match(name):
        abort(404)
    return send_from_directory(SPEECH_DIR / lang, name)


# Words the page's script speaks for a control's state and for the speech key; shown nowhere, so listed here for
# the catalogue (and so for the spoken prompts). base.html hands them to the script in data attributes.
def spoken_words() -> dict[str, str]:
    return {"checked": _("selected"), "unchecked": _("not selected"), "disabled": _("not available yet"),
            "speech-on": _("Speech is on. Press the speech key again to turn it off."),
            "speech-off": _("Speech is off."), "pressed": _("on"), "not-pressed": _("off")}


@bp.app_context_processor
def _words() -> dict[str, Any]:
    return {"spoken_words": spoken_words}
