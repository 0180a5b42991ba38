/* Beacon maps (issue #7): administrative areas from Beacon itself (works with no internet), an optional
   tile server, services, incidents and counts per area; and the "what is near me" point picker.
   No coordinates of the user's own position ever go into a URL: the near page POSTs them. */
(function () {
  "use strict";

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) { throw new Error(String(r.status)); }
      return r.json();
    });
  }

  function text(tag, value) {
    var el = document.createElement(tag);
    el.textContent = value == null ? "" : String(value);
    return el;
  }

  function baseMap(el) {
    var map = L.map(el, { zoomSnap: 0.25 }).setView([10.45, -61.25], 8.5);
    map.attributionControl.setPrefix("");
    map.attributionControl.addAttribution(el.dataset.credit);
    if (el.dataset.tileUrl) {
      L.tileLayer(el.dataset.tileUrl, { maxZoom: 18 }).addTo(map);
    }
    return map;
  }

  function withQuery(url) {
    var params = new URLSearchParams(window.location.search);
    return params.toString() ? url + "?" + params.toString() : url;
  }

  function colour(count, max) {
    if (count == null || !max) { return "#ffffff"; }
    var t = Math.min(1, count / max);
    var shades = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"];
    return shades[Math.min(shades.length - 1, Math.floor(t * (shades.length - 1) + 0.0001))];
  }

  function mapPage(el) {
    var map = baseMap(el);
    var status = document.getElementById("map-status");
    var control = L.control.layers(null, null, { collapsed: false }).addTo(map);
    Promise.all([getJSON(el.dataset.areasUrl), getJSON(withQuery(el.dataset.countsUrl))]).then(function (res) {
      var counts = {};
      res[1].areas.forEach(function (a) { counts[a.code] = a; });
      var areas = L.geoJSON(res[0], {
        style: function (f) {
          var c = counts[f.properties.code] || {};
          return { color: c.rising ? "#b00020" : "#444", weight: c.rising ? 3 : 1, fillOpacity: 0.6,
                   fillColor: colour(c.count, res[1].max), className: "beacon-area" };
        },
        onEachFeature: function (f, layer) {
          var c = counts[f.properties.code] || {};
          var box = document.createElement("div");
          box.appendChild(text("strong", f.properties.name));
          box.appendChild(text("div", el.dataset.labelCounts + ": " + (c.shown || "0")));
          if (c.rising) { box.appendChild(text("div", el.dataset.labelRising)); }
          layer.bindPopup(box);
        }
      }).addTo(map);
      control.addOverlay(areas, el.dataset.labelCounts);
      if (areas.getBounds().isValid()) { map.fitBounds(areas.getBounds()); }
      el.dataset.areasRendered = String(res[0].features.length);
    }).catch(function () { status.textContent = "!"; });

    patternsLayer(el, map, control);

    getJSON(withQuery(el.dataset.servicesUrl)).then(function (data) {
      var group = L.layerGroup();
      data.services.forEach(function (s) {
        if (s.lat == null) { return; }
        var box = document.createElement("div");
        box.appendChild(text("strong", s.name));
        box.appendChild(text("div", s.services.join(", ")));
        if (s.phone) { box.appendChild(text("div", s.phone)); }
        if (s.hours) { box.appendChild(text("div", s.hours)); }
        if (s.capacity) { box.appendChild(text("div", s.capacity)); }
        L.circleMarker([s.lat, s.lon], { radius: 7, color: "#0b5394", fillColor: "#3d85c6", fillOpacity: 0.9, className: "beacon-service" })
          .bindPopup(box).addTo(group);
      });
      group.addTo(map);
      control.addOverlay(group, el.dataset.labelServices);
    });

    getJSON(withQuery(el.dataset.incidentsUrl)).then(function (data) {
      var group = L.layerGroup();
      data.incidents.forEach(function (i) {
        var box = document.createElement("div");
        if (i.url) {
          var a = text("a", i.label); a.href = i.url; box.appendChild(a);
        } else { box.appendChild(text("span", i.label)); }
        L.circleMarker([i.lat, i.lon], { radius: 6, color: "#7f0000", fillColor: "#cc0000", fillOpacity: 0.8, className: "beacon-incident" })
          .bindPopup(box).addTo(group);
      });
      group.addTo(map);
      control.addOverlay(group, el.dataset.labelIncidents);
    });
  }

  // Issue #8: areas with an unusual rise in victims (aggregate flags; only for holders of stats.view_dashboard,
  // the template leaves the URL out for everyone else, so no toggle appears).
  function patternsLayer(el, map, control) {
    if (!el.dataset.patternsUrl) { return; }
    getJSON(el.dataset.patternsUrl).then(function (data) {
      var layer = L.geoJSON(data, {
        style: function (f) {
          var flagged = f.properties.flagged;
          return { color: flagged ? "#6f42c1" : "#999", weight: flagged ? 3 : 0.5, fillColor: "#6f42c1",
                   fillOpacity: flagged ? 0.55 : 0, className: flagged ? "beacon-pattern-flagged" : "beacon-pattern" };
        },
        onEachFeature: function (f, l) {
          var p = f.properties;
          var box = document.createElement("div");
          box.appendChild(text("strong", p.name));
          box.appendChild(text("div", el.dataset.labelPatternsObserved + " (" + data.window + "): " + p.observed +
            ", " + el.dataset.labelPatternsExpected + " " + p.expected));
          if (p.flagged) { box.appendChild(text("div", el.dataset.labelPatternsRise + " (p = " + Number(p.p).toPrecision(2) + ")")); }
          l.bindPopup(box);
        }
      });
      control.addOverlay(layer, el.dataset.labelPatterns);
      el.dataset.patternsFlagged = String(data.features.filter(function (f) { return f.properties.flagged; }).length);
    });
  }

  function nearPage(el) {
    var map = baseMap(el);
    var lat = document.getElementById("near-lat");
    var lon = document.getElementById("near-lon");
    var marker = null;
    function place(a, b) {
      lat.value = a.toFixed(6); lon.value = b.toFixed(6);
      if (marker) { marker.setLatLng([a, b]); } else { marker = L.marker([a, b]).addTo(map); }
    }
    getJSON(el.dataset.areasUrl).then(function (data) {
      var areas = L.geoJSON(data, { style: { color: "#444", weight: 1, fillOpacity: 0.05, className: "beacon-area" } }).addTo(map);
      if (areas.getBounds().isValid()) { map.fitBounds(areas.getBounds()); }
      el.dataset.areasRendered = String(data.features.length);
    });
    if (lat.value && lon.value && !isNaN(parseFloat(lat.value))) { place(parseFloat(lat.value), parseFloat(lon.value)); }
    map.on("click", function (e) { place(e.latlng.lat, e.latlng.lng); });
    var locate = document.getElementById("near-locate");
    locate.addEventListener("click", function () {
      var status = document.getElementById("near-status");
      if (!navigator.geolocation) { status.textContent = locate.dataset.labelError; return; }
      navigator.geolocation.getCurrentPosition(function (pos) {
        place(pos.coords.latitude, pos.coords.longitude);
        document.getElementById("near-form").submit();
      }, function () { status.textContent = locate.dataset.labelError; }, { enableHighAccuracy: true, timeout: 15000 });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("beacon-map");
    if (!el || typeof L === "undefined") { return; }
    if (el.dataset.page === "map") { mapPage(el); } else if (el.dataset.page === "near") { nearPage(el); }
  });
})();
