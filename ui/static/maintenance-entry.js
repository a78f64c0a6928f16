/* The technician's discreet way in from any citizen screen: hold a finger on the top-left corner for a few seconds.
   A separate file so the citizen script stays the citizen UI's own; included from base.html. */
(function () {
  "use strict";
  var script = document.currentScript;
  var url = (script && script.dataset.url) || "/maintenance/login";
  var holdMs = parseInt((script && script.dataset.holdMs) || "2500", 10);
  var corner = 90; /* px from the top-left corner */
  var timer = null;
  function cancel() { if (timer) { clearTimeout(timer); timer = null; } }
  document.addEventListener("pointerdown", function (e) {
    cancel();
    if (e.clientX <= corner && e.clientY <= corner) {
      timer = setTimeout(function () { timer = null; window.location.assign(url); }, holdMs);
    }
  }, { passive: true });
  ["pointerup", "pointercancel", "pointerleave"].forEach(function (ev) { document.addEventListener(ev, cancel, { passive: true }); });
  document.addEventListener("pointermove", function (e) {
    if (timer && (e.clientX > corner || e.clientY > corner)) { cancel(); }
  }, { passive: true });
})();
