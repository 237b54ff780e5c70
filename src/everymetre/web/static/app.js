/* everymetre: small progressive enhancements. Every form works without this file. */
(function () {
  "use strict";

  function focusErrors(root) {
    var summary = root.querySelector("[data-autofocus]");
    if (summary) { summary.focus(); return; }
    var first = root.querySelector("[autofocus]");
    if (first) { first.focus(); }
  }

  // Upload with a progress bar: the same form, sent by XHR so the browser can report progress.
  function enhanceUploads(root) {
    var forms = root.querySelectorAll("form[data-upload]");
    Array.prototype.forEach.call(forms, function (form) {
      if (!window.FormData || !window.XMLHttpRequest) { return; }
      form.addEventListener("submit", function (event) {
        var input = form.querySelector("input[type=file]");
        if (!input || !input.files || input.files.length === 0) { return; } // let the server say what is missing
        event.preventDefault();
        var bar = form.querySelector("progress");
        var status = form.querySelector(".progress-text");
        var button = form.querySelector("button[type=submit]");
        var data = new FormData(form);
        data.append("action", "upload");
        var xhr = new XMLHttpRequest();
        xhr.open("POST", form.getAttribute("action")); // not form.action: a field named "action" shadows it
        if (bar) { bar.hidden = false; bar.value = 0; }
        if (button) { button.disabled = true; }
        xhr.upload.addEventListener("progress", function (e) {
          if (!e.lengthComputable) { return; }
          var pct = Math.round((e.loaded / e.total) * 100);
          if (bar) { bar.value = pct; }
          if (status) { status.textContent = pct + "%"; }
        });
        xhr.addEventListener("load", function () {
          // the answer is the page to show next (after the server's redirect), or the form with its errors
          var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
          var fresh = doc.querySelector("main");
          var main = document.querySelector("main");
          if (!fresh || !main) { window.location.assign(xhr.responseURL); return; }
          main.replaceWith(fresh);
          document.title = doc.title;
          if (xhr.status < 400 && window.history && history.replaceState) { history.replaceState(null, "", xhr.responseURL); }
          enhance(fresh);
          var target = fresh.querySelector("[data-autofocus]") || document.getElementById("evidence-h");
          if (target) { target.setAttribute("tabindex", "-1"); target.focus(); }
        });
        xhr.addEventListener("error", function () {
          if (button) { button.disabled = false; }
          if (status) { status.textContent = form.getAttribute("data-failed") || "✗"; }
        });
        xhr.send(data);
      });
    });
  }

  // "Use my current location" fills the latitude and longitude fields (shown only where it can work).
  function enhanceLocate(root) {
    var button = root.querySelector("[data-locate]");
    if (!button || !navigator.geolocation) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(function (pos) {
        var lat = document.getElementById("latitude");
        var lon = document.getElementById("longitude");
        if (lat && lon) { lat.value = pos.coords.latitude.toFixed(6); lon.value = pos.coords.longitude.toFixed(6); lat.focus(); }
      });
    });
  }

  function enhance(root) { enhanceUploads(root); enhanceLocate(root); }

  document.addEventListener("DOMContentLoaded", function () { enhance(document); focusErrors(document); });
})();
