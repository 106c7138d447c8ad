/* Draws the asset layer on a folium map, and the click-to-place picker.
 *
 * folium builds the map (its script runs first and leaves the map in a global
 * variable named by data-map-name). The assets arrive as JSON (fetched from the
 * address a data block names, or inline in its attribute) and are drawn as clustered
 * circle markers coloured by category, and their
 * popups are built with textContent, so names can never become markup.
 * After an htmx swap of the results, the layer is redrawn from the new block.
 *
 * A big register (the block has data-viewport) is asked for by view: each time the map
 * stops moving, what the view shows, which the server sends as groups with counts when
 * it is a lot (a group, pressed, zooms in).
 */
(function () {
  "use strict";

  /* The data block names where to fetch the layer (data-url: a cached, validated JSON
     the browser revalidates cheaply) or carries it inline (data-geojson). */
  function loadData(id, done, map) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var url = el.getAttribute("data-url");
    if (url && el.getAttribute("data-viewport")) {
      url += (url.indexOf("?") < 0 ? "?" : "&") + "bbox=" +
        encodeURIComponent(map.getBounds().toBBoxString()) + "&zoom=" + map.getZoom();
    }
    if (!url) {
      try { done(JSON.parse(el.getAttribute("data-geojson"))); } catch (e) { return; }
      return;
    }
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { done(data); } })
      .catch(function () { /* the list on the page still has every asset */ });
  }

  function popupFor(feature, categories, staleLabel) {
    var box = document.createElement("div");
    var link = document.createElement("a");
    link.href = "/assets/" + encodeURIComponent(feature.id);
    link.textContent = feature.properties.n;
    box.appendChild(link);
    var cat = categories[feature.properties.c];
    if (cat) {
      box.appendChild(document.createElement("br"));
      box.appendChild(document.createTextNode(cat.name));
    }
    if (feature.properties.s && staleLabel) {  // not checked for the bank's set time
      var flag = document.createElement("strong");
      flag.textContent = staleLabel;
      box.appendChild(document.createElement("br"));
      box.appendChild(flag);
    }
    return box;
  }

  function byView(wrap) {
    var el = document.getElementById(wrap.getAttribute("data-source") || "");
    return el && el.getAttribute("data-viewport") ? el : null;
  }

  function drawAssets(wrap, map) {
    var asked = (wrap._asked || 0) + 1;
    var zoom = map.getZoom();
    wrap._asked = asked;
    loadData(wrap.getAttribute("data-source"), function (data) {
      if (wrap._asked === asked) {  // only the latest answer
        draw(wrap, map, data);
        wrap.setAttribute("data-zoom", String(zoom));  // the zoom it was drawn for
      }
    }, map);
  }

  /* A group of assets the server counted: a round badge with the number, which zooms in
     when pressed, by mouse or by keyboard (Leaflet makes the marker a focusable button
     but sends it Enter as a keypress, not a click), named for screen readers. */
  function groupMarker(f, map, label) {
    var k = Number(f.properties.k) || 0;
    var badge = document.createElement("div");
    var number = document.createElement("span");
    number.textContent = String(k);
    badge.appendChild(number);
    var size = k < 10 ? "small" : (k < 100 ? "medium" : "large");
    var latlng = [f.geometry.coordinates[1], f.geometry.coordinates[0]];
    var name = (label || "{n}").replace("{n}", String(k));
    var m = L.marker(latlng, {
      icon: L.divIcon({html: badge, className: "marker-cluster marker-cluster-" + size,
                       iconSize: L.point(40, 40)}),
      title: name, riseOnHover: true
    });
    function zoomIn() { map.setView(latlng, Math.min(map.getZoom() + 2, map.getMaxZoom())); }
    m.on("click", zoomIn);
    m.on("keypress", function (e) {
      var key = e.originalEvent && e.originalEvent.key;
      if (key === "Enter" || key === " ") { zoomIn(); }
    });
    m.on("add", function () { m.getElement().setAttribute("aria-label", name); });
    return m;
  }

  function draw(wrap, map, data) {
    var categories = data.categories || [];
    var view = byView(wrap);
    // Redrawing takes away the focused group: the map itself keeps the keyboard focus.
    var focused = wrap._assetLayer && map.getPane("markerPane").contains(document.activeElement);
    if (wrap._assetLayer) { map.removeLayer(wrap._assetLayer); }
    // The server has grouped a big register already: no grouping again in the browser.
    var group = (L.markerClusterGroup && !data.grouped) ? L.markerClusterGroup({
      disableClusteringAtZoom: 16, chunkedLoading: true, showCoverageOnHover: false
    }) : L.featureGroup();
    var markers = [];
    (data.features || []).forEach(function (f) {
      if (f.properties.k) {
        markers.push(groupMarker(f, map, view && view.getAttribute("data-group-label")));
        return;
      }
      var c = categories[f.properties.c] || {colour: "#555555"};
      var m = L.circleMarker([f.geometry.coordinates[1], f.geometry.coordinates[0]], {
        radius: 7, color: "#1b1b1b", weight: 1, fillColor: c.colour, fillOpacity: 0.9
      });
      m.bindPopup(function () { return popupFor(f, categories, data.stale_label); });
      markers.push(m);
    });
    // On the map first: MarkerCluster's addLayers is quadratic on a group off the map.
    group.addTo(map);
    if (group.addLayers) { group.addLayers(markers); } else { markers.forEach(function (m) { group.addLayer(m); }); }
    wrap._assetLayer = group;
    wrap.setAttribute("data-drawn", String(markers.length));
    wrap.setAttribute("data-grouped", data.grouped ? "1" : "0");
    if (focused) { map.getContainer().focus(); }
    if (markers.length && wrap._fitted && !view) {
      map.fitBounds(L.featureGroup(markers).getBounds(), {maxZoom: 16, padding: [20, 20]});
    }
    wrap._fitted = true;
  }

  function setUpPicker(wrap, map) {
    var lat = document.getElementById("latitude");
    var lon = document.getElementById("longitude");
    if (!lat || !lon) { return; }
    var marker = null;
    function place(latlng) {
      if (marker) { marker.setLatLng(latlng); } else { marker = L.marker(latlng).addTo(map); }
    }
    if (lat.value && lon.value) {
      var here = [parseFloat(lat.value), parseFloat(lon.value)];
      place(here);
      map.setView(here, 16);
    }
    map.on("click", function (e) {
      lat.value = e.latlng.lat.toFixed(6);
      lon.value = e.latlng.lng.toFixed(6);
      place(e.latlng);
      wrap.setAttribute("data-picked", lat.value + "," + lon.value);
    });
  }

  function paintLegend() {
    document.querySelectorAll(".swatch[data-colour]").forEach(function (s) {
      s.style.backgroundColor = s.getAttribute("data-colour");
    });
  }

  function init() {
    paintLegend();
    document.querySelectorAll(".map-wrap[data-map-name]").forEach(function (wrap) {
      if (wrap._ready) { return; }
      var map = window[wrap.getAttribute("data-map-name")];
      if (!map || typeof L === "undefined") { return; }
      wrap._ready = true;
      wrap._map = map;
      if (wrap.getAttribute("data-source")) {
        drawAssets(wrap, map);
        // By view, each stop asks again; not while a popup is open (opening one may pan
        // the map, and a redraw would close it), but once it closes.
        map.on("popupopen", function () { wrap._popupOpen = true; });
        map.on("popupclose", function () {
          wrap._popupOpen = false;
          if (wrap._moved) { wrap._moved = false; drawAssets(wrap, map); }
        });
        map.on("moveend", function () {
          if (!byView(wrap)) { return; }
          if (wrap._popupOpen) { wrap._moved = true; return; }
          drawAssets(wrap, map);
        });
      }
      if (wrap.getAttribute("data-picker")) { setUpPicker(wrap, map); }
    });
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || (target.id !== "asset-results" && !document.getElementById("asset-results"))) { return; }
    document.querySelectorAll(".map-wrap[data-source]").forEach(function (wrap) {
      if (wrap._map) { drawAssets(wrap, wrap._map); }
    });
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
}());
