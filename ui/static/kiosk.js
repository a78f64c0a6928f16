/* ADM kiosk: keypads, idle countdown, polling. No framework; served locally (the kiosk may be offline). */
(function () {
  "use strict";
  var body = document.body;
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

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
  function goHome() { window.location.assign("/"); }

  /* No context menu, no long-press selection on a kiosk. */
  document.addEventListener("contextmenu", function (e) { e.preventDefault(); });

  /* Keypads: digits only, a fixed length, the Next button enabled when complete. */
  document.querySelectorAll("form.keypad-form").forEach(function (form) {
    var input = form.querySelector("input.display");
    var next = form.querySelector("#next");
    var length = parseInt(form.dataset.length, 10);
    function update() { if (next) { next.disabled = input.value.length !== length; } }
    form.querySelectorAll(".key").forEach(function (key) {
      key.addEventListener("click", function () {
        var k = key.dataset.key;
        if (k === "clear") { input.value = ""; }
        else if (k === "back") { input.value = input.value.slice(0, -1); }
        else if (input.value.length < length) { input.value += k; }
        update();
        touchIdle();
      });
    });
    document.addEventListener("keydown", function (e) {
      if (/^[0-9]$/.test(e.key) && input.value.length < length) { input.value += e.key; update(); }
      else if (e.key === "Backspace") { input.value = input.value.slice(0, -1); update(); }
      else if (e.key === "Enter" && !next.disabled) { form.submit(); }
    });
    update();
  });

  /* Idle timeout: a visible countdown ("Are you still there?"), then back to the start. */
  var timeout = parseInt(body.dataset.idleTimeout || "0", 10);
  var warn = parseInt(body.dataset.idleWarn || "0", 10);
  var page = body.dataset.page;
  var idleAt = Date.now();
  var overlay = document.getElementById("idle");
  var count = document.getElementById("idle-count");
  function touchIdle() {
    idleAt = Date.now();
    if (overlay && !overlay.hidden) { overlay.hidden = true; post(body.dataset.touchUrl); }
  }
  ["click", "touchstart", "keydown"].forEach(function (ev) {
    document.addEventListener(ev, function (e) {
      if (e.target && e.target.id === "idle-stay") { return; }
      if (overlay && overlay.hidden) { idleAt = Date.now(); }
    }, { passive: true });
  });
  var stay = document.getElementById("idle-stay");
  if (stay) { stay.addEventListener("click", function () { touchIdle(); }); }
  var idleApplies = timeout > 0 && page !== "welcome" && page !== "printing" && page !== "out-of-service";
  var touchedServer = 0;
  if (idleApplies) {
    setInterval(function () {
      var idle = (Date.now() - idleAt) / 1000;
      var left = Math.ceil(timeout - idle);
      if (left <= 0) {
        post(body.dataset.endUrl).finally(goHome);
      } else if (left <= warn) {
        overlay.hidden = false;
        count.textContent = String(left);
      } else if (Date.now() - touchedServer > 15000 && idle < 5) {
        touchedServer = Date.now();
        post(body.dataset.touchUrl);
      }
    }, 250);
  }

  /* Step pages: leave when the server ended the session (timeout, e-KTP pulled). */
  if (["pin", "documents"].indexOf(page) >= 0) {
    setInterval(function () {
      getJSON(body.dataset.stateUrl).then(function (s) { if (!s.active) { goHome(); } }).catch(function () {});
    }, 1500);
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
        if (!s.card) { return; }
        reading = true;
        status.textContent = status.dataset.reading || "\u2026";
        post(welcome.dataset.readUrl).then(function (r) { return r.json(); }).then(function (res) {
          if (res.redirect) { window.location.assign(res.redirect); return; }
          status.textContent = res.error || "";
          setTimeout(function () { reading = false; }, 2500);
        }).catch(function () { reading = false; });
      }).catch(function () {});
    }, 600);
  }

  /* Out of service: come back by itself when the kiosk is available again. */
  var oos = document.getElementById("oos");
  if (oos) {
    setInterval(function () {
      getJSON(oos.dataset.pollUrl).then(function (s) { if (s.available) { goHome(); } }).catch(function () {});
    }, 5000);
  }

  /* Printing: live progress per document, then the done screen. */
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
        if (s.done) { window.location.assign(progress.dataset.doneUrl); }
        else if (s.ended) { goHome(); }
        else { setTimeout(poll, 300); }
      }).catch(function () { setTimeout(poll, 1000); });
    };
    setTimeout(poll, 150);
  }

  /* Done: back to the start by itself. */
  if (page === "done") { body.dataset.idleWarn = "0"; }
})();
