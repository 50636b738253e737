// The compose form: show the knobs of the chosen preset (each preset's fieldset carries its own values).
(function () {
  "use strict";
  var preset = document.getElementById("preset");
  if (!preset) { return; }
  function pick() {
    var sets = document.querySelectorAll("fieldset[data-preset]");
    for (var i = 0; i < sets.length; i++) {
      sets[i].disabled = sets[i].getAttribute("data-preset") !== preset.value;
    }
  }
  preset.addEventListener("change", pick);
  pick();
})();
// A knob moved away from the preset's value is marked, so the changes are easy to see before starting.
(function () {
  "use strict";
  function mark(e) {
    var t = e.target;
    if (!t.hasAttribute || !t.hasAttribute("data-preset-value")) { return; }
    t.classList.toggle("changed", t.value !== "" && Number(t.value) !== Number(t.getAttribute("data-preset-value")));
  }
  document.addEventListener("input", mark);
})();
