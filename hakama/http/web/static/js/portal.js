/* Citizen portal maps: commune outlines (on the optional base layer of map-base.js), a pin to
   place, the request points of the public list. Pages work without it (address + commune
   select). Where a pin lands, the commune is the server's answer (/api/territory/locate, the
   rule the form is checked with), so the page never promises a commune the server won't pick. */
(function () {
  "use strict";

  function readJSON(id) {
    var el = document.getElementById(id);
    if (!el) return null;
    try { return JSON.parse(el.textContent); } catch (e) { return null; }
  }

  var OUTLINE = { color: "#1d4e89", weight: 1.5, fillColor: "#ffffff", fillOpacity: 0.55 };
  var STATUS_COLOURS = {
    open: "#c25e00", acknowledged: "#1d4e89", in_progress: "#9a7d00",
    resolved: "#1f7a3a", closed: "#555b63"
  };

  function baseMap(el, communes) {
    // The credits are printed under the map: on a phone they would cover half of it.
    var map = window.hakamaMap.create(el, {});
    var layer = L.geoJSON(communes || { type: "FeatureCollection", features: [] }, {
      style: function (f) {
        return L.extend({ className: "commune-" + String(f.id || "").replace(/\W/g, "_") }, OUTLINE);
      }
    });
    layer.addTo(map);
    var bounds = layer.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [4, 4] }); else map.setView([0, 0], 2);
    return { map: map, layer: layer };
  }

  var PIN = window.L && L.divIcon ? L.divIcon({
    className: "pin",
    html: '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 44" width="32" height="44" aria-hidden="true">' +
      '<path d="M16 1C8 1 2 7 2 15c0 10 14 28 14 28s14-18 14-28C30 7 24 1 16 1z" fill="#b3261e" stroke="#fff" stroke-width="2"/>' +
      '<circle cx="16" cy="15" r="5" fill="#fff"/></svg>',
    iconSize: [32, 44], iconAnchor: [16, 43]
  }) : null;

  /* Report form: tap to place the pin (or use the phone's location); the form then says in
     words which commune the request goes to, and the citizen may choose another. */
  function pickMap() {
    var el = document.getElementById("pick-map");
    if (!el || !window.L || !window.hakamaMap) return;
    var communes = readJSON("communes-geo");
    var m = baseMap(el, communes);
    var lat = document.getElementById("lat"), lon = document.getElementById("long");
    var select = document.getElementById("commune"), status = document.getElementById("pin-status");
    var verdict = document.getElementById("commune-verdict");
    var chosen = document.getElementById("commune-chosen");
    var marker = null, located = null, asked = 0;

    function nameOf(code) {
      for (var i = 0; select && i < select.options.length; i++) {
        if (select.options[i].value === code) return select.options[i].textContent;
      }
      return code;
    }
    function say(text, bad) {
      if (!verdict) return;
      verdict.textContent = text || "";
      verdict.className = bad ? "verdict errors" : "verdict";
      verdict.hidden = !text;
      verdict.setAttribute("data-commune", bad ? "" : (select && select.value) || "");
    }
    function explain() {
      if (!select) return;
      if (located === null) { say(el.getAttribute("data-outside"), true); return; }
      var code = select.value || located;
      if (chosen && chosen.value === "1" && select.value && select.value !== located) {
        say(el.getAttribute("data-chosen").replace("{name}", nameOf(code)), false);
      } else {
        say(el.getAttribute("data-goes-to").replace("{name}", nameOf(code)), false);
      }
    }

    /* Outlines drawn on the map are simplified; the fallback when the server can't be asked. */
    function communeAt(latlng) {
      var found = null;
      m.layer.eachLayer(function (poly) {
        if (found || !poly.feature) return;
        if (poly.getBounds().contains(latlng) && inside(latlng, poly.feature.geometry)) found = poly.feature;
      });
      return found ? String(found.id || found.properties.code) : null;
    }
    function locate(latText, lonText, done) {
      var url = "/api/territory/locate?" + "lon=" + encodeURIComponent(lonText) + "&lat=" + encodeURIComponent(latText);
      var fallback = function () { done(communeAt(L.latLng(+latText, +lonText))); };
      if (!window.fetch) { fallback(); return; }
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
        .then(function (body) { done(body.area ? String(body.area.code) : null); }, fallback);
    }

    function place(latlng, zoom, keepChoice) {
      if (marker) marker.setLatLng(latlng); else marker = L.marker(latlng, { icon: PIN, keyboard: false }).addTo(m.map);
      // The values the form sends are the ones asked about: same point, same commune.
      var latText = latlng.lat.toFixed(6), lonText = latlng.lng.toFixed(6);
      lat.value = latText;
      lon.value = lonText;
      status.textContent = el.getAttribute("data-checking");
      status.className = "muted";
      var ticket = ++asked;
      locate(latText, lonText, function (code) {
        if (ticket !== asked) return; // a later tap won
        located = code;
        status.textContent = "";
        if (code === null) {
          // Outside the territory: no point is sent; the commune and the address say where.
          lat.value = "";
          lon.value = "";
          if (chosen) chosen.value = "";
          if (select && !keepChoice) select.value = "";
        } else if (select) {
          if (!keepChoice || !select.value) select.value = code;
          if (chosen) chosen.value = select.value && select.value !== code ? "1" : "";
        }
        explain();
      });
      if (zoom) m.map.setView(latlng, Math.max(m.map.getZoom(), 14));
    }

    if (select) {
      select.addEventListener("change", function () {
        if (chosen) chosen.value = located && select.value && select.value !== located ? "1" : "";
        if (located !== null || lat.value) explain();
      });
    }
    m.map.on("click", function (e) { place(e.latlng, false, false); });
    m.layer.on("click", function (e) { place(e.latlng, false, false); });
    if (lat.value && lon.value && !isNaN(+lat.value) && !isNaN(+lon.value)) place(L.latLng(+lat.value, +lon.value), true, true);

    var locateMe = document.getElementById("locate-me");
    if (locateMe && navigator.geolocation) {
      locateMe.hidden = false;
      locateMe.addEventListener("click", function () {
        navigator.geolocation.getCurrentPosition(
          function (pos) { place(L.latLng(pos.coords.latitude, pos.coords.longitude), true, false); },
          function () { status.textContent = locateMe.getAttribute("data-denied"); },
          { enableHighAccuracy: true, timeout: 15000 }
        );
      });
    }
  }

  /* File inputs are hidden behind big labelled buttons: say which file was chosen. */
  function fileNames() {
    Array.prototype.forEach.call(document.querySelectorAll("input[type=file][data-shows]"), function (input) {
      var target = document.getElementById(input.getAttribute("data-shows"));
      input.addEventListener("change", function () {
        if (target && input.files && input.files[0]) target.textContent = input.files[0].name;
      });
    });
  }

  /* Ray casting over a GeoJSON Polygon / MultiPolygon ([lon, lat] rings). */
  function inRing(x, y, ring) {
    var hit = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
      if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) hit = !hit;
    }
    return hit;
  }
  function inPolygon(x, y, rings) {
    if (!inRing(x, y, rings[0])) return false;
    for (var k = 1; k < rings.length; k++) if (inRing(x, y, rings[k])) return false;
    return true;
  }
  function inside(latlng, geometry) {
    var x = latlng.lng, y = latlng.lat;
    if (geometry.type === "Polygon") return inPolygon(x, y, geometry.coordinates);
    if (geometry.type === "MultiPolygon") {
      for (var p = 0; p < geometry.coordinates.length; p++) if (inPolygon(x, y, geometry.coordinates[p])) return true;
    }
    return false;
  }

  /* Tracking page: where the request is. */
  function requestMap() {
    var el = document.getElementById("request-map");
    if (!el || !window.L || !window.hakamaMap) return;
    var m = baseMap(el, readJSON("communes-geo"));
    var latlng = L.latLng(+el.getAttribute("data-lat"), +el.getAttribute("data-lon"));
    L.marker(latlng, { icon: PIN, keyboard: false }).addTo(m.map);
    // Close enough to see the place, not so close that the commune's outline disappears.
    m.map.setView(latlng, Math.max(m.map.getZoom(), 12));
  }

  /* Public list: one dot per request of the page, coloured by status. */
  function requestsMap() {
    var el = document.getElementById("requests-map");
    if (!el || !window.L || !window.hakamaMap) return;
    var m = baseMap(el, readJSON("communes-geo"));
    var points = readJSON("requests-geo") || { features: [] };
    L.geoJSON(points, {
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, {
          radius: 7, weight: 2, color: "#fff", fillOpacity: 0.9,
          fillColor: STATUS_COLOURS[f.properties.status] || "#333"
        });
      },
      onEachFeature: function (f, layer) {
        var a = document.createElement("a");
        a.href = "/track/" + encodeURIComponent(f.properties.id);
        a.textContent = f.properties.id + " · " + f.properties.service;
        layer.bindPopup(a);
      }
    }).addTo(m.map);
  }

  /* Receipt: a button copies the private link (shown only where the browser can copy). */
  function copyButtons() {
    Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (button) {
      var source = document.getElementById(button.getAttribute("data-copy"));
      var status = document.getElementById("copy-status");
      if (!source || !navigator.clipboard || !window.isSecureContext) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(source.href || source.textContent).then(function () {
          if (status) status.textContent = button.getAttribute("data-copied");
        });
      });
    });
  }

  fileNames();
  copyButtons();
  pickMap();
  requestMap();
  requestsMap();
})();
