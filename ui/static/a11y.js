/* ADM kiosk: spoken guidance, the tactile keypad, large text and high contrast. No framework; served locally.

   Speech plays audio files made ahead from the translation catalogue (tools/speech.py): a text on the page is
   spoken only if the catalogue has it (the manifest maps each text to its file; a message with numbers is its
   pieces with number clips between), so what is said is what is shown. Nothing here synthesises speech.
   Markup conventions (README "Accessibility"), so a new screen speaks without code:
     h1                       the screen's title, spoken first
     [data-speak]             then these, in page order (what to do)
     [role=alert], [role=status], [aria-live]   spoken whenever their text changes (errors, progress)
     [data-autofocus]         where the keypad starts; [data-escape] what Escape presses
     form[data-secret]        digits typed here are a neutral tick, never their names; "6 of 6 digits" when complete
   Every request to speak is announced as an "adm-speak" event (text, clips, missing), which the e2e tests record. */
(function () {
  "use strict";
  var body = document.body;
  var root = document.documentElement;
  var lang = root.lang || "id";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var base = body.dataset.speechBase || "";
  var pref = body.dataset.speech || "auto";
  var headset = false;
  var manifest = null;
  var templates = [];
  var queue = [];
  var audio = null;
  var lastKeyAt = Date.now();

  function norm(t) { return (t || "").replace(/\s+/g, " ").trim(); }
  function active() { return pref === "on" || (pref === "auto" && headset); }
  function visible(el) {
    return !el.closest("[hidden], [aria-hidden=true]") && el.getClientRects().length > 0;
  }

  /* -- from text to clips ---------------------------------------------------------------------------- */
  function escapeRe(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }
  function compile() {
    templates = (manifest.templates || []).map(function (t) {
      var parts = t.split(/%\(\w+\)[sd]/);
      var re = new RegExp("^" + parts.map(function (p) { return escapeRe(norm(p)); })
        .join("\\s*([0-9]+(?:[.:][0-9]+)?)\\s*") + "$");
      return { re: re, parts: parts.map(norm) };
    });
  }
  function numberClips(n) {
    return n.split(/[.:]/).map(function (x) {
      var v = String(parseInt(x, 10));
      return manifest.numbers[v] || null;
    });
  }
  /* The clips for one text, or null when the catalogue does not have it. */
  function clipsFor(text) {
    text = norm(text);
    if (!text) { return []; }
    if (manifest.texts[text]) { return [manifest.texts[text]]; }
    if (/^[0-9]+$/.test(text) && manifest.numbers[String(parseInt(text, 10))]) { return numberClips(text); }
    for (var i = 0; i < templates.length; i++) {
      var m = templates[i].re.exec(text);
      if (!m) { continue; }
      var out = [];
      var ok = true;
      templates[i].parts.forEach(function (p, j) {
        if (/\w/.test(p)) {
          if (manifest.texts[p]) { out.push(manifest.texts[p]); } else { ok = false; }
        }
        if (j + 1 < templates[i].parts.length) { out = out.concat(numberClips(m[j + 1])); }
      });
      if (ok && out.indexOf(null) < 0) { return out; }
    }
    return null;
  }
  /* What an element says: its whole text if the catalogue has it, else its parts, leaf by leaf. */
  function unitsOf(el, out) {
    out = out || [];
    if (el.nodeType === 3) {
      if (norm(el.textContent)) { out.push(norm(el.textContent)); }
      return out;
    }
    if (el.nodeType !== 1 || el.matches("[aria-hidden=true], [hidden], script, style, input[type=hidden]")) {
      return out;
    }
    var whole = norm(el.textContent);
    if (!whole) { return out; }
    if (manifest && clipsFor(whole)) { out.push(whole); return out; }
    el.childNodes.forEach(function (c) { unitsOf(c, out); });
    return out;
  }

  /* -- playing ---------------------------------------------------------------------------------------- */
  function announce(kind, text, clips) {
    document.dispatchEvent(new CustomEvent("adm-speak", {
      detail: { kind: kind, text: text, clips: clips || [], missing: clips === null, lang: lang } }));
  }
  function playNext() {
    if (audio || !queue.length) { return; }
    var url = queue.shift();
    audio = new Audio(url);
    var done = function () { audio = null; playNext(); };
    audio.addEventListener("ended", done);
    audio.addEventListener("error", done);
    var p = audio.play();
    if (p && p.catch) { p.catch(done); }
  }
  function stop() {
    queue = [];
    if (audio) { audio.pause(); audio = null; }
  }
  /* Speaks texts (already translated, as shown); `interrupt` drops what was still to be said. */
  function say(texts, kind, interrupt) {
    if (!manifest || !active()) { return; }
    if (interrupt) { stop(); }
    texts.forEach(function (t) {
      var clips = clipsFor(t);
      announce(kind, norm(t), clips);
      (clips || []).forEach(function (c) { queue.push(base + c); });
    });
    playNext();
  }
  function tick() {
    if (!manifest || !active()) { return; }
    stop();
    announce("tick", "", [manifest.tick]);
    queue.push(base + manifest.tick);
    playNext();
  }

  /* -- what each screen and control says ------------------------------------------------------------ */
  function screenPrompt() {
    var texts = [];
    var h1 = document.querySelector("main h1");
    if (h1 && visible(h1)) { unitsOf(h1, texts); }
    document.querySelectorAll("main [data-speak], main [role=alert]").forEach(function (el) {
      if (visible(el)) { unitsOf(el, texts); }
    });
    return texts;
  }
  function labelOf(el) {
    var texts = [];
    var secret = el.closest("form[data-secret]");
    if (secret && el.classList.contains("key") && /^[0-9]$/.test(el.dataset.key || "")) { return null; }
    if (el.getAttribute("aria-label")) { texts.push(norm(el.getAttribute("aria-label"))); }
    else if (el.id && document.querySelector('label[for="' + el.id + '"]')) {
      unitsOf(document.querySelector('label[for="' + el.id + '"]'), texts);
    } else if (el.closest("label")) { unitsOf(el.closest("label"), texts); }
    else { unitsOf(el, texts); }
    var w = body.dataset;
    if (el.type === "checkbox") { texts.push(el.checked ? w.sayChecked : w.sayUnchecked); }
    if (el.getAttribute("aria-pressed")) { texts.push(el.getAttribute("aria-pressed") === "true" ? w.sayPressed : w.sayNotPressed); }
    if (el.disabled) { texts.push(w.sayDisabled); }
    return texts;
  }
  function speakFocus(el) {
    if (!el || el === body) { return; }
    var texts = labelOf(el);
    if (texts === null) { tick(); } else { say(texts, "focus", true); }
  }
  function speakScreen() {
    say(screenPrompt(), "screen", true);
    if (document.activeElement && document.activeElement !== body) {
      var texts = labelOf(document.activeElement);
      if (texts) { say(texts, "focus", false); }
    }
  }

  document.addEventListener("focusin", function (e) { speakFocus(e.target); });
  document.addEventListener("change", function (e) {
    if (e.target.type === "checkbox") { speakFocus(e.target); }
  });
  /* Keypad digits: a tick on a secret form, the digit elsewhere; the count when complete. */
  document.addEventListener("keypad", function (e) {
    var form = e.target;
    var d = e.detail;
    var count = form.querySelector(".count");
    if (/^[0-9]$/.test(d.key)) {
      if (form.hasAttribute("data-secret")) { tick(); } else { say([d.key], "digit", true); }
    } else {
      var key = form.querySelector('.key[data-key="' + d.key + '"]');
      if (key) { say([key.getAttribute("aria-label") || key.textContent], "key", true); }
    }
    if (d.count === d.length && count) { say([count.textContent], "count", false); }
  });
  /* Errors and progress: live regions are spoken when their text changes. */
  var lastSaid = new WeakMap();  /* a poll that writes the same status again is not spoken again */
  var observer = new MutationObserver(function (records) {
    var seen = [];
    records.forEach(function (r) {
      var node = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      var region = node && node.closest("[role=alert], [role=status], [aria-live], [role=alertdialog]");
      if (!region || region.hasAttribute("data-speech-manual") || region.closest("[data-speech-manual]")) { return; }
      if (region.id === "idle") {  /* spoken when it opens, not at each second of its countdown */
        if (r.type === "attributes" && !region.hidden) { lastSaid.delete(region); } else { return; }
      }
      var unit = node.closest("li") || region;
      if (seen.indexOf(unit) < 0 && visible(unit)) { seen.push(unit); }
    });
    seen = seen.filter(function (unit) {
      var text = norm(unit.textContent);
      if (!text || lastSaid.get(unit) === text) { return false; }
      lastSaid.set(unit, text);
      return true;
    });
    seen.forEach(function (unit) {
      if (unit.id === "idle") {  /* the question, then the button the keypad is on */
        say([unit.querySelector("h2").textContent, unit.querySelector("p").textContent], "alert", true);
        if (unit.contains(document.activeElement)) { say(labelOf(document.activeElement) || [], "focus", false); }
      }
      else { say(unitsOf(unit), "live", false); }
    });
  });
  observer.observe(body, { childList: true, characterData: true, subtree: true, attributes: true,
                           attributeFilter: ["hidden"] });

  /* -- the tactile keypad ---------------------------------------------------------------------------- */
  var FOCUSABLE = 'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), [tabindex]:not([tabindex="-1"])';
  function focusables() {
    var overlay = document.getElementById("idle");
    var scope = overlay && !overlay.hidden ? overlay : document;
    return Array.prototype.filter.call(scope.querySelectorAll(FOCUSABLE), visible);
  }
  function startControl() {
    var el = document.querySelector("[data-autofocus]");
    return el && visible(el) && !el.disabled ? el : focusables().filter(function (x) { return x.closest("main"); })[0];
  }
  function move(step) {
    var list = focusables();
    var i = list.indexOf(document.activeElement);
    var next = i < 0 ? startControl() : list[(i + step + list.length) % list.length];
    if (next) { next.focus(); }
  }
  function keyMode(on) {
    root.classList.toggle("keys", on);
    try { if (on) { sessionStorage.setItem("adm-keys", "1"); } else { sessionStorage.removeItem("adm-keys"); } }
    catch (err) { /* storage off: focus rings still follow :focus-visible */ }
  }
  document.addEventListener("pointerdown", function () { keyMode(false); }, true);
  document.addEventListener("keydown", function (e) {
    lastKeyAt = Date.now();
    keyMode(true);
    var a = document.activeElement;
    var nothing = !a || a === body;
    if (e.key === "F1") {
      e.preventDefault();
      if (body.dataset.page !== "help" && body.dataset.helpUrl) { window.location.assign(body.dataset.helpUrl); }
    } else if (e.key === "F2") {
      e.preventDefault();
      setSpeech(active() ? "off" : "on");
    } else if (e.key === "Escape") {
      var overlay = document.getElementById("idle");
      var target = overlay && !overlay.hidden ? document.getElementById("idle-stay")
        : Array.prototype.filter.call(document.querySelectorAll("main [data-escape]"), visible)[0];
      if (target) { e.preventDefault(); target.click(); }
    } else if (e.key === "ArrowDown" || e.key === "ArrowRight") { e.preventDefault(); move(1); }
    else if (e.key === "ArrowUp" || e.key === "ArrowLeft") { e.preventDefault(); move(-1); }
    else if (e.key === "Tab" && nothing) { e.preventDefault(); move(0); }
    else if (e.key === "Enter" && a && a.type === "checkbox") { e.preventDefault(); a.click(); }
    else if (e.key === "Enter" && nothing && !document.querySelector("form.keypad-form")) { e.preventDefault(); move(0); }
  }, true);

  /* -- preferences: large text, contrast (one tap, this session only), speech (F2 or the headset) ---- */
  function post(data) {
    return fetch(body.dataset.a11yUrl, { method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, "Accept": "application/json",
                 "Content-Type": "application/x-www-form-urlencoded" }, body: data });
  }
  document.querySelectorAll(".a11y-toggles button[name=pref]").forEach(function (btn) {
    btn.addEventListener("click", function (e) {
      e.preventDefault();
      var on = btn.getAttribute("aria-pressed") !== "true";
      btn.setAttribute("aria-pressed", on ? "true" : "false");
      root.classList.toggle(btn.value === "large" ? "text-large" : "contrast-high", on);
      post("pref=" + encodeURIComponent(btn.value));
      speakFocus(btn);
    });
  });
  function setSpeech(value) {
    var was = active();
    if (was && value === "off") { say([body.dataset.saySpeechOff], "speech-key", true); }
    pref = value;
    post("pref=speech&value=" + value);
    if (!was && active()) { say([body.dataset.saySpeechOn], "speech-key", true); say(screenPrompt(), "screen", false); }
  }
  function pollState(first) {
    fetch(body.dataset.a11yStateUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        var was = active();
        headset = !!s.headset;
        pref = s.speech || pref;
        if (first || (!was && active())) {
          if (active() || sessionStorage.getItem("adm-keys")) {
            var start = startControl();
            if (start && document.activeElement === body) { start.focus({ preventScroll: false }); }
          }
          if (active()) { speakScreen(); }
        } else if (was && !active()) { stop(); }
      }).catch(function () {});
  }

  /* The welcome teaches: while nobody uses it, its three steps are spoken again every 45 s to a headset. */
  if (body.dataset.page === "welcome") {
    setInterval(function () {
      if (active() && !audio && !queue.length && Date.now() - lastKeyAt > 45000) { speakScreen(); lastKeyAt = Date.now(); }
    }, 5000);
  }

  try { keyMode(!!sessionStorage.getItem("adm-keys")); } catch (err) { /* no storage */ }
  fetch(base + "manifest.json", { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) { throw new Error("no speech"); } return r.json(); })
    .then(function (m) { manifest = m; compile(); })
    .catch(function () { manifest = null; })  /* espeak-ng absent: the kiosk runs silent (doctor says so) */
    .finally(function () {
      pollState(true);
      setInterval(function () { pollState(false); }, 1000);
    });
})();
