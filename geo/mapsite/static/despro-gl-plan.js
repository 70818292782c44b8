/* despro national map: the rollout plan (issue 21), drawn when site.js has a "rollout" key.
 *
 * The planned sites, outlets and programmes as a layer (one colour per kind, a popup
 * each), each village's "siap di gelombang k berkat ..." line in its popup
 * (despro.rolloutLine, called by despro-gl.js), and the plan's summary and cost curve
 * (chart and table) in the side panel. Every text arrives HTML-escaped from Python
 * (despro.mapsite.rollout); this file only assembles it.
 */
(function () {
  "use strict";
  var despro = window.despro;

  function plan() { return despro.site && despro.site.rollout; }

  /* the popup line of village code `code` ("" when the plan does not make it ready) */
  despro.rolloutLine = function (code) {
    var R = plan();
    if (!R || !R.ready[code]) return "";
    return "<div class='dg-rollout-line'>" + R.ready[code] + "</div>";
  };

  /* the panel section (again after the panel is rebuilt, e.g. in another language) */
  function panelSection(map) {
    var R = plan(), panel = document.getElementById("despro-panel");
    if (!R || !panel || document.getElementById("dg-rollout")) return;
    var box = document.createElement("details");
    box.open = true;
    box.id = "dg-rollout";
    var shown = !map.getLayer("rollout") || map.getLayoutProperty("rollout", "visibility") !== "none";
    box.innerHTML = "<summary>" + R.words.title + "</summary>" +
      "<label><input type='checkbox' id='dg-rollout-toggle'" + (shown ? " checked" : "") + "> " +
      R.words.layer + "</label>" + R.panel;
    panel.appendChild(box);
    document.getElementById("dg-rollout-toggle").addEventListener("change", function (e) {
      despro.toggle(["rollout"], e.target.checked);
    });
  }

  /* the layer and the panel section; called once the map has loaded */
  despro.addRollout = function (map) {
    var R = plan();
    if (!R) return;
    map.addSource("rollout", { type: "geojson", data: { type: "FeatureCollection", features: R.items.map(function (it, k) {
      return { type: "Feature", geometry: { type: "Point", coordinates: [it[0], it[1]] }, properties: { k: k, c: R.kinds[it[2]][1] } };
    }) } });
    map.addLayer({ id: "rollout", type: "circle", source: "rollout", paint: {
      "circle-radius": ["interpolate", ["linear"], ["zoom"], 4, 3, 10, 6], "circle-color": "#ffffff",
      "circle-stroke-color": ["get", "c"], "circle-stroke-width": 3 } });
    map.on("click", "rollout", function (e) {
      e.preventDefault();
      new maplibregl.Popup({ maxWidth: "380px" }).setLngLat(e.lngLat)
        .setHTML(plan().items[e.features[0].properties.k][3]).addTo(map);
    });
    map.on("mouseenter", "rollout", function () { map.getCanvas().style.cursor = "pointer"; });
    map.on("mouseleave", "rollout", function () { map.getCanvas().style.cursor = ""; });
    panelSection(map);
    /* the panel is rebuilt when the language changes: put the section back */
    if (window.MutationObserver) {
      new MutationObserver(function () { panelSection(map); })
        .observe(document.getElementById("despro-panel"), { childList: true });
    }
  };
})();
