/* The console map: Connecticut's 169 towns from the shipped boundaries (no tile server, no
   internet), open incidents as squares numbered by priority, units as dots coloured by
   their derived status. Re-read when the feed says incidents or units moved. */
(function () {
  "use strict";

  var root = document.getElementById("console");
  var element = document.getElementById("map");
  if (!root || !element || !window.L) { return; }

  var UNIT_COLOURS = {
    available: "#2e9e4f",
    committed: "#1f6fb8",
    out_of_service: "#9a9a9a",
    emergency: "#e0001a"
  };
  // Connecticut's bounding box, until the towns have loaded.
  var STATE = [[40.95, -73.73], [42.05, -71.78]];

  var map = L.map(element, {
    zoomSnap: 0.25,
    minZoom: 7,
    maxZoom: 16,
    attributionControl: true,
    keyboard: true
  }).fitBounds(STATE);
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution("Town boundaries: shipped reference data");

  var towns = L.geoJSON(null, {
    style: { color: "#6b7785", weight: 1, fillColor: "#f7f9fb", fillOpacity: 1 },
    onEachFeature: function (feature, layer) {
      layer.bindTooltip(feature.properties.name, { sticky: true, direction: "top" });
    }
  }).addTo(map);

  var markerLayer = L.layerGroup().addTo(map);
  var incidentMarkers = {};

  fetch(root.dataset.townsUrl, { credentials: "same-origin" })
    .then(function (response) { return response.ok ? response.json() : null; })
    .then(function (data) {
      if (!data) { return; }
      towns.addData(data);
      map.invalidateSize();
      map.fitBounds(towns.getBounds(), { padding: [4, 4] });
      redraw();  // the markers again, above the towns that arrived after them
    });

  function incidentIcon(marker, highlighted) {
    return L.divIcon({
      className: "map-incident map-incident--" + marker.priority + (highlighted ? " is-selected" : ""),
      html: "<span aria-hidden=\"true\">" + marker.priority + "</span>",
      iconSize: highlighted ? [26, 26] : [20, 20]
    });
  }

  var selected = root.dataset.selected || "";
  var latest = [];

  function draw(markers) {
    latest = markers;
    markerLayer.clearLayers();
    incidentMarkers = {};
    // Busy units over available ones, emergencies over all: what matters is never hidden.
    var rank = { available: 0, out_of_service: 1, committed: 2, emergency: 3 };
    markers.filter(function (marker) { return marker.kind === "unit"; }).sort(function (a, b) {
      return (rank[a.status] || 0) - (rank[b.status] || 0);
    }).forEach(function (marker) {
      L.circleMarker([marker.lat, marker.lon], {
        radius: 6,
        color: "#000000",
        weight: 1.5,
        fillColor: UNIT_COLOURS[marker.status] || "#666666",
        fillOpacity: 1
      }).bindTooltip(marker.title).addTo(markerLayer);
    });
    // Incidents above units.
    markers.forEach(function (marker) {
      if (marker.kind !== "incident") { return; }
      var layer = L.marker([marker.lat, marker.lon], {
        icon: incidentIcon(marker, String(marker.id) === selected),
        title: marker.title,
        alt: marker.title,
        keyboard: true,
        zIndexOffset: 1000
      }).addTo(markerLayer);
      layer.on("click keypress", function () {
        if (window.despConsole) { window.despConsole.select(String(marker.id), true); }
      });
      incidentMarkers[marker.id] = layer;
    });
  }

  // The markers come with the page and with each refresh of the map panel (#map-markers).
  function redraw() {
    var holder = document.getElementById("map-markers");
    if (!holder) { return; }
    try { draw(JSON.parse(holder.dataset.markers || "[]")); } catch (e) { /* keep the last */ }
  }

  function highlight(id) {
    selected = String(id);
    draw(latest);
  }

  redraw();
  window.despMap = { redraw: redraw, highlight: highlight, map: map };
})();
