// Supervisors' live tables (data-live-refresh) reload through htmx on desk events.
(function () {
  "use strict";
  // Desk events that change who owns what: refresh the counts, at most once a second.
  const RELEVANT = /^(ticket\.|message\.created$|customer\.merged|customer\.unmerged)/;
  let timer = null;
  document.addEventListener("desk:event", function (event) {
    const detail = event.detail || {};
    if (!RELEVANT.test(detail.type || "")) return;
    if (timer) return;
    timer = window.setTimeout(function () {
      timer = null;
      document.querySelectorAll("[data-live-refresh]").forEach(function (element) {
        if (element.querySelector("input[type=checkbox]:checked")) return;  // keep a selection
        if (window.htmx) htmx.trigger(element, "desk:refresh");
      });
    }, 1000);
  });
})();
