/* ADM kiosk: keypads, idle countdown, polling. No framework; served locally (the kiosk may be offline).
   All text shown comes from the page (translated on the server); this file holds none. */
(function () {
  "use strict";
  var body = document.body;
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var page = body.dataset.page;

  function post(url, data) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, "Accept": "application/json",
                 "Content-Type": "application/x-www-form-urlencoded" },
      body: data || ""
    });
  }
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); });
  }
  /* Back to the welcome screen; `reason` lets it say why (timeout, e-KTP taken off). */
  function goHome(reason) {
    var home = body.dataset.homeUrl || "/";
    window.location.assign(reason ? home + "?ended=" + encodeURIComponent(reason) : home);
  }

  /* No context menu, no long-press selection, no pinch zoom on a kiosk. */
  document.addEventListener("contextmenu", function (e) { e.preventDefault(); });
  document.addEventListener("selectstart", function (e) { e.preventDefault(); });
  document.addEventListener("gesturestart", function (e) { e.preventDefault(); });

  /* A second tap on a slow screen must not send the form twice. */
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function () {
      setTimeout(function () {
        document.querySelectorAll('button[type="submit"]').forEach(function (b) { b.disabled = true; });
      }, 0);
    });
  });

  /* Keypads: digits only, a fixed length, grouped for reading (NIK: 4-4-4-4), Next enabled when complete. */
  document.querySelectorAll("form.keypad-form").forEach(function (form) {
    var input = form.querySelector("input.display");
    var next = form.querySelector("#next");
    var counter = form.querySelector(".typed-count");
    var length = parseInt(form.dataset.length, 10);
    var group = parseInt(form.dataset.group || "0", 10);
    var digits = (input.value || "").replace(/\D/g, "").slice(0, length);
    function show() {
      input.value = group ? digits.replace(new RegExp("(\\d{" + group + "})(?=\\d)", "g"), "$1 ") : digits;
      if (counter) { counter.textContent = String(digits.length); }
      if (next) { next.disabled = digits.length !== length; }
    }
    function press(k) {
      var before = digits.length;
      if (k === "clear") { digits = ""; }
      else if (k === "back") { digits = digits.slice(0, -1); }
      else if (/^[0-9]$/.test(k) && digits.length < length) { digits += k; }
      show();
      /* For speech (a11y.js): which key and how many digits now; a secret form's listener never says the key. */
      if (digits.length !== before || k === "clear" || k === "back") {
        form.dispatchEvent(new CustomEvent("keypad", { bubbles: true,
          detail: { key: k, count: digits.length, length: length } }));
      }
    }
    form.querySelectorAll(".key").forEach(function (key) {
      key.addEventListener("click", function () { press(key.dataset.key); });
    });
    /* The tactile keypad (README "Accessibility"): digits type, Backspace clears one, Enter is OK. Enter on another
       control (Back, Cancel, an on-screen key) presses that control instead. */
    document.addEventListener("keydown", function (e) {
      var active = document.activeElement;
      var onOther = active && active !== document.body && active !== input;
      if (/^[0-9]$/.test(e.key)) { e.preventDefault(); press(e.key); }
      else if (e.key === "Backspace") { e.preventDefault(); press("back"); }
      else if (e.key === "Enter" && !onOther && next && !next.disabled) { e.preventDefault(); form.requestSubmit(next); }
    });
    form.addEventListener("submit", function () { input.value = digits; });
    show();
  });

  /* Documents: Print is possible only with at least one document chosen. */
  var printForm = document.getElementById("print-form");
  if (printForm) {
    var printBtn = document.getElementById("print");
    var none = document.getElementById("none-chosen");
    var boxes = printForm.querySelectorAll('input[name="doc"]');
    var update = function () {
      var any = Array.prototype.some.call(boxes, function (b) { return b.checked; });
      printBtn.disabled = !any;
      none.hidden = any;
    };
    boxes.forEach(function (b) { b.addEventListener("change", update); });
    update();
  }

  /* Idle timeout: a visible countdown ("Are you still there?"), then back to the start. */
  var timeout = parseInt(body.dataset.idleTimeout || "0", 10);
  var warn = parseInt(body.dataset.idleWarn || "0", 10);
  var idleAt = Date.now();
  var overlay = document.getElementById("idle");
  var count = document.getElementById("idle-count");
  /* Tell the server the citizen is still here often enough that it never ends a session the screen shows. */
  var touchEvery = Math.max(1000, Math.min(15000, timeout * 1000 / 3));
  var touchedServer = 0;
  function activity() {
    idleAt = Date.now();
    if (overlay && !overlay.hidden) { overlay.hidden = true; }
  }
  ["pointerdown", "touchstart", "keydown"].forEach(function (ev) {
    document.addEventListener(ev, activity, { passive: true, capture: true });
  });
  var stay = document.getElementById("idle-stay");
  if (stay) {
    stay.addEventListener("click", function () {
      activity();
      touchedServer = Date.now();
      post(body.dataset.touchUrl);
    });
  }
  var idleApplies = timeout > 0;  /* the server sets 0 where nothing personal is on screen, and while printing */
  var leaving = false;
  if (idleApplies) {
    setInterval(function () {
      if (leaving) { return; }
      var idle = (Date.now() - idleAt) / 1000;
      var left = Math.ceil(timeout - idle);
      if (left <= 0) {
        leaving = true;
        var reason = ["done", "welcome"].indexOf(page) >= 0 ? "" : "timeout";
        post(body.dataset.endUrl).finally(function () { goHome(reason); });
      } else if (left <= warn) {
        if (overlay.hidden) { overlay.hidden = false; stay.focus(); }
        count.textContent = String(left);
      } else if (Date.now() - touchedServer > touchEvery && idle * 1000 < touchEvery) {
        touchedServer = Date.now();
        post(body.dataset.touchUrl);
      }
    }, 250);
  }

  /* Step pages: leave when the server ended the session (timeout, e-KTP taken off the reader). */
  if (["pin", "documents"].indexOf(page) >= 0) {
    setInterval(function () {
      if (leaving) { return; }
      getJSON(body.dataset.stateUrl).then(function (s) {
        if (!s.active && !leaving) { leaving = true; goHome(s.reason || "timeout"); }
      }).catch(function () {});
    }, 1000);
  }

  /* Welcome: react to an e-KTP on the reader without a button press. */
  var welcome = document.getElementById("welcome");
  if (welcome) {
    var status = document.getElementById("card-status");
    var reading = false;
    setInterval(function () {
      if (reading) { return; }
      getJSON(welcome.dataset.pollUrl).then(function (s) {
        if (!s.available) { window.location.reload(); return; }
        if (!s.card || reading) { return; }
        reading = true;
        status.textContent = status.dataset.reading;
        post(welcome.dataset.readUrl).then(function (r) { return r.json(); }).then(function (res) {
          if (res.redirect) { window.location.assign(res.redirect); return; }
          status.textContent = res.error || "";
          setTimeout(function () { reading = false; }, 2500);
        }).catch(function () { reading = false; });
      }).catch(function () {});
    }, 500);
  }

  /* QR page: the server reads the newest camera frame on each poll; a WhatsApp QR starts the session. */
  var qr = document.getElementById("qr");
  if (qr) {
    var qrStatus = document.getElementById("qr-status");
    var qrPoll = function () {
      if (leaving) { return; }
      post(qr.dataset.pollUrl).then(function (r) { return r.json(); }).then(function (res) {
        if (res.redirect) { leaving = true; window.location.assign(res.redirect); return; }
        if (res.status === "out-of-service") { leaving = true; goHome(); return; }  /* the welcome page says so */
        qrStatus.textContent = res.message || qrStatus.dataset.looking;
        qrStatus.className = res.message ? "status error" : "status";
        setTimeout(qrPoll, 200);
      }).catch(function () { setTimeout(qrPoll, 1000); });
    };
    setTimeout(qrPoll, 100);
  }

  /* Verify page: central's verdict on a printed document's QR code (green, yellow, red). */
  var verify = document.getElementById("verify");
  if (verify) {
    var vStatus = document.getElementById("verify-status");
    var verdict = document.getElementById("verdict");
    var showing = false;
    var fill = function (id, text) {
      var el = document.getElementById(id);
      el.textContent = text || "-";
    };
    var vPoll = function () {
      if (leaving || showing) { return; }
      post(verify.dataset.pollUrl).then(function (r) { return r.json(); }).then(function (res) {
        if (res.verdict) {
          showing = true;
          verdict.className = "verdict verdict-" + res.status;
          fill("verdict-text", res.verdict);
          fill("verdict-kind", res.kind);
          fill("verdict-number", res.number);
          fill("verdict-date", res.issue_date);
          fill("verdict-office", res.signer_office || res.office);
          fill("verdict-signer", res.signer);
          fill("verdict-signed-at", res.signed_at);
          verdict.hidden = false;
          vStatus.hidden = true;
          return;
        }
        vStatus.textContent = res.message || vStatus.dataset.looking;
        vStatus.className = res.message ? "status error" : "status";
        setTimeout(vPoll, 200);
      }).catch(function () { setTimeout(vPoll, 1000); });
    };
    document.getElementById("verify-again").addEventListener("click", function () {
      verdict.hidden = true;
      vStatus.hidden = false;
      vStatus.textContent = vStatus.dataset.looking;
      showing = false;
      setTimeout(vPoll, 1500);  /* time to take the first document away */
    });
    setTimeout(vPoll, 100);
  }

  /* Out of service: come back by itself when the kiosk is available again. */
  var oos = document.getElementById("oos");
  if (oos) {
    setInterval(function () {
      getJSON(oos.dataset.pollUrl).then(function (s) { if (s.available) { goHome(); } }).catch(function () {});
    }, 5000);
  }

  /* Printing: live progress per document (polled; see bench/bench_ui.py for why not SSE), then the done screen. */
  var progress = document.getElementById("progress");
  if (progress && progress.dataset.statusUrl) {
    var poll = function () {
      getJSON(progress.dataset.statusUrl).then(function (s) {
        (s.rows || []).forEach(function (r) {
          var li = progress.querySelector('[data-doc="' + r.id + '"]');
          if (!li) { return; }
          li.className = "row state-" + r.state;
          li.querySelector(".state").textContent = r.label;
          li.querySelector(".msg").textContent = r.message || "";
        });
        if (s.done) {
          /* Hold the final marks on screen a moment (longer when something failed) before the summary. */
          var failed = (s.rows || []).some(function (r) { return r.state === "failed"; });
          setTimeout(function () { window.location.assign(progress.dataset.doneUrl); }, failed ? 2000 : 800);
        }
        else if (s.ended) { goHome(); }
        else { setTimeout(poll, 250); }
      }).catch(function () { setTimeout(poll, 1000); });
    };
    setTimeout(poll, 100);
  }

  /* Documents downloading over a slow link: the "n of m" line and each document's state. On the documents screen
     (data-stay) the line goes once all are here; the data check's wait (data-submit) sends its form once the cards
     are; a failed download goes to the PIN screen's error. */
  var dl = document.getElementById("download-progress");
  if (dl && dl.dataset.statusUrl) {
    var dlPoll = function () {
      getJSON(dl.dataset.statusUrl).then(function (s) {
        if (s.ended) { goHome(); return; }
        if (s.text) { dl.textContent = s.text; }
        Object.keys(s.docs || {}).forEach(function (id) {
          var cell = document.querySelector('[data-doc-state="' + id + '"]');
          if (cell) { cell.textContent = s.docs[id].label; cell.className = "doc-state state-" + s.docs[id].state; }
        });
        if (!s.finished) { setTimeout(dlPoll, 250); }
        else if (s.failed || !(("stay" in dl.dataset) || dl.dataset.submit)) { window.location.assign(s.url); }
        else if (dl.dataset.submit) { document.getElementById(dl.dataset.submit).submit(); }
        else { dl.remove(); }
      }).catch(function () { setTimeout(dlPoll, 1000); });
    };
    setTimeout(dlPoll, 250);
  }
})();
