/* The home page map: the communes drawn from their outlines with Leaflet, on the optional base
   layer of map-base.js (none by default: works offline). Data and labels come from the JSON block the page embeds,
   already translated and formatted by the server. */
(function () {
  "use strict";
  var holder = document.getElementById("territory-map");
  var source = document.getElementById("territory-map-data");
  if (!holder || !source || !window.L || !window.hakamaMap) { return; }
  var data = JSON.parse(source.textContent);
  var labels = data.labels;

  function text(tag, value, className) {
    var el = document.createElement(tag);
    el.textContent = value;
    if (className) { el.className = className; }
    return el;
  }

  function row(list, label, value) {
    if (value === null || value === undefined || value === "") { return; }
    list.appendChild(text("dt", label));
    var dd = text("dd", value);
    dd.dir = "ltr";
    list.appendChild(dd);
  }

  /* The popup is built from text nodes, never HTML strings: names come from imported data. */
  function card(code) {
    var facts = data.communes[code] || {};
    var box = document.createElement("div");
    box.className = "map-card";
    box.appendChild(text("strong", facts.name || code, "map-card-name"));
    if (facts.kind && labels[facts.kind]) { box.appendChild(text("span", labels[facts.kind], "map-card-kind")); }
    var list = document.createElement("dl");
    row(list, labels.population, facts.approximate && facts.latest ? "≈ " + facts.latest : facts.latest);
    row(list, labels.previous, facts.previous);
    row(list, labels.change, facts.change);
    box.appendChild(list);
    if (labels.profile) {
      var more = text("a", labels.profile, "map-card-link");
      more.href = "/communes/" + encodeURIComponent(code);
      box.appendChild(more);
    }
    return box;
  }

  function style(feature) {
    var kind = (data.communes[feature.id] || {}).kind;
    return {
      className: "commune commune-" + String(feature.id).replace(/[^A-Za-z0-9_-]/g, "-"),
      color: "#1f4e5f", weight: 1.2, opacity: 1,
      fillColor: kind === "urban" ? "#d98e04" : "#5b9a8b",
      fillOpacity: kind === "urban" ? 0.75 : 0.45
    };
  }

  /* Zoom buttons in the page's language, the optional base layer, the credits on the map. */
  var map = window.hakamaMap.create(holder, { zoomSnap: 0.25, scrollWheelZoom: false }, {
    credits: data.attribution, creditsControl: true
  });

  var selected = null;
  var layer = L.geoJSON(data.outlines, {
    style: style,
    onEachFeature: function (feature, shape) {
      var facts = data.communes[feature.id] || {};
      shape.bindTooltip(facts.name || String(feature.id), { sticky: true, direction: "top" });
      shape.bindPopup(function () { return card(feature.id); }, { autoPanPadding: [12, 12] });
      shape.on("click", function () {
        if (selected) { layer.resetStyle(selected); }
        selected = shape;
        shape.setStyle({ weight: 3, color: "#0b2530" });
        shape.bringToFront();
        var rowEl = document.getElementById("commune-" + feature.id);
        document.querySelectorAll(".data-table tr.selected").forEach(function (tr) { tr.classList.remove("selected"); });
        if (rowEl) { rowEl.classList.add("selected"); }
      });
      shape.on("popupclose", function () {
        if (selected === shape) { layer.resetStyle(shape); selected = null; }
      });
    }
  }).addTo(map);
  map.fitBounds(layer.getBounds(), { padding: [8, 8] });

  /* Names in the table open the same card on the map; a name that links to the commune's
     profile keeps its link and gets a "show on the map" button beside it. */
  document.querySelectorAll(".data-table tbody tr[data-code]").forEach(function (tr) {
    var code = tr.getAttribute("data-code");
    var name = tr.querySelector("th .name");
    if (!name) { return; }
    var linked = name.tagName === "A";
    var button = text("button", linked ? (labels.on_map || "⌖") : name.textContent, "link-button");
    button.type = "button";
    if (linked) { button.setAttribute("aria-label", (labels.on_map || "") + " " + name.textContent); }
    button.addEventListener("click", function () {
      layer.eachLayer(function (shape) {
        if (shape.feature && shape.feature.id === code) {
          shape.fire("click");
          holder.scrollIntoView({ behavior: "smooth", block: "center" });
        }
      });
    });
    if (linked) {
      button.className = "link-button map-link";
      name.insertAdjacentElement("afterend", button);
    } else {
      name.textContent = "";
      name.appendChild(button);
    }
  });
})();
