// The citizen page's chart: score over time, list spells below it, sanctions marked (data from the page).
(function () {
  "use strict";
  var holder = document.getElementById("citizen-chart");
  var data = document.getElementById("citizen-chart-data");
  if (!holder || !data || typeof Plotly === "undefined") { return; }
  var fig = JSON.parse(data.textContent);
  Plotly.newPlot(holder, fig.data, fig.layout, {displaylogo: false, responsive: true});
})();
