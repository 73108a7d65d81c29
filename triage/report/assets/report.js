(function () {
  "use strict";
  var NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
  function sortKey(row, index) {
    var cell = row.cells[index];
    if (!cell) { return ""; }
    var value = cell.getAttribute("data-sort");
    return (value === null ? cell.textContent : value).trim();
  }
  function compare(a, b) {
    if (NUMBER.test(a) && NUMBER.test(b)) { return parseFloat(a) - parseFloat(b); }
    return a.localeCompare(b, undefined, {numeric: true, sensitivity: "base"});
  }
  function sortTable(table, th) {
    var body = table.tBodies[0];
    if (!body) { return; }
    var index = th.cellIndex;
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    var cells = th.parentNode.cells;
    for (var i = 0; i < cells.length; i++) { cells[i].setAttribute("aria-sort", "none"); }
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var rows = [];
    for (var j = 0; j < body.rows.length; j++) {
      rows.push({row: body.rows[j], key: sortKey(body.rows[j], index), at: j});
    }
    rows.sort(function (x, y) {
      if (x.key === "" || y.key === "") {
        if (x.key === y.key) { return x.at - y.at; }
        return x.key === "" ? 1 : -1;
      }
      var order = compare(x.key, y.key);
      return (ascending ? order : -order) || x.at - y.at;
    });
    for (var k = 0; k < rows.length; k++) { body.appendChild(rows[k].row); }
  }
  function filterTable(id) {
    var table = document.getElementById(id);
    if (!table) { return; }
    var input = document.querySelector('input[data-filter="' + id + '"]');
    var select = document.querySelector('select[data-filter-status="' + id + '"]');
    var terms = input ? input.value.toLowerCase().split(/\s+/).filter(Boolean) : [];
    var status = select ? select.value : "";
    var shown = 0, total = 0;
    var body = table.tBodies[0];
    var rows = body ? body.rows : [];
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      var text = row.textContent.toLowerCase();
      var ok = (!status || row.getAttribute("data-status") === status) &&
        terms.every(function (term) { return text.indexOf(term) !== -1; });
      row.hidden = !ok;
      total += 1;
      if (ok) { shown += 1; }
    }
    var count = document.querySelector('[data-count="' + id + '"]');
    if (count) {
      count.textContent = shown === total ? count.getAttribute("data-all") || "" : shown + " of " + total + " shown";
    }
    var empty = document.querySelector('[data-empty="' + id + '"]');
    if (empty) { empty.hidden = shown !== 0 || total === 0; }
  }
  function init() {
    document.documentElement.className += " js";
    var tables = document.querySelectorAll("table.sortable");
    Array.prototype.forEach.call(tables, function (table) {
      var head = table.tHead;
      if (!head || !head.rows.length) { return; }
      Array.prototype.forEach.call(head.rows[0].cells, function (th) {
        th.tabIndex = 0;
        th.setAttribute("aria-sort", "none");
        th.addEventListener("click", function () { sortTable(table, th); });
        th.addEventListener("keydown", function (event) {
          if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sortTable(table, th); }
        });
      });
    });
    var controls = document.querySelectorAll("[data-filter], [data-filter-status]");
    Array.prototype.forEach.call(controls, function (control) {
      var id = control.getAttribute("data-filter") || control.getAttribute("data-filter-status");
      var run = function () { filterTable(id); };
      control.addEventListener("input", run);
      control.addEventListener("change", run);
      if (control.value) { run(); }
    });
    window.addEventListener("beforeprint", function () {
      Array.prototype.forEach.call(document.querySelectorAll("details:not(.long)"), function (d) { d.open = true; });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
