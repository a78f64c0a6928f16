/* "Panggil petugas": calls and cancels without leaving the screen, and notices when a call ended elsewhere
   (the session ended, staff signed in). The forms work without this file. No text here: it comes from the page. */
(function () {
  "use strict";
  var box = document.getElementById("call-staff");
  if (!box) { return; }
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var callForm = document.getElementById("call-staff-form");
  var coming = document.getElementById("call-staff-coming");
  var cancelForm = document.getElementById("call-staff-cancel-form");
  var busy = false;

  function show(state) {
    box.dataset.state = state;
    callForm.hidden = state === "open";
    coming.hidden = state !== "open";
  }
  function send(form, onDone) {
    if (busy) { return; }  /* a second tap while the first is on its way: one call */
    busy = true;
    fetch(form.action, {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, "Accept": "application/json",
                 "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(new FormData(form)).toString()
    }).then(function (r) { return r.json(); }).then(onDone)
      .catch(function () { form.submit(); })
      .then(function () { busy = false; });
  }
  callForm.addEventListener("submit", function (e) {
    e.preventDefault();
    send(callForm, function (d) { if (d.status === "open") { show("open"); } });
  });
  cancelForm.addEventListener("submit", function (e) {
    e.preventDefault();
    send(cancelForm, function () { show("none"); });
  });
  setInterval(function () {
    if (box.dataset.state !== "open" || busy) { return; }
    fetch(box.dataset.stateUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (d) { if (!busy && d.status !== "open") { show("none"); } })
      .catch(function () {});
  }, 3000);
})();
