/* despro map pages: cell choropleths, village markers whose popups explain the criteria,
 * backbone, courier outlets, legends and a village search. No network access needed.
 *
 * Every text in `data` arrives HTML-escaped from Python (despro.geo.mapdata); this file
 * only assembles those strings. The one text it escapes itself is what the user types
 * into the search box.
 *
 * Village record: [lat, lon, code, name, tier index, rank, shortlisted 0/1, product,
 *                  value texts[], state letters ("p"/"f"/"u" per rule), margin texts[],
 *                  evidence letters, score text, and when imputed values were used:
 *                  [tier index with imputation, [[rule index, value text, state letter]]]].
 * An imputed value never replaces the run's state: the row keeps "unknown" and shows
 * the imputed value and state beside it, marked as imputed.
 * Paths: [lat0, lon0, dlat1, dlon1, ...] integers in 1e-5 degrees, deltas after the first.
 */
(function () {
  "use strict";
  var despro = (window.despro = { markers: {}, legends: [] });
  var SCALE = 1e5;
  var cellRenderer = null;

  function decode(path) {
    var out = [], lat = 0, lon = 0;
    for (var i = 0; i < path.length; i += 2) {
      lat += path[i];
      lon += path[i + 1];
      out.push([lat / SCALE, lon / SCALE]);
    }
    return out;
  }
  despro.decode = decode;

  function escapeText(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#x27;");
  }

  function classIndex(v, breaks) {
    var k = 0;
    while (k < breaks.length && v >= breaks[k]) k++;
    return k;
  }

  function formatNumber(v, digits, lang) {
    return v.toLocaleString(lang === "id" ? "id-ID" : "en-US",
      { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }

  /* A feature group whose members are created the first time it is shown. */
  var LazyGroup = L.FeatureGroup.extend({
    initialize: function (build) {
      L.FeatureGroup.prototype.initialize.call(this);
      this._build = build;
    },
    onAdd: function (map) {
      if (this._build) {
        var build = this._build;
        this._build = null;
        build(this);
      }
      L.FeatureGroup.prototype.onAdd.call(this, map);
    }
  });

  function cellLatLngs(data) {
    if (!data.cells.latlngs) data.cells.latlngs = data.cells.geom.map(decode);
    return data.cells.latlngs;
  }

  /* A canvas fill of diagonal stripes: `line` on `back`, the class colour `colour`
     kept only as thin stripes, so a value resting on incomplete data never shows in its
     class colour alone. One pattern per colour, made once. */
  var hatches = {};
  function hatch(colour, back, line) {
    if (hatches[colour]) return hatches[colour];
    var c = document.createElement("canvas"), n = 8;
    c.width = c.height = n;
    var ctx = c.getContext("2d");
    ctx.fillStyle = back;
    ctx.fillRect(0, 0, n, n);
    [[line, 0], [colour, n / 2]].forEach(function (d) {
      ctx.strokeStyle = d[0];
      ctx.lineWidth = 2;
      for (var k = -n; k <= n; k += n) {
        ctx.beginPath();
        ctx.moveTo(k + d[1], n);
        ctx.lineTo(k + d[1] + n, 0);
        ctx.stroke();
      }
    });
    hatches[colour] = ctx.createPattern(c, "repeat");
    return hatches[colour];
  }

  despro.cellLayer = function (data, index) {
    var spec = data.choropleths[index];
    if (!cellRenderer) cellRenderer = L.canvas({ padding: 0.3 });
    var layer = new LazyGroup(function (group) {
      var values = data.cells.values[spec.key], latlngs = cellLatLngs(data);
      var shares = (data.cells.known || {})[spec.key] || null;
      var complete = (data.cells.complete || {})[spec.key] || null;
      for (var i = 0; i < latlngs.length; i++) {
        var v = values[i], known = v !== null;
        var colour = known ? spec.colours[classIndex(v, spec.breaks)] : spec.unknown;
        var whole = !known || !complete || complete[i] === null || complete[i] >= 100;
        group.addLayer(L.polygon(latlngs[i], {
          renderer: cellRenderer, stroke: false,
          fillOpacity: known ? (spec.names ? 0.45 : whole ? 0.65 : 0.8) : 0.35,
          fillColor: whole ? colour : hatch(colour, spec.hatch[0], spec.hatch[1]),
          value: v, share: shares ? shares[i] : null, incomplete: !whole
        }));
      }
      despro.incompleteCells = despro.incompleteCells || {};
      despro.incompleteCells[spec.key] = group.getLayers().filter(function (c) {
        return c.options.incomplete;
      }).length;
    });
    layer.bindTooltip(function (cell) {
      var v = cell.options.value, share = cell.options.share;
      /* a count summed over a parent whose children are partly unknown is a lower bound */
      var partial = v !== null && share !== null && share < 100
        ? " (" + data.labels.partial.replace("%s", formatNumber(share, 0, data.lang)) + ")" : "";
      if (cell.options.incomplete) partial += " (" + spec.incomplete + ")";
      var text = v === null ? data.labels.unknown : spec.names ? spec.names[v]
        : formatNumber(v, spec.digits, data.lang) + (spec.suffix ? " " + spec.suffix : "");
      return spec.label + ": " + text + partial;
    }, { sticky: true });
    despro.legends.push({ layer: layer, html: spec.legend });
    return layer;
  };

  function popupHtml(data, v) {
    var t = data.labels, tier = data.tiers[v[4]], imp = v[13], byRule = {};
    var head = "<b class='despro-name'>" + v[3] + "</b> (" + v[2] + ")<br>" + t.tier +
      ": <b style='color:" + tier.colour + "'>" + tier.label + "</b> &middot; " + t.rank +
      ": " + v[5] + " &middot; " + t.shortlist + ": " + (v[6] ? t.yes : t.no) + "<br>" +
      "<span class='despro-score'>" + v[12] + "</span><br>";
    if (v[7]) head += t.product + ": " + v[7] + "<br>";
    if (data.why && data.why[v[2]]) {
      head += "<div class='despro-why'>" + t.why + ": <b>" + data.why[v[2]] + "</b></div>";
    }
    if (imp) {
      imp[1].forEach(function (d) { byRule[d[0]] = d; });
      head += "<div class='despro-imputed'>&#9888; " + t.imputed_note + ": " +
        imp[1].map(function (d) { return data.rules[d[0]].id; }).join(", ") + " &middot; " +
        t.imputed_tier + ": <b>" + data.tiers[imp[0]].label + "</b></div>";
    }
    var rows = ["<tr><th>" + t.criterion + "</th><th>" + t.value + "</th><th>" + t.threshold +
      "</th><th>" + t.state + "</th><th>" + t.margin + "</th><th>" + t.source + "</th></tr>"];
    data.rules.forEach(function (r, j) {
      var s = data.states[v[9].charAt(j)];
      rows.push("<tr" + (r.info ? " class='despro-info'" : "") + "><td title='" + r.label +
        "'>" + r.id + " " + r.label + "</td><td>" + v[8][j] + "</td><td>" + r.thr +
        "</td><td style='color:" + s.colour + "'><b>" + s.label + "</b>" + imputedText(data, byRule[j]) +
        "</td><td>" + v[10][j] +
        "</td><td title='" + r.title + "'>" + ((v[11] && r.srcs[v[11].charAt(j)]) || r.src) + "</td></tr>");
    });
    return "<div class='despro-popup'>" + head + "<table class='despro-criteria'>" +
      rows.join("") + "</table></div>";
  }

  function imputedText(data, d) {
    if (!d) return "";
    var s = data.states[d[2]];
    return "<br><small class='despro-imputed'>" + data.labels.imputed + ": " + d[1] + " &rarr; " +
      s.label + "</small>";
  }

  despro.villageLayer = function (data, shortlistOnly) {
    var group = L.featureGroup();
    data.villages.forEach(function (v) {
      if (shortlistOnly && !v[6]) return;
      var colour = data.tiers[v[4]].colour;
      var marker = L.circleMarker([v[0], v[1]], {
        radius: shortlistOnly ? 9 : (v[6] ? 6 : 4), weight: shortlistOnly || v[6] ? 2 : 1,
        color: shortlistOnly || v[6] ? "#000000" : colour, fillColor: colour,
        fillOpacity: shortlistOnly ? 0.2 : 0.9, dashArray: v[13] ? "2 2" : null,
        className: "despro-village" + (v[13] ? " despro-imputed-marker" : "")
      });
      marker.bindPopup(function () { return popupHtml(data, v); },
        { maxWidth: 680, className: "despro-popup-wrap" });
      marker.bindTooltip(v[3]);
      if (!shortlistOnly) despro.markers[v[2]] = marker;
      group.addLayer(marker);
    });
    if (!shortlistOnly) despro.villages = group;
    despro.legends.push({ layer: group, html: data.tierLegend });
    return group;
  };

  despro.routesLayer = function (data) {
    var group = L.featureGroup();
    data.routes.forEach(function (r) {
      L.polyline(decode(r[0]), { color: "#6a3d9a", weight: 3, opacity: 0.9 })
        .bindTooltip(r[1] || data.labels.backbone_routes).addTo(group);
    });
    return group;
  };

  despro.outlinesLayer = function (data) {
    var group = L.featureGroup();
    data.outlines.forEach(function (o) {
      L.polygon(decode(o[0]), { color: "#525252", weight: 1.2, fill: false, opacity: 0.8 })
        .bindTooltip(o[1], { sticky: true }).addTo(group);
    });
    return group;
  };

  /* a pilot-analysis layer: each record drawn by ``draw(record, group)``, with its legend;
     kept as despro[key] for page scripts (and the browser tests) */
  function analysisLayer(data, key, draw) {
    var group = L.featureGroup();
    data[key].forEach(function (record) { draw(record, group); });
    despro[key] = group;
    despro.legends.push({ layer: group, html: data.analysisLegends[key] });
    return group;
  }

  despro.clustersLayer = function (data) {
    return analysisLayer(data, "clusters", function (c, group) {
      L.polygon(decode(c[0]), { color: c[1], weight: 2, fillColor: c[1], fillOpacity: 0.25,
        className: "despro-cluster" }).bindPopup(c[2], { maxWidth: 420 }).addTo(group);
    });
  };

  despro.agentsLayer = function (data) {
    return analysisLayer(data, "agents", function (a, group) {
      L.circle([a[0], a[1]], { radius: a[2], color: "#e6550d", weight: 1, dashArray: "4 4",
        fill: false, interactive: false }).addTo(group);
      L.circleMarker([a[0], a[1]], { radius: 8, color: "#000000", weight: 2,
        fillColor: "#e6550d", fillOpacity: 1, className: "despro-agent" })
        .bindPopup(a[3], { maxWidth: 420 }).addTo(group);
    });
  };

  despro.pilotsLayer = function (data) {
    return analysisLayer(data, "pilots", function (p, group) {
      L.marker([p[0], p[1]], { icon: L.divIcon({ className: "despro-pilot", html: String(p[2]),
        iconSize: [22, 22] }), zIndexOffset: 1000, title: String(p[2]) })
        .bindPopup(p[3], { maxWidth: 420 }).addTo(group);
    });
  };

  function points(p, make) {
    var latlngs = decode(p.path), out = [];
    for (var i = 0; i < latlngs.length; i++) out.push(make(latlngs[i], p.labels[p.label[i]]));
    return out;
  }

  despro.nodesLayer = function (data) {
    return L.featureGroup(points(data.nodes, function (ll, label) {
      return L.circleMarker(ll, { radius: 5, color: "#3f007d", fillColor: "#cab2d6",
        fillOpacity: 1, weight: 2 }).bindTooltip(label);
    }));
  };

  despro.outletsLayer = function (data) {
    var cluster = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 40 });
    cluster.addLayers(points(data.outlets, function (ll, label) {
      return L.circleMarker(ll, { radius: 4, color: "#1f78b4", fillOpacity: 0.8, weight: 1 })
        .bindTooltip(label);
    }));
    return cluster;
  };

  function htmlControl(map, position, className, html) {
    var Control = L.Control.extend({
      onAdd: function () {
        var div = L.DomUtil.create("div", "despro-box " + className);
        div.innerHTML = html;
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
      }
    });
    return new Control({ position: position }).addTo(map);
  }

  function legendControl(map) {
    var control = htmlControl(map, "bottomright", "despro-legend", "");
    function update() {
      var parts = [];
      despro.legends.forEach(function (l) {
        if (map.hasLayer(l.layer) && parts.indexOf(l.html) < 0) parts.push(l.html);
      });
      control.getContainer().innerHTML = parts.join("");
      control.getContainer().style.display = parts.length ? "" : "none";
    }
    map.on("overlayadd overlayremove", update);
    update();
    return update;
  }

  function searchControl(map, data, updateLegend) {
    var control = htmlControl(map, "topleft", "despro-search",
      "<input type='search' placeholder='" + data.labels.search + "'><ul></ul>");
    var box = control.getContainer(), input = box.querySelector("input"),
      list = box.querySelector("ul");
    var names = data.villages.map(function (v) { return v[3].toLowerCase(); });
    var other = data.elsewhere || { pages: [], v: [] };
    var otherNames = other.v.map(function (v) { return v[0].toLowerCase(); });
    function show(v) {
      if (!map.hasLayer(despro.villages)) {
        map.addLayer(despro.villages);
        updateLegend();
      }
      map.setView([v[0], v[1]], Math.max(map.getZoom(), 13));
      despro.markers[v[2]].openPopup();
    }
    /* "#v=<URL-quoted code>": open that village (links from other pages' search) */
    function openFromHash() {
      var m = /^#v=(.+)$/.exec(window.location.hash);
      if (!m) return;
      var code = escapeText(decodeURIComponent(m[1]));
      for (var i = 0; i < data.villages.length; i++) {
        if (data.villages[i][2] === code) return show(data.villages[i]);
      }
    }
    window.addEventListener("hashchange", openFromHash);
    input.addEventListener("input", function () {
      var q = escapeText(input.value.trim().toLowerCase());
      list.innerHTML = "";
      if (!q) return;
      var hits = [];
      for (var i = 0; i < names.length && hits.length < 10; i++) {
        if (names[i].indexOf(q) >= 0) hits.push(data.villages[i]);
      }
      var far = [];
      for (var j = 0; j < otherNames.length && hits.length + far.length < 10; j++) {
        if (otherNames[j].indexOf(q) >= 0) far.push(other.v[j]);
      }
      if (!hits.length && !far.length) list.innerHTML = "<li>" + data.labels.no_match + "</li>";
      hits.forEach(function (v) {
        var li = L.DomUtil.create("li", "despro-hit", list);
        li.innerHTML = v[3] + " <small>(" + v[2] + ")</small>";
        li.addEventListener("click", function () { show(v); });
      });
      /* villages held by another page: a link that opens them there */
      far.forEach(function (v) {
        var page = other.pages[v[2]];
        var li = L.DomUtil.create("li", "despro-hit despro-far", list);
        li.innerHTML = "<a href='" + page[0] + ".html#v=" + v[1] + "'>" + v[0] + " <small>(" +
          escapeText(decodeURIComponent(v[1])) + ") &rarr; " + page[1] + "</small></a>";
      });
    });
    return openFromHash;
  }

  despro.finish = function (map, data) {
    var updateLegend = legendControl(map);
    var open = null;
    if (data.villages.length || (data.elsewhere && data.elsewhere.v.length)) {
      open = searchControl(map, data, updateLegend);
    }
    htmlControl(map, "topleft", "despro-nav", data.nav);
    htmlControl(map, "bottomleft", "despro-footer", data.footer);
    map.fitBounds(data.bounds);
    despro.map = map;
    if (open) open();
  };
})();
