// Routing rules: keyboard shortcuts, and dragging rows to reorder them.
document.addEventListener("DOMContentLoaded", function () {
  if (!window.desk || !window.desk.shortcuts) return;
  window.desk.shortcuts.register("n", "New rule: type its name", function () { document.getElementById("id_name").focus(); });
  window.desk.shortcuts.register("t", "Try a sample message", function () { document.getElementById("try_text").focus(); });
});
(function () {
  "use strict";
  // Drag a rule row to a new place: the whole order is saved in one request.
  let dragged = null;
  function table() { return document.getElementById("rule-table"); }
  document.addEventListener("dragstart", function (event) {
    const row = event.target.closest && event.target.closest("#rule-table tr[data-rule-id]");
    if (!row) return;
    dragged = row;
    row.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", row.dataset.ruleId);
  });
  document.addEventListener("dragover", function (event) {
    const row = dragged && event.target.closest && event.target.closest("#rule-table tr[data-rule-id]");
    if (!row || row === dragged) return;
    event.preventDefault();
    document.querySelectorAll("#rule-table tr.drop-target").forEach(function (r) { r.classList.remove("drop-target"); });
    row.classList.add("drop-target");
  });
  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    document.querySelectorAll("#rule-table tr.drop-target").forEach(function (r) { r.classList.remove("drop-target"); });
    dragged = null;
  });
  document.addEventListener("drop", function (event) {
    const row = dragged && event.target.closest && event.target.closest("#rule-table tr[data-rule-id]");
    if (!row || row === dragged) return;
    event.preventDefault();
    const rows = Array.from(row.parentNode.children);
    const before = rows.indexOf(dragged) > rows.indexOf(row) ? row : row.nextSibling;
    row.parentNode.insertBefore(dragged, before);
    const body = new URLSearchParams();
    row.parentNode.querySelectorAll("tr[data-rule-id]").forEach(function (r) { body.append("rule", r.dataset.ruleId); });
    const holder = table();
    body.append("csrfmiddlewaretoken", holder.querySelector("input[name=csrfmiddlewaretoken]").value);
    fetch(holder.dataset.orderUrl, {
      method: "POST", body: body, headers: { "HX-Request": "true" }, credentials: "same-origin",
    }).then(function (response) { return response.text(); }).then(function (html) {
      holder.outerHTML = html;
      if (window.htmx) htmx.process(table());
    });
  });
})();
