// Live updates without reloading: the element with data-live is re-rendered from its
// fragment URL every data-every milliseconds, except while the user is typing in it.
(function () {
  "use strict";
  var live = document.querySelector("[data-live]");
  if (!live) { return; }
  var every = parseInt(live.getAttribute("data-every"), 10) || 2000;
  function refresh() {
    if (document.hidden || live.contains(document.activeElement) && document.activeElement.tagName === "INPUT") {
      return;
    }
    fetch(live.getAttribute("data-live"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.status === 401) { window.location.reload(); return null; }
        return response.ok ? response.text() : null;
      })
      .then(function (html) { if (html !== null) { live.innerHTML = html; } })
      .catch(function () { /* the next tick tries again */ });
  }
  window.setInterval(refresh, every);
}());
