// Statistics pages (issue #8). Charts are drawn on the server; this only helps with the builder's form:
// a dimension chosen for rows, columns or series is greyed out in the other two.
(function () {
  "use strict";
  var NAMES = ["rows", "columns", "series"];

  function sync(form) {
    var chosen = {};
    NAMES.forEach(function (name) {
      var select = form.querySelector("select[name='" + name + "']");
      if (select && select.value) { chosen[select.value] = name; }
    });
    NAMES.forEach(function (name) {
      var select = form.querySelector("select[name='" + name + "']");
      if (!select) { return; }
      Array.prototype.forEach.call(select.options, function (option) {
        option.disabled = !!option.value && chosen[option.value] !== undefined && chosen[option.value] !== name;
      });
    });
  }

  function init(root) {
    var form = (root || document).querySelector ? (root || document).querySelector("#builder-form") : null;
    if (!form) { return; }
    // With JavaScript, htmx redraws the form when the measure changes: the manual button is not needed.
    var refresh = form.querySelector("[data-stats-refresh]");
    if (refresh && window.htmx) { refresh.hidden = true; }
    sync(form);
    form.addEventListener("change", function (event) {
      if (NAMES.indexOf(event.target.name) !== -1) { sync(form); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSwap", function () { init(document); });
})();
