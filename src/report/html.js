(function () {
  "use strict";
  var bar = document.getElementById("filters");
  var table = document.getElementById("findings");
  if (!bar || !table) {
    return;
  }
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  var selects = [
    [document.getElementById("filter-status"), "data-status"],
    [document.getElementById("filter-rule"), "data-rule"],
    [document.getElementById("filter-layer"), "data-layer"]
  ];
  var shown = document.getElementById("shown-count");
  var none = document.getElementById("no-rows");

  function apply() {
    var n = 0;
    rows.forEach(function (row) {
      var ok = selects.every(function (s) {
        return s[0].value === "" || row.getAttribute(s[1]) === s[0].value;
      });
      row.hidden = !ok;
      if (ok) {
        n += 1;
      }
    });
    shown.textContent = String(n);
    none.hidden = n !== 0 || rows.length === 0;
  }

  function reset() {
    selects.forEach(function (s) {
      s[0].value = "";
    });
    apply();
  }

  // A link to a finding that the filters hide clears the filters first.
  function reveal() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var row = id ? document.getElementById(id) : null;
    if (row && row.hidden && rows.indexOf(row) !== -1) {
      reset();
      row.scrollIntoView();
    }
  }

  selects.forEach(function (s) {
    s[0].addEventListener("change", apply);
  });
  document.getElementById("filter-reset").addEventListener("click", reset);
  window.addEventListener("hashchange", reveal);
  bar.hidden = false;
  apply();
})();
