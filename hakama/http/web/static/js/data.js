// The chart of a dataset page: one series over time from the JSON the page embeds (uPlot).
(function () {
  "use strict";
  var source = document.getElementById("dataset-chart-data");
  var holder = document.getElementById("dataset-chart");
  if (!source || !holder || typeof uPlot === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var width = Math.max(280, holder.clientWidth || 600);
  new uPlot({
    width: width,
    height: 240,
    series: [{}, { label: data.label, stroke: "#1b7a6e", width: 2, points: { show: data.x.length < 60 } }],
    axes: [{}, { size: 60 }],
  }, [data.x, data.y], holder);
})();
