/* ADM maintenance screens: on-screen keyboard, idle logout, camera preview. Touch only; no inline script (CSP). */
(function () {
  "use strict";
  var body = document.body;

  /* On-screen keyboard: types into the last touched field (readonly inputs: no system keyboard pops up). */
  var targets = Array.prototype.slice.call(document.querySelectorAll(".osk-target"));
  var active = targets[0] || null;
  var shift = false;
  function select(el) {
    targets.forEach(function (t) { t.classList.toggle("osk-active", t === el); });
    active = el;
  }
  targets.forEach(function (t) {
    t.addEventListener("click", function () { select(t); });
    t.addEventListener("focus", function () { select(t); });
  });
  if (active) { select(active); }
  function setShift(on) {
    shift = on;
    document.querySelectorAll(".osk-key[data-key]").forEach(function (k) {
      var ch = k.dataset.key;
      k.textContent = on ? ch.toUpperCase() : ch;
    });
    document.querySelectorAll('[data-fn="shift"]').forEach(function (b) { b.setAttribute("aria-pressed", on ? "true" : "false"); });
  }
  document.querySelectorAll(".osk-key").forEach(function (key) {
    key.addEventListener("click", function () {
      if (!active) { return; }
      var fn = key.dataset.fn;
      if (fn === "shift") { setShift(!shift); return; }
      if (fn === "back") { active.value = active.value.slice(0, -1); return; }
      if (fn === "next") {
        var i = targets.indexOf(active);
        select(targets[(i + 1) % targets.length]);
        return;
      }
      var max = parseInt(active.getAttribute("maxlength") || "200", 10);
      if (active.value.length < max) {
        active.value += shift ? key.dataset.key.toUpperCase() : key.dataset.key;
      }
      if (shift) { setShift(false); }
    });
  });
  document.querySelectorAll(".mt-preset").forEach(function (b) {
    b.addEventListener("click", function () {
      var t = document.getElementById(b.dataset.target);
      if (t) { t.value = b.dataset.text; select(t); }
    });
  });

  /* Idle logout: the server ends the session after idle_s anyway; the screen says so and leaves in time. */
  var idleS = parseInt(body.dataset.idleS || "0", 10);
  var left = document.getElementById("idle-left");
  var logoutForm = document.getElementById("logout-form");
  if (idleS > 0 && logoutForm) {
    var last = Date.now();
    var pinged = Date.now();
    var bump = function () { last = Date.now(); };
    ["click", "touchstart", "pointerdown"].forEach(function (ev) { document.addEventListener(ev, bump, { passive: true }); });
    setInterval(function () {
      var remaining = Math.ceil(idleS - (Date.now() - last) / 1000);
      if (left) { left.textContent = remaining <= 60 ? remaining + " s" : ""; }
      if (remaining <= 0) {
        document.getElementById("logout-reason").value = "idle";
        logoutForm.submit();
      } else if (Date.now() - pinged > 60000 && Date.now() - last < 60000 && body.dataset.sessionUrl) {
        pinged = Date.now();
        fetch(body.dataset.sessionUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
          .then(function (r) { if (r.status === 403) { window.location.assign("/"); } }).catch(function () {});
      }
    }, 1000);
  }

  /* Camera check: a live preview, refreshed twice a second. */
  var preview = document.getElementById("camera-preview");
  if (preview) {
    setInterval(function () { preview.src = preview.dataset.src + "?t=" + Date.now(); }, 500);
  }
})();
