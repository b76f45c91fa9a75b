/* What every map of hakama shares: Leaflet's controls in the page's language, the optional base
   layer (a tile server the operator named, or hakama's own /tiles/ from an MBTiles file) with its
   credit, and the credits of the outlines. The settings come from the page's JSON block
   #map-config, written by the server in the page's language. Load after leaflet.js. */
(function () {
  "use strict";
  if (!window.L) { return; }
  var config = null;

  function settings() {
    if (config) { return config; }
    var el = document.getElementById("map-config");
    try { config = el ? JSON.parse(el.textContent) : {}; } catch (e) { config = {}; }
    config.labels = config.labels || {};
    return config;
  }

  /* Leaflet writes attributions as HTML: give it escaped text only. */
  function escaped(text) {
    var span = document.createElement("span");
    span.textContent = text;
    return span.innerHTML;
  }

  /* create(element, leafletOptions, {credits: ["…"], creditsControl: true})
     → a Leaflet map with translated zoom buttons and popup close buttons, and the base layer. */
  function create(el, options, extra) {
    var cfg = settings();
    var labels = cfg.labels;
    var rtl = document.documentElement.dir === "rtl";
    extra = extra || {};
    var map = L.map(el, L.extend({}, options || {}, { zoomControl: false, attributionControl: false }));
    L.control.zoom({
      position: rtl ? "topright" : "topleft",
      zoomInTitle: labels.zoom_in || "Zoom in",
      zoomOutTitle: labels.zoom_out || "Zoom out"
    }).addTo(map);
    /* Leaflet names the popup's close button in English: name it in the page's language. */
    map.on("popupopen", function (e) {
      var button = e.popup && e.popup._closeButton;
      if (button) {
        button.setAttribute("aria-label", labels.close || "Close");
        button.setAttribute("title", labels.close || "Close");
      }
    });
    var credits = [];
    var base = cfg.basemap;
    if (base && base.url) {
      var layer = L.tileLayer(base.url, {
        minZoom: base.min_zoom || 0,
        maxZoom: base.max_zoom || 19,
        maxNativeZoom: base.max_zoom || 19,
        className: "basemap",
        crossOrigin: false
      });
      layer.addTo(map);
      map.hakamaBasemap = layer;
      if (base.attribution) { credits.push(base.attribution); }
    }
    if (extra.credits) { credits = credits.concat(extra.credits.filter(Boolean)); }
    /* On a phone, credits on the map would cover it: small maps print them below instead
       (extra.creditsControl false), but a base layer's credit always shows on the map. */
    var onMap = extra.creditsControl ? credits : (base && base.attribution ? [base.attribution] : []);
    if (onMap.length) {
      /* The credits come in the page's language (their Latin names already isolated by the
         server): each is its own isolate, so one credit's direction cannot reorder the next. */
      var control = L.control.attribution({
        prefix: '<bdi dir="ltr">Leaflet</bdi>', position: rtl ? "bottomleft" : "bottomright"
      });
      control.addAttribution(onMap.map(function (c) { return "<bdi>" + escaped(c) + "</bdi>"; }).join(" · "));
      control.addTo(map);
      control.getContainer().dir = rtl ? "rtl" : "ltr";
    }
    el.hakamaMap = map; /* browser tests and other scripts find the map on its element */
    return map;
  }

  window.hakamaMap = { create: create, settings: settings };
})();
