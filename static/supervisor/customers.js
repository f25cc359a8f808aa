// Customers: a keyboard shortcut to the search box.
document.addEventListener("DOMContentLoaded", function () {
  if (!window.desk || !window.desk.shortcuts) return;
  window.desk.shortcuts.register("/", "Search customers", function () { document.querySelector("input[name=q]").focus(); });
});
