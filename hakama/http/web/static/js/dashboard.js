/* One indicator's page: the series over time (uPlot) for the province and one chosen commune,
   and the communes coloured by their latest value (Leaflet, on map-base.js's optional base layer). Values come from the
   JSON block the page embeds; uncertain values are drawn as hollow points. */
(function () {
  "use strict";
  var source = document.getElementById("indicator-data");
  if (!source) { return; }
  var data = JSON.parse(source.textContent);
  var labels = data.labels;

  function text(tag, value, className) {
    var el = document.createElement(tag);
    el.textContent = value;
    if (className) { el.className = className; }
    return el;
  }

  /* Chart ------------------------------------------------------------------------------- */
  var holder = document.getElementById("indicator-chart");
  var picker = document.getElementById("chart-area");
  var chart = null;

  function onlyWhere(values, flags, wanted) {
    return values.map(function (v, i) { return flags[i] === wanted ? v : null; });
  }

  function build(code) {
    if (!holder || !window.uPlot) { return; }
    var x = data.chart.x;
    var shown = [];
    if (data.chart.province && data.chart.areas[data.chart.province]) { shown.push([data.chart.province, "#1f4e5f"]); }
    if (code && data.chart.areas[code]) { shown.push([code, "#b36f00"]); }
    var series = [{}];
    var columns = [x];
    shown.forEach(function (entry, n) {
      var area = data.chart.areas[entry[0]];
      /* The province line spans gaps; a commune's does not (a gap is a hidden or missing value). */
      series.push({ label: area.name, stroke: entry[1], width: 2, spanGaps: n === 0,
        points: { show: true, size: 6, fill: entry[1] } });
      columns.push(area.values);
      series.push({ label: "≈ " + area.name + " (" + labels.uncertain + ")", stroke: entry[1], width: 0,
        paths: function () { return null; }, points: { show: true, size: 9, width: 2, fill: "#ffffff" } });
      columns.push(onlyWhere(area.values, area.uncertain, true));
    });
    var width = Math.max(260, holder.clientWidth || 300);
    /* Months named as the page's language names them (the server sends them), numbers grouped
       as its readers group them; right-to-left pages run time from right to left, with the
       value axis on the right. */
    var number = new Intl.NumberFormat(data.number_tag || "en", { maximumFractionDigits: 2 });
    function monthTicks(u, splits) {
      var lastYear = null;
      return splits.map(function (ts) {
        var d = new Date(ts * 1000);
        var year = d.getFullYear(); /* uPlot places ticks at local month starts */
        var label = (data.months || [])[d.getMonth()] || String(d.getMonth() + 1);
        if (year !== lastYear) { label += "\n" + year; lastYear = year; }
        return label;
      });
    }
    function valueTicks(u, splits) {
      return splits.map(function (v) { return v == null ? "" : number.format(v); });
    }
    var options = {
      width: width,
      height: Math.round(Math.min(320, Math.max(220, width * 0.55))),
      series: series,
      legend: { show: true, live: false },
      scales: { x: { time: true, dir: data.rtl ? -1 : 1 } },
      axes: [
        { stroke: "#4d5d66", values: monthTicks, space: 56 },
        { stroke: "#4d5d66", label: data.unit, size: 64, side: data.rtl ? 1 : 3, values: valueTicks }
      ],
      cursor: { points: { show: false } }
    };
    if (chart) { chart.destroy(); }
    holder.textContent = "";
    chart = new uPlot(options, columns, holder);
    holder.hakamaChart = chart; /* browser tests read the drawn axes from it */
  }

  if (holder) {
    build(picker ? picker.value : data.selected);
    if (picker) { picker.addEventListener("change", function () { build(picker.value); }); }
    var lastWidth = holder.clientWidth;
    window.addEventListener("resize", function () {
      if (Math.abs(holder.clientWidth - lastWidth) > 20) { lastWidth = holder.clientWidth; build(picker ? picker.value : data.selected); }
    });
  }

  /* Map --------------------------------------------------------------------------------- */
  var mapHolder = document.getElementById("indicator-map");
  if (!mapHolder || !window.L || !window.hakamaMap || !data.map.outlines.features.length) { return; }
  var communes = data.map.communes;
  /* Zoom buttons in the page's language and the optional base layer: map-base.js. */
  var map = window.hakamaMap.create(mapHolder, { zoomSnap: 0.25, scrollWheelZoom: false });

  function style(feature) {
    var c = communes[feature.id];
    if (!c || !c.fill) {
      return { color: "#4d5d66", weight: 1, fillColor: "#ffffff", fillOpacity: 0.6, dashArray: "3 3" };
    }
    return { color: "#1f4e5f", weight: 1.2, fillColor: c.fill, fillOpacity: c.uncertain ? 0.35 : 0.85,
      dashArray: c.uncertain ? "4 3" : null, className: "commune commune-" + String(feature.id).replace(/[^A-Za-z0-9_-]/g, "-") };
  }

  function card(code) {
    var c = communes[code];
    var box = document.createElement("div");
    box.className = "map-card";
    if (!c) { box.appendChild(text("strong", labels.no_value, "map-card-name")); return box; }
    box.appendChild(text("strong", c.name, "map-card-name"));
    /* Only the number runs left to right: the unit may be Arabic words. */
    var value = document.createElement("span");
    var figure = text("bdi", (c.uncertain ? "≈ " : "") + c.text);
    figure.dir = "ltr";
    value.appendChild(figure);
    value.appendChild(document.createTextNode(" " + data.unit));
    box.appendChild(value);
    box.appendChild(text("span", " · " + c.sample + " " + labels.sample + (c.uncertain ? " · " + labels.uncertain : ""), "map-card-kind"));
    return box;
  }

  var layer = L.geoJSON(data.map.outlines, {
    style: style,
    onEachFeature: function (feature, shape) {
      var c = communes[feature.id];
      shape.bindTooltip(c ? c.name + ": " + (c.uncertain ? "≈ " : "") + c.text : String(feature.id), { sticky: true, direction: "top" });
      shape.bindPopup(function () { return card(feature.id); }, { autoPanPadding: [12, 12] });
      shape.on("click", function () { if (picker && communes[feature.id]) { picker.value = feature.id; build(feature.id); } });
    }
  }).addTo(map);
  map.fitBounds(layer.getBounds(), { padding: [8, 8] });
})();
