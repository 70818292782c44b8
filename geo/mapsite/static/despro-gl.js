/* despro national map: MapLibre GL over a cell pyramid, villages loaded by area.
 *
 * Data arrive as scripts calling despro.load(key, data) (JSONP: works from file://,
 * where Chromium blocks fetch(), and from any static server). Every text in the data
 * is HTML-escaped by Python (despro.mapsite.data.escape_text); this file only
 * assembles those strings, and escapes what the user types.
 *
 * Keys: "site" (words, layers, rules, levels), "villages" (every village as a point),
 * "c<res>/<chunk>" (cells of one pyramid chunk), "v/<regency>" (popup records and
 * outlines of one regency's villages).
 *
 * The cells are drawn by despro's own WebGL layer (despro-gl-cells.js, loaded after this
 * file); everything else by MapLibre's GeoJSON sources.
 */
(function () {
  "use strict";
  var despro = (window.despro = { data: {}, pending: {}, state: {} });
  var SCALE = 1e5;
  var S, S0, V, W, map;
  var st = despro.state;

  despro.load = function (key, data) {
    despro.data[key] = data;
    st.lastLoadAt = performance.now();
    if (key.charAt(0) === "c") st.lastChunkAt = st.lastLoadAt;
    var waiting = despro.pending[key] || [];
    delete despro.pending[key];
    waiting.forEach(function (cb) { cb(data); });
  };

  function need(key, cb) {
    if (key in despro.data) { cb(despro.data[key]); return; }
    if (despro.pending[key]) { despro.pending[key].push(cb); return; }
    despro.pending[key] = [cb];
    var s = document.createElement("script");
    s.src = "data/" + key + ".js";
    s.charset = "utf-8";
    s.async = true;
    s.onerror = function () { delete despro.pending[key]; };
    document.head.appendChild(s);
  }
  despro.need = need;

  function escapeText(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#x27;");
  }
  /* text of an escaped string (for comparisons with what the user typed) */
  var unescaper = document.createElement("textarea");
  function plain(s) {
    if (s.indexOf("&") < 0) return s;
    unescaper.innerHTML = s;
    return unescaper.value;
  }

  function fmt(n) {
    return n.toLocaleString(S.lang === "id" ? "id-ID" : "en-US");
  }

  function el(tag, cls, html) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (html !== undefined) e.innerHTML = html;
    return e;
  }

  /* --- villages ------------------------------------------------------------------ */

  function decodeVillages() {
    var n = V.n, lat = 0, lon = 0;
    V.y = new Float64Array(n); V.x = new Float64Array(n);
    for (var i = 0; i < n; i++) {
      lat += V.lat[i]; lon += V.lon[i];
      V.y[i] = lat / SCALE; V.x[i] = lon / SCALE;
    }
    V.districts = V.districts || []; V.dist = V.dist || [];
    V.categories = V.categories || [["", W.unknown]];
    V.cat = V.cat || new Array(n + 1).join("0");
  }

  /* the plain lower-case texts the search compares with, made at the first search */
  function searchTexts() {
    if (V.plainName) return;
    var n = V.n;
    V.plainName = new Array(n); V.plainCode = new Array(n);
    for (var i = 0; i < n; i++) {
      V.plainName[i] = plain(V.name[i]).toLowerCase();
      V.plainCode[i] = plain(V.code[i]);
    }
    V.regPlain = V.regencies.map(function (r) { return plain(r[1]).toLowerCase(); });
    V.provPlain = V.provinces.map(function (p) { return plain(p[1]).toLowerCase(); });
    V.distPlain = V.districts.map(function (d) { return plain(d).toLowerCase(); });
  }

  function province(i) { return V.regencies[V.reg[i]][2]; }

  /* the filters: tier set, failing rule index, province index, regency index */
  function passes(i) {
    var f = st.filter;
    if (!f.tiers[+V.tier.charAt(i)]) return false;
    if (f.rule >= 0 && V.s[i].charAt(f.rule) !== "f") return false;
    if (f.province >= 0 && province(i) !== f.province) return false;
    if (f.regency >= 0 && V.reg[i] !== f.regency) return false;
    if (f.cat >= 0 && V.cat.charCodeAt(i) - 48 !== f.cat) return false;
    return true;
  }
  despro.passes = passes;

  /* the villages drawn at every zoom (ready, near-ready, shortlisted or pilot: few) or,
     many = true, the others: dots and shapes from zoom DOTS_ZOOM only, their source
     filled when the map first gets there (tiling 80,000 points took seconds of the
     national first paint; at the country view the tier cells show them) */
  var DOTS_ZOOM = 6;
  function isFew(i) { return +V.tier.charAt(i) <= 1 || +V.flag.charAt(i) > 0; }
  function villageFeatures(many, box) {
    var feats = [];
    for (var i = 0; i < V.n; i++) {
      if (isFew(i) === !!many || !passes(i)) continue;
      if (box && (V.x[i] < box[0] || V.x[i] > box[2] || V.y[i] < box[1] || V.y[i] > box[3])) continue;
      var t = +V.tier.charAt(i), fl = +V.flag.charAt(i);
      feats.push({
        type: "Feature",
        geometry: { type: "Point", coordinates: [V.x[i], V.y[i]] },
        properties: { i: i, t: t, o: 10 - t + (fl ? 10 : 0), big: fl & 1 ? 1 : 0 }
      });
    }
    return { type: "FeatureCollection", features: feats };
  }

  function pilotFeatures() {
    var feats = [];
    for (var i = 0; i < V.n; i++) {
      if (!V.pilot[i] || !passes(i)) continue;
      feats.push({ type: "Feature", geometry: { type: "Point", coordinates: [V.x[i], V.y[i]] },
        properties: { i: i, p: V.pilot[i] } });
    }
    return { type: "FeatureCollection", features: feats };
  }

  /* --- marker and pattern images --------------------------------------------------- */

  function shapeImage(shape, colour, size) {
    var c = document.createElement("canvas");
    c.width = c.height = size;
    var g = c.getContext("2d"), h = size / 2, r = size / 2 - 2;
    g.beginPath();
    if (shape === "circle") g.arc(h, h, r, 0, 2 * Math.PI);
    else if (shape === "square") g.rect(h - r * 0.8, h - r * 0.8, 1.6 * r, 1.6 * r);
    else if (shape === "diamond") { g.moveTo(h, h - r); g.lineTo(h + r, h); g.lineTo(h, h + r); g.lineTo(h - r, h); g.closePath(); }
    else if (shape === "triangle") { g.moveTo(h, h - r); g.lineTo(h + r, h + r * 0.8); g.lineTo(h - r, h + r * 0.8); g.closePath(); }
    else if (shape === "star") {
      for (var k = 0; k < 10; k++) {
        var a = -Math.PI / 2 + k * Math.PI / 5, rr = k % 2 ? r * 0.45 : r;
        if (k) g.lineTo(h + rr * Math.cos(a), h + rr * Math.sin(a)); else g.moveTo(h + rr * Math.cos(a), h + rr * Math.sin(a));
      }
      g.closePath();
    }
    g.fillStyle = colour; g.fill();
    g.lineWidth = 2; g.strokeStyle = "#111111"; g.stroke();
    return g.getImageData(0, 0, size, size);
  }

  /* --- cells ------------------------------------------------------------------------ */

  function levelFor(zoom) {
    for (var i = 0; i < S.levels.length; i++) if (zoom >= S.levels[i].minZoom) return S.levels[i];
    return S.levels[S.levels.length - 1];
  }

  function intersects(b, v) { return b[0] <= v[2] && b[2] >= v[0] && b[1] <= v[3] && b[3] >= v[1]; }

  function viewBox(pad) {
    var b = map.getBounds(), w = b.getEast() - b.getWest(), h = b.getNorth() - b.getSouth();
    return [b.getWest() - pad * w, b.getSouth() - pad * h, b.getEast() + pad * w, b.getNorth() + pad * h];
  }

  function decodePoints(p) {
    var lat = 0, lon = 0, feats = [];
    for (var k = 0; k < p.path.length; k += 2) {
      lat += p.path[k]; lon += p.path[k + 1];
      feats.push({ type: "Feature", geometry: { type: "Point", coordinates: [lon / SCALE, lat / SCALE] },
        properties: { l: p.labels[p.label[k / 2]] } });
    }
    return { type: "FeatureCollection", features: feats };
  }

  function addFeatures() {
    function tip(id) {
      map.on("click", id, function (e) {
        var on = ["villages-top", "villages", "villages-dots", "pilots"].filter(function (l) { return map.getLayer(l); });
        if (map.queryRenderedFeatures(e.point, { layers: on }).length) return;
        var l = e.features[0].properties.l;
        if (l) new maplibregl.Popup({ maxWidth: "320px" }).setLngLat(e.lngLat).setHTML(l).addTo(map);
      });
    }
    if (S.routes && S.routes.length) {
      map.addSource("routes", { type: "geojson", data: { type: "FeatureCollection", features: S.routes.map(function (r) {
        var lat = 0, lon = 0, pts = [];
        for (var k = 0; k < r[0].length; k += 2) { lat += r[0][k]; lon += r[0][k + 1]; pts.push([lon / SCALE, lat / SCALE]); }
        return { type: "Feature", geometry: { type: "LineString", coordinates: pts }, properties: { l: r[1] || S.featureWords.routes } };
      }) } });
      map.addLayer({ id: "routes", type: "line", source: "routes", paint: { "line-color": "#6a3d9a", "line-width": 2.5, "line-opacity": 0.85 } }, "villages-dots");
      tip("routes");
    }
    if (S.nodes && S.nodes.path.length) {
      map.addSource("nodes", { type: "geojson", data: decodePoints(S.nodes) });
      map.addLayer({ id: "nodes", type: "circle", source: "nodes", paint: { "circle-radius": 4, "circle-color": "#6a3d9a", "circle-stroke-color": "#ffffff", "circle-stroke-width": 1.5 } }, "villages-dots");
      tip("nodes");
    }
    if (S.outlets && S.outlets.path.length) {
      /* courier outlets: black on white only (never a tier or cell colour), a ring for
         one outlet, a square badge with the count for a cluster */
      map.addImage("outlet", outletImage(0));
      map.on("styleimagemissing", function (e) {
        var m = /^oc-(\d+)$/.exec(e.id);
        if (m && !map.hasImage(e.id)) map.addImage(e.id, outletImage(+m[1]));
      });
      map.addSource("outlets", { type: "geojson", data: decodePoints(S.outlets), cluster: true, clusterRadius: 40, clusterMaxZoom: 13 });
      map.addLayer({ id: "outlets-cluster", type: "symbol", source: "outlets", filter: ["has", "point_count"],
        layout: { visibility: "none", "icon-image": ["concat", "oc-", ["to-string", ["get", "point_count"]]],
          "icon-allow-overlap": true, "icon-ignore-placement": true } }, "villages-dots");
      map.addLayer({ id: "outlets", type: "symbol", source: "outlets", filter: ["!", ["has", "point_count"]],
        layout: { visibility: "none", "icon-image": "outlet", "icon-allow-overlap": true, "icon-ignore-placement": true } }, "villages-dots");
      map.on("click", "outlets-cluster", function (e) {
        var f = e.features[0];
        map.getSource("outlets").getClusterExpansionZoom(f.properties.cluster_id).then(function (z) {
          map.easeTo({ center: f.geometry.coordinates, zoom: z });
        });
      });
      tip("outlets");
    }
  }

  /* an outlet marker (count 0: one outlet, a ring) or a cluster badge with its count:
     black, white and greys only */
  function outletImage(count) {
    var text = count > 9999 ? Math.round(count / 1000) + "k" : String(count);
    var c = document.createElement("canvas"), g = c.getContext("2d");
    if (!count) {
      c.width = c.height = 14;
      g.beginPath(); g.arc(7, 7, 5, 0, 2 * Math.PI); g.fillStyle = "#ffffff"; g.fill();
      g.lineWidth = 2; g.strokeStyle = "#111111"; g.stroke();
      g.beginPath(); g.arc(7, 7, 1.6, 0, 2 * Math.PI); g.fillStyle = "#111111"; g.fill();
      return g.getImageData(0, 0, 14, 14);
    }
    g.font = "bold 11px sans-serif";
    var w = Math.ceil(g.measureText(text).width) + 10, h = 18;
    c.width = w; c.height = h;
    g.fillStyle = "#ffffff"; g.strokeStyle = "#111111"; g.lineWidth = 2;
    g.fillRect(1, 1, w - 2, h - 2); g.strokeRect(1, 1, w - 2, h - 2);
    g.fillStyle = "#111111"; g.font = "bold 11px sans-serif"; g.textAlign = "center"; g.textBaseline = "middle";
    g.fillText(text, w / 2, h / 2 + 0.5);
    return g.getImageData(0, 0, w, h);
  }
  despro.outletImage = outletImage;

  function toggle(ids, on) {
    ids.forEach(function (id) { if (map.getLayer(id)) map.setLayoutProperty(id, "visibility", on ? "visible" : "none"); });
  }
  despro.toggle = toggle;

  function currentLayer() { return st.layer >= 0 ? S.layers[st.layer] : null; }

  /* chunks kept decoded at most (older ones are dropped, and loaded again if needed):
     panning a whole island at res 8 must not keep every chunk in memory */
  var KEEP_CHUNKS = 160;

  function forget(keep) {
    var loaded = Object.keys(despro.data).filter(function (k) { return k.charAt(0) === "c" && !keep[k]; });
    if (loaded.length + Object.keys(keep).length <= KEEP_CHUNKS) return;
    loaded.sort(function (a, b) { return despro.data[a].usedAt - despro.data[b].usedAt; });
    loaded.slice(0, loaded.length + Object.keys(keep).length - KEEP_CHUNKS).forEach(function (k) { delete despro.data[k]; });
  }

  function refreshCells() {
    if (!cells) return;
    var spec = currentLayer();
    if (!spec) { st.cellKey = ""; drawCells([], null); return; }
    var level = levelFor(map.getZoom()), view = viewBox(0.1), keys = [];
    Object.keys(level.chunks).forEach(function (k) { if (intersects(level.chunks[k], view)) keys.push(k); });
    if (st.level !== level.res) { st.level = level.res; renderLegend(); }
    var key = spec.key + "|" + level.res + "|" + keys.join(" ");
    if (key === st.cellKey) return;  /* the same chunks in view: nothing to redraw */
    st.cellKey = key;
    var todo = keys.length, loaded = [], keep = {};
    if (!todo) { drawCells([], spec); return; }
    keys.forEach(function (k) { keep["c" + level.res + "/" + k] = 1; });
    forget(keep);
    var token = (st.cellToken = (st.cellToken || 0) + 1);
    keys.forEach(function (k) {
      need("c" + level.res + "/" + k, function (chunk) {
        loaded.push(chunk);
        todo -= 1;
        if (token !== st.cellToken) return;
        chunk.usedAt = performance.now();
        /* many chunks: show what has come every 24, then all of them once */
        if (todo === 0 || loaded.length % 24 === 0) drawCells(loaded, spec);
      });
    });
  }

  /* the cells: despro's own WebGL layer (despro-gl-cells.js) */
  var cells = null;
  function drawCells(chunks, spec) {
    cells.draw(chunks, spec);
    st.cellsDrawn = cells.count();
    st.drawnAt = performance.now();
  }

  function setLayer(index) {
    st.layer = index;
    renderLegend();
    refreshCells();
  }
  despro.setLayer = setLayer;

  /* --- village outlines and popup records (per regency) ---------------------------- */

  /* village outlines near the view (their regencies' files, kept decoded), drawn once
     the cells are: they wait for the map to be idle */
  var OUTLINE_ZOOM = 10;
  function refreshOutlines() {
    if (!st.outlines || map.getZoom() < OUTLINE_ZOOM) {
      if (st.outlineKey !== "") map.getSource("outlines").setData({ type: "FeatureCollection", features: [] });
      st.outlineKey = "";
      return;
    }
    var view = viewBox(0.1), regs = [];
    V.regencies.forEach(function (r) { if (intersects(r[3], view)) regs.push(plain(r[0])); });
    if (regs.length > 40) return;
    /* the popup records of these regencies too: a click on a village in view opens
       its popup at once */
    regs.forEach(function (code) { need("v/" + code, function () {}); if (st.lang !== S0.lang) need("v/" + code + "." + st.lang, function () {}); });
    var box = viewBox(0.5), b = st.outlineBox;
    var key = regs.join(" ");
    if (key === st.outlineKey && b && view[0] >= b[0] && view[1] >= b[1] && view[2] <= b[2] && view[3] <= b[3]) return;
    var todo = regs.length, got = [];
    regs.forEach(function (code) {
      need("o/" + code, function (d) {
        got.push(d); todo -= 1;
        if (todo === 0) {
          var feats = [];
          got.forEach(function (d) {
            if (!d.feats) {  /* decoded once per regency, with each ring's box */
              d.feats = [];
              d.outline.forEach(function (rings, j) {
                rings.forEach(function (ring) {
                  var lat = 0, lon = 0, pts = [], bb = [1e9, 1e9, -1e9, -1e9];
                  for (var k = 0; k < ring.length; k += 2) {
                    lat += ring[k]; lon += ring[k + 1];
                    var x = lon / SCALE, y = lat / SCALE;
                    pts.push([x, y]);
                    if (x < bb[0]) bb[0] = x; if (y < bb[1]) bb[1] = y; if (x > bb[2]) bb[2] = x; if (y > bb[3]) bb[3] = y;
                  }
                  pts.push(pts[0]);
                  d.feats.push({ type: "Feature", geometry: { type: "LineString", coordinates: pts }, properties: { j: j }, bbox: bb });
                });
              });
            }
            d.feats.forEach(function (f) { if (intersects(f.bbox, box)) feats.push(f); });
          });
          st.outlineKey = key; st.outlineBox = box;
          map.getSource("outlines").setData({ type: "FeatureCollection", features: feats });
        }
      });
    });
  }

  /* a village's popup record: texts in the page's current language (v/<code>.<lang>
     when switched), outlines and binding rule from v/<code> */
  function record(i, cb) {
    var code = plain(V.regencies[V.reg[i]][0]);
    need("v/" + code, function (d) {
      var texts = function (t) {
        for (var k = 0; k < d.rec.length; k++) {
          if (d.rec[k][0] === V.code[i]) {
            var r = t.rec[k].slice();
            r.gap = t.gap[k]; r.need = t.need[k]; r.bind = d.bind[k]; cb(r); return;
          }
        }
        cb(null);
      };
      if (st.lang === S0.lang) texts(d); else need("v/" + code + "." + st.lang, texts);
    });
  }

  /* --- popup ------------------------------------------------------------------------ */

  function popupHtml(i, v) {
    var tier = S.tiers[+V.tier.charAt(i)], reg = V.regencies[V.reg[i]], prov = V.provinces[reg[2]];
    var fails = [], unknown = [], passing = [], info = [];
    S.rules.forEach(function (r, j) {
      var s = v ? v[3].charAt(j) : V.s[i].charAt(j);
      var row = { r: r, j: j, s: s };
      if (r.info) info.push(row); else if (s === "f") fails.push(row); else if (s === "u") unknown.push(row); else passing.push(row);
    });
    /* the binding rule (farthest from its threshold, see despro.rules.explain) first */
    if (v && v.bind >= 0) fails.sort(function (a, b) { return (b.j === v.bind) - (a.j === v.bind); });
    var gates = fails.length + unknown.length + passing.length, head;
    if (!fails.length && !unknown.length) head = W.headline_ready;
    else if (fails.length) {
      head = W.headline_fails.replace("%f", fails.length).replace("%n", gates);
      var far = v && v.bind >= 0 ? S.rules[v.bind] : null;
      if (far && v.gap) head += " \u00b7 " + W.headline_farthest.replace("%r", function () { return far.id; }).replace("%m", function () { return v.gap; });
      if (v && v.need) head += " \u00b7 " + v.need;
    } else {
      head = W.headline_unknown.replace("%u", unknown.map(function (x) { return x.r.id; }).join(", "));
      if (v && v.need) head += " \u00b7 " + v.need;
    }
    var html = "<div class='dg-popup'><div class='dg-head' data-tier='" + tier.key + "'>" +
      "<span class='dg-tier' style='background:" + tier.colour + "'></span><b>" + tier.label +
      "</b>: " + head + "</div>" +
      "<div class='dg-name'><b>" + V.name[i] + "</b> (" + V.code[i] + ")<br>" + reg[1] + ", " + prov[1] + "</div>" +
      "<div>" + W.rank + ": " + fmt(V.rank[i]) + " " + W.of + " " + fmt(V.n) +
      (V.flag.charAt(i) & 1 ? " \u00b7 " + W.shortlist : "") +
      (V.pilot[i] ? " \u00b7 " + W.pilot + " " + V.pilot[i] : "") + "</div>";
    if (despro.rolloutLine) html += despro.rolloutLine(V.code[i]);  /* despro-gl-plan.js */
    if (v) {
      html += "<div class='dg-score'>" + v[6] + "</div>";
      if (v[1]) html += "<div>" + W.product + ": " + v[1] + "</div>";
    }
    function rows(title, list, cls) {
      if (!list.length) return "";
      var out = "<tr class='dg-group " + cls + "'><th colspan='4'>" + title + "</th></tr>";
      list.forEach(function (x) {
        var val = v ? v[2][x.j] : "", mar = v ? v[4][x.j] : "";
        var src = v ? ((v[5] && x.r.srcs[v[5].charAt(x.j)]) || x.r.src) : x.r.src;
        out += "<tr class='" + cls + "'><td title='" + x.r.label + "'><b>" + x.r.id + "</b> " + x.r.label +
          "</td><td>" + val + "</td><td>" + x.r.thr + "</td><td>" + (cls === "dg-info" ? "" : mar) +
          "</td></tr><tr class='dg-src " + cls + "'><td colspan='4'>" + W.source + ": " + src + "</td></tr>";
      });
      return out;
    }
    html += "<table class='dg-rules'><tr><th>" + W.criterion + "</th><th>" + W.value + "</th><th>" +
      W.threshold + "</th><th>" + W.margin + "</th></tr>" +
      rows(W.failing, fails, "dg-fail") + rows(W.unknown_rules, unknown, "dg-unknown") +
      rows(W.passing, passing, "dg-pass") + rows(W.informative, info, "dg-info") + "</table></div>";
    return html;
  }

  function openPopup(i, stay) {
    record(i, function (v) {
      if (st.popup && stay) { st.popup.setHTML(popupHtml(i, v)); return; }
      if (st.popup) st.popup.remove();
      var desk = window.innerWidth > 700;
      st.popup = new maplibregl.Popup({ maxWidth: "min(560px, 92vw)", className: "dg-popup-wrap",
        anchor: desk ? "bottom" : undefined })
        .setLngLat([V.x[i], V.y[i]]).setHTML(popupHtml(i, v)).addTo(map);
      st.popupVillage = i;
      if (window.innerWidth > 700) { /* the village low in the view, its popup above it:
        after the frame that shows the popup (a map frame can take long in software GL) */
        var h = map.getContainer().clientHeight;
        requestAnimationFrame(function () {
          setTimeout(function () {
            map.easeTo({ center: [V.x[i], V.y[i]], offset: [0, Math.max(0, h / 2 - 40)], duration: 300 });
          }, 0);
        });
      }
    });
  }
  despro.openPopup = openPopup;

  function flyTo(i) {
    map.flyTo({ center: [V.x[i], V.y[i]], zoom: Math.max(map.getZoom(), 12), speed: 2.2 });
    map.once("moveend", function () { openPopup(i); });
  }
  despro.flyTo = flyTo;

  /* --- panel ------------------------------------------------------------------------ */

  function counts(inView) {
    var out = { total: [0, 0, 0, 0], prov: {}, reg: {}, bind: {} }, b = inView ? viewBox(0) : null;
    for (var i = 0; i < V.n; i++) {
      if (!passes(i)) continue;
      if (b && (V.x[i] < b[0] || V.x[i] > b[2] || V.y[i] < b[1] || V.y[i] > b[3])) continue;
      var t = +V.tier.charAt(i), p = province(i), r = V.reg[i];
      out.total[t] += 1;
      var k = V.bind.charCodeAt(i) - 48;
      if (k >= 0) out.bind[k] = (out.bind[k] || 0) + 1;
      (out.prov[p] = out.prov[p] || [0, 0, 0, 0])[t] += 1;
      (out.reg[r] = out.reg[r] || [0, 0, 0, 0])[t] += 1;
    }
    return out;
  }
  despro.counts = counts;

  function tierCells(c) {
    return c.map(function (n, t) { return "<td class='dg-n' data-tier='" + t + "'>" + fmt(n) + "</td>"; }).join("");
  }

  function tierHead() {
    return S.tiers.map(function (t) {
      return "<th title='" + t.label + "'><span class='dg-tier dg-shape-" + t.shape + "' style='background:" + t.colour + "'></span></th>";
    }).join("");
  }

  function renderCounts() {
    var c = counts(true), all = counts(false);
    var html = "<table class='dg-counts'><tr><th></th>" + tierHead() + "</tr>" +
      "<tr id='dg-in-view'><td>" + W.in_view + "</td>" + tierCells(c.total) + "</tr>" +
      "<tr id='dg-all'><td>" + W.all_country + "</td>" + tierCells(all.total) + "</tr></table>";
    var binds = Object.keys(c.bind).sort(function (a, b) { return c.bind[b] - c.bind[a]; });
    html += "<h2>" + W.binding + "</h2><table class='dg-counts' id='dg-binding'>" + binds.map(function (k) {
      var r = S.rules[k];
      return "<tr class='dg-bind' data-rule='" + k + "'><td><b>" + r.id + "</b> " + r.label + "</td><td class='dg-n'>" + fmt(c.bind[k]) + "</td></tr>";
    }).join("") + "</table>";
    document.getElementById("dg-counts").innerHTML = html;
    var rows = [];
    if (st.filter.province < 0) {
      V.provinces.forEach(function (p, k) {
        if (all.prov[k]) rows.push("<tr class='dg-place' data-province='" + k + "'><td>" + p[1] + "</td>" + tierCells(all.prov[k]) + "</tr>");
      });
    } else {
      V.regencies.forEach(function (r, k) {
        if (r[2] === st.filter.province && all.reg[k]) {
          rows.push("<tr class='dg-place" + (k === st.filter.regency ? " dg-on" : "") + "' data-regency='" + k + "'><td>" + r[1] + "</td>" + tierCells(all.reg[k]) + "</tr>");
        }
      });
    }
    document.getElementById("dg-places-title").innerHTML = st.filter.province < 0 ? W.per_province : W.per_regency + ": " + V.provinces[st.filter.province][1];
    document.getElementById("dg-places").innerHTML = "<table class='dg-counts'><tr><th></th>" + tierHead() + "</tr>" + rows.join("") + "</table>";
  }

  function renderTable() {
    var idx = [];
    for (var i = 0; i < V.n; i++) {
      var t = +V.tier.charAt(i), fl = +V.flag.charAt(i);
      if ((fl || t <= 1) && passes(i)) idx.push(i);
    }
    /* default: pilots in pick order, then by rank; a header click sorts by its column */
    var sort = st.sort || { col: -1, dir: 1 };
    var keys = [
      function (i) { return V.pilot[i] || 1e9; },
      function (i) { return plain(V.name[i]).toLowerCase(); },
      function (i) { return plain(V.regencies[V.reg[i]][1]).toLowerCase(); },
      function (i) { return +V.tier.charAt(i); },
      function (i) { return V.rank[i]; }
    ];
    idx.sort(function (a, b) {
      if (sort.col >= 0) {
        var x = keys[sort.col](a), y = keys[sort.col](b);
        if (x < y) return -sort.dir;
        if (x > y) return sort.dir;
      }
      return (V.pilot[a] || 1e9) - (V.pilot[b] || 1e9) || V.rank[a] - V.rank[b];
    });
    st.tableRows = idx.length;
    var rows = idx.slice(0, 500).map(function (i) {
      var t = S.tiers[+V.tier.charAt(i)];
      return "<tr data-i='" + i + "'><td>" + (V.pilot[i] || "") + "</td><td>" + V.name[i] + "</td><td>" +
        V.regencies[V.reg[i]][1] + "</td><td><span class='dg-tier dg-shape-" + t.shape + "' style='background:" + t.colour + "'></span>" + t.label + "</td><td>" + V.rank[i] + "</td></tr>";
    });
    var heads = [W.pilot, W.name, W.regency, W.tier, W.rank].map(function (h, k) {
      var mark = sort.col === k ? (sort.dir > 0 ? " \u25b2" : " \u25bc") : "";
      return "<th class='dg-sort' data-col='" + k + "'>" + h + mark + "</th>";
    }).join("");
    document.getElementById("dg-table").innerHTML = "<table class='dg-list'><tr>" + heads + "</tr>" + rows.join("") +
      "</table><div class='dg-note'>" + fmt(Math.min(idx.length, 500)) + " " + W.of + " " + fmt(idx.length) + " " + W.rows_shown + "</div>";
  }

  /* fill (or refill after a filter) the source of the many villages by area: those
     around the view (three times its width and height) once the map is close enough
     to show them, again when the view leaves that area */
  function refreshMany() {
    if (map.getZoom() < DOTS_ZOOM - 0.5) return;
    var view = viewBox(0), b = st.manyBox;
    if (st.manyDrawn && b && view[0] >= b[0] && view[1] >= b[1] && view[2] <= b[2] && view[3] <= b[3]) return;
    st.manyBox = viewBox(1);
    map.getSource("villages").setData(villageFeatures(true, st.manyBox));
    st.manyDrawn = true;
  }

  /* indices of the villages on the map's sources (both kinds) */
  despro.shownVillages = function () {
    return map.getSource("villages-top")._data.features.concat(map.getSource("villages")._data.features)
      .map(function (f) { return f.properties.i; });
  };

  /* the map's villages, then (later when `then` is given: the map's workers get them
     first) the panel's counts and table */
  function applyFilter(then) {
    map.getSource("villages-top").setData(villageFeatures(false));
    st.manyDrawn = false;
    refreshMany();
    if (!st.manyDrawn) map.getSource("villages").setData({ type: "FeatureCollection", features: [] });
    if (map.getSource("pilots")) map.getSource("pilots").setData(pilotFeatures());
    var panel = function () { renderCounts(); renderTable(); if (then) then(); };
    if (then) setTimeout(panel, 0); else panel();
  }
  despro.applyFilter = applyFilter;

  function renderLegend() {
    var spec = currentLayer(), html = "<b>" + W.marker_layers + "</b>";
    S.tiers.forEach(function (t) {
      html += "<div><span class='dg-tier dg-shape-" + t.shape + "' style='background:" + t.colour + "'></span>" + t.label + "</div>";
    });
    if (S.agents && S.agents.length) html += "<div><span class='dg-tier dg-shape-circle' style='background:#7a3e00'></span>" + S.analysisWords.agents + "</div>";
    if (S.clusters && S.clusters.length) html += "<div><i style='background:#bbbbbb'></i>" + S.analysisWords.clusters + "</div>";
    if (S.hasPilots) html += "<div><span class='dg-tier dg-shape-star'></span>" + W.pilot + "</div>";
    if (st.features && st.features.outlets && S.featureWords && S.featureWords.outlets) {
      html += "<div><span class='dg-outlet'></span>" + S.featureWords.outlets + "</div>" +
        "<div><span class='dg-outlet-n'>12</span>" + W.outlet_clusters + "</div>";
    }
    if (spec) {
      html += "<b>" + spec.label + "</b>" + (spec.note ? "<div class='dg-note'>" + spec.note + "</div>" : "");
      spec.names.forEach(function (n, k) { html += "<div><i style='background:" + spec.colours[k] + "'></i>" + n + "</div>"; });
      html += "<div><i style='background:" + spec.unknown + "'></i>" + W.unknown + "</div>";
      html += "<div><i class='dg-hatch'></i>" + W.partial_cells + "</div>";
      html += "<div class='dg-note'>" + W.cells_res + " " + (st.level || "") + "</div>";
    }
    document.getElementById("despro-legend").innerHTML = html;
  }

  /* villages by code (prefix), name, district, regency or province: the best kind of
     match first, "more results" past the limit */
  function search(q) {
    var box = document.getElementById("dg-results");
    q = q.trim().toLowerCase();
    if (q.length < 2) { box.innerHTML = ""; return; }
    searchTexts();
    var limit = st.searchLimit || 10, buckets = [[], [], [], [], []], found = 0;
    var regHit = {}, provHit = {}, distHit = {};
    V.regPlain.forEach(function (n, k) { if (n.indexOf(q) >= 0 || plain(V.regencies[k][0]) === q) regHit[k] = 1; });
    V.provPlain.forEach(function (n, k) { if (n.indexOf(q) >= 0 || plain(V.provinces[k][0]) === q) provHit[k] = 1; });
    V.distPlain.forEach(function (n, k) { if (n.indexOf(q) >= 0) distHit[k] = 1; });
    for (var i = 0; i < V.n && found <= limit * 5; i++) {
      var kind = V.plainCode[i].indexOf(q) === 0 ? 0 : V.plainName[i].indexOf(q) >= 0 ? 1 :
        (V.dist[i] >= 0 && distHit[V.dist[i]]) ? 2 : regHit[V.reg[i]] ? 3 : provHit[province(i)] ? 4 : -1;
      if (kind >= 0 && buckets[kind].length <= limit) { buckets[kind].push(i); found += 1; }
    }
    var hits = [].concat(buckets[0], buckets[1], buckets[2], buckets[3], buckets[4]);
    var more = hits.length > limit;
    hits = hits.slice(0, limit);
    var html = hits.map(function (i) {
      var t = S.tiers[+V.tier.charAt(i)], d = V.dist[i] >= 0 ? W.district + " " + V.districts[V.dist[i]] + " \u00b7 " : "";
      return "<div class='dg-hit' data-i='" + i + "'><span class='dg-tier dg-shape-" + t.shape + "' style='background:" + t.colour + "'></span><b>" +
        V.name[i] + "</b> " + V.code[i] + "<br><small>" + d + V.regencies[V.reg[i]][1] + " \u00b7 " + t.label + "</small></div>";
    }).join("");
    if (!hits.length) html = "<div class='dg-note'>" + W.no_match + "</div>";
    if (more) html += "<div class='dg-more' role='button'>" + W.more + "</div>";
    box.innerHTML = html;
  }
  despro.search = search;

  function buildPanel() {
    var p = document.getElementById("despro-panel");
    var layers = "<label><input type='radio' name='dg-layer' value='-1'" + (st.layer < 0 ? " checked" : "") + "> " + W.no_cells + "</label>" +
      S.layers.map(function (s, k) {
        return "<label><input type='radio' name='dg-layer' value='" + k + "'" + (k === st.layer ? " checked" : "") + "> " + s.label + "</label>";
      }).join("");
    var tiers = S.tiers.map(function (t, k) {
      return "<label><input type='checkbox' class='dg-f-tier' value='" + k + "'" + (st.filter.tiers[k] ? " checked" : "") + "> <span class='dg-tier dg-shape-" + t.shape + "' style='background:" + t.colour + "'></span>" + t.label + "</label>";
    }).join("");
    var rules = "<option value='-1'>" + W.filter_any + "</option>" + S.rules.map(function (r, k) {
      return r.info ? "" : "<option value='" + k + "'" + (k === st.filter.rule ? " selected" : "") + ">" + r.id + " " + r.label + "</option>";
    }).join("");
    var provs = "<option value='-1'>" + W.filter_any + "</option>" + V.provinces.map(function (pr, k) {
      return "<option value='" + k + "'" + (k === st.filter.province ? " selected" : "") + ">" + pr[1] + "</option>";
    }).join("");
    var catN = V.categories.map(function () { return 0; });
    for (var i = 0; i < V.n; i++) catN[V.cat.charCodeAt(i) - 48] += 1;
    var cats = "<option value='-1'>" + W.filter_any + "</option>" + categories().map(function (c, k) {
      return catN[k] ? "<option value='" + k + "'" + (k === st.filter.cat ? " selected" : "") + ">" + c[1] + " (" + fmt(catN[k]) + ")</option>" : "";
    }).join("");
    var links = (S.links || []).map(function (l) { return " \u00b7 <a href='" + l[1] + "'>" + l[0] + "</a>"; }).join("");
    /* each language named in itself; shown when the run wrote both */
    var langs = (S.langs || []).length > 1 ? "<div class='dg-langs' role='group'>" + S.langs.map(function (l) {
      return "<button type='button' class='dg-lang" + (l === st.lang ? " dg-on" : "") + "' data-lang='" + l + "' lang='" + l + "'" +
        (l === st.lang ? " aria-pressed='true'" : "") + ">" + LANG_NAMES[l] + "</button>";
    }).join("") + "</div>" : "";
    var q = document.getElementById("dg-search");
    q = q ? q.value : "";
    p.innerHTML = langs + "<h1>" + W.title + "</h1><div class='dg-note'>" + S.run + " \u00b7 " + W.generated + " " + S.generated + links + "</div>" +
      "<input id='dg-search' type='search' placeholder='" + W.search + "' aria-label='" + W.search + "'><div id='dg-results'></div>" +
      "<div id='dg-summary'>" + (S.summary || "") + "</div>" +
      "<details open><summary>" + W.cell_layers + "</summary><div class='dg-radios'>" + layers + "</div>" +
      "<label><input type='checkbox' id='dg-outlines'" + (st.outlines ? " checked" : "") + "> " + W.show_outlines + "</label>" +
      (S.featureWords && S.featureWords.routes ? "<label><input type='checkbox' class='dg-feature' data-layers='routes nodes'" + (st.features.routes ? " checked" : "") + "> " + S.featureWords.routes + "</label>" : "") +
      (S.featureWords && S.featureWords.outlets ? "<label><input type='checkbox' class='dg-feature' data-layers='outlets outlets-cluster'" + (st.features.outlets ? " checked" : "") + "> " + S.featureWords.outlets + "</label>" : "") +
      "</details>" +
      "<details open><summary>" + W.filters + "</summary><div class='dg-tiers'>" + tiers + "</div>" +
      "<label>" + W.filter_failing + " <select id='dg-f-rule'>" + rules + "</select></label>" +
      "<label>" + W.filter_province + " <select id='dg-f-province'>" + provs + "</select></label>" +
      "<label>" + W.filter_category + " <select id='dg-f-cat'>" + cats + "</select></label>" +
      "<button id='dg-clear' type='button'>" + W.clear + "</button> <button id='dg-csv' type='button'>" + W.export_csv + "</button>" +
      " <button id='dg-xlsx' type='button'>" + W.export_xlsx + "</button>" +
      " <button id='dg-geojson' type='button'>" + W.export_geojson + "</button></details>" +
      "<div id='dg-counts'></div><h2 id='dg-places-title'></h2><div id='dg-places'></div>" +
      "<h2>" + W.table + "</h2><div id='dg-table'></div>";
    var box = document.getElementById("dg-search");
    box.value = q;
    box.addEventListener("input", function (e) { st.searchLimit = 10; search(e.target.value); });
    if (p.dgBound) return;
    p.dgBound = true;
    p.addEventListener("change", function (e) {
      var tg = e.target;
      if (tg.name === "dg-layer") setLayer(+tg.value);
      else if (tg.classList.contains("dg-f-tier")) { st.filter.tiers[+tg.value] = tg.checked; applyFilter(); }
      else if (tg.id === "dg-f-rule") { st.filter.rule = +tg.value; applyFilter(); }
      else if (tg.id === "dg-f-province") { selectProvince(+tg.value); }
      else if (tg.id === "dg-f-cat") { st.filter.cat = +tg.value; applyFilter(); }
      else if (tg.id === "dg-outlines") { st.outlines = tg.checked; refreshOutlines(); }
      else if (tg.classList.contains("dg-feature")) {
        st.features[tg.getAttribute("data-layers").split(" ")[0]] = tg.checked;
        toggle(tg.getAttribute("data-layers").split(" "), tg.checked);
        renderLegend();
      }
    });
    p.addEventListener("click", function (e) {
      var row = e.target.closest("[data-i]"), place = e.target.closest(".dg-place");
      var bind = e.target.closest(".dg-bind"), sortBy = e.target.closest(".dg-sort");
      if (sortBy) {
        var col = +sortBy.getAttribute("data-col"), cur = st.sort || { col: -1, dir: 1 };
        st.sort = { col: col, dir: cur.col === col ? -cur.dir : 1 };
        renderTable();
        return;
      }
      if (bind && !S.rules[+bind.getAttribute("data-rule")].info) {
        st.filter.rule = +bind.getAttribute("data-rule");
        document.getElementById("dg-f-rule").value = String(st.filter.rule);
        applyFilter();
        return;
      }
      if (e.target.classList.contains("dg-more")) { st.searchLimit = (st.searchLimit || 10) + 20; search(document.getElementById("dg-search").value); return; }
      if (row) { flyTo(+row.getAttribute("data-i")); return; }
      if (place && place.hasAttribute("data-province")) selectProvince(+place.getAttribute("data-province"));
      else if (place && place.hasAttribute("data-regency")) selectRegency(+place.getAttribute("data-regency"));
      if (e.target.id === "dg-clear") clearFilters();
      if (e.target.id === "dg-csv") exportSelection("csv");
      if (e.target.id === "dg-xlsx") exportSelection("xlsx");
      if (e.target.id === "dg-geojson") exportSelection("geojson");
      var lang = e.target.closest(".dg-lang");
      if (lang) setLang(lang.getAttribute("data-lang"));
    });
  }

  var LANG_NAMES = { id: "Bahasa Indonesia", en: "English" };

  /* every word of the page in language l: its site words (site.<l>.js, loaded once),
     the panel, legend, counts, table and an open popup redrawn; <html lang> follows */
  function setLang(l) {
    if (l === st.lang) return;
    need(l === S0.lang ? "site" : "site." + l, function (d) {
      st.lang = l;
      S = despro.site = d; W = S.words;
      document.documentElement.lang = l;
      document.title = plain(W.title);
      buildPanel();
      renderLegend();
      applyFilter();
      search(document.getElementById("dg-search").value);
      if (st.popup && st.popup.isOpen()) openPopup(st.popupVillage, true);
    });
  }
  despro.setLang = setLang;

  function fit(b) { map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 30, duration: 600 }); }

  function selectProvince(k) {
    st.filter.province = k; st.filter.regency = -1;
    document.getElementById("dg-f-province").value = String(k);
    applyFilter();
    fit(k >= 0 ? V.provinces[k][2] : S.bounds);
  }
  despro.selectProvince = selectProvince;

  function selectRegency(k) {
    st.filter.regency = st.filter.regency === k ? -1 : k;
    applyFilter();
    if (st.filter.regency >= 0) fit(V.regencies[k][3]);
  }
  despro.selectRegency = selectRegency;

  function clearFilters() {
    st.filter = { tiers: [true, true, true, true], rule: -1, province: -1, regency: -1, cat: -1 };
    Array.prototype.forEach.call(document.querySelectorAll(".dg-f-tier"), function (c) { c.checked = true; });
    document.getElementById("dg-f-rule").value = "-1";
    document.getElementById("dg-f-province").value = "-1";
    document.getElementById("dg-f-cat").value = "-1";
    applyFilter();
  }

  /* the selection as a file: formula-like texts get a leading apostrophe in the CSV */
  function selectionRows() {
    var rows = [];
    for (var i = 0; i < V.n; i++) if (passes(i)) rows.push(i);
    return rows;
  }
  despro.selectionRows = selectionRows;

  function csvCell(s) {
    s = plain(String(s));
    if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
    return /[",\n;]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }

  function categories() { return S.categories || V.categories; }

  var EXPORT_COLUMNS = ["village_code", "village_name", "district_name", "regency_code", "regency_name",
    "province_name", "tier", "rank", "product_category", "lat", "lon"];
  /* one village as exported: escaped texts (csvCell and the XLSX writer unescape them) */
  function exportRow(i) {
    var r = V.regencies[V.reg[i]], c = categories()[V.cat.charCodeAt(i) - 48];
    return [V.code[i], V.name[i], V.dist[i] >= 0 ? V.districts[V.dist[i]] : "", r[0], r[1], V.provinces[r[2]][1],
      S.tiers[+V.tier.charAt(i)].key, V.rank[i], c[0] ? c[1] : "", V.y[i], V.x[i]];
  }
  despro.exportRow = exportRow;

  /* --- XLSX: SpreadsheetML parts in a store-only ZIP (no library, no network) ------- */

  var CRC_TABLE = (function () {
    var t = new Uint32Array(256);
    for (var n = 0; n < 256; n++) {
      var c = n;
      for (var k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      t[n] = c >>> 0;
    }
    return t;
  })();

  function crc32(bytes) {
    var c = 0xffffffff;
    for (var i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  }

  /* files: [[name, Uint8Array]] -> the bytes of a ZIP archive, every entry stored */
  function zipStore(files) {
    var enc = new TextEncoder(), parts = [], central = [], offset = 0;
    var now = new Date();
    var dosTime = (now.getHours() << 11) | (now.getMinutes() << 5) | (now.getSeconds() >> 1);
    var dosDate = ((now.getFullYear() - 1980) << 9) | ((now.getMonth() + 1) << 5) | now.getDate();
    function header(sig, size) { var b = new DataView(new ArrayBuffer(size)); b.setUint32(0, sig, true); return b; }
    files.forEach(function (f) {
      var name = enc.encode(f[0]), data = f[1], crc = crc32(data);
      var h = header(0x04034b50, 30);
      h.setUint16(4, 20, true); h.setUint16(6, 0x0800, true); h.setUint16(8, 0, true);
      h.setUint16(10, dosTime, true); h.setUint16(12, dosDate, true); h.setUint32(14, crc, true);
      h.setUint32(18, data.length, true); h.setUint32(22, data.length, true);
      h.setUint16(26, name.length, true); h.setUint16(28, 0, true);
      var c = header(0x02014b50, 46);
      c.setUint16(4, 20, true); c.setUint16(6, 20, true); c.setUint16(8, 0x0800, true); c.setUint16(10, 0, true);
      c.setUint16(12, dosTime, true); c.setUint16(14, dosDate, true); c.setUint32(16, crc, true);
      c.setUint32(20, data.length, true); c.setUint32(24, data.length, true); c.setUint16(28, name.length, true);
      c.setUint32(42, offset, true);
      parts.push(new Uint8Array(h.buffer), name, data);
      central.push(new Uint8Array(c.buffer), name);
      offset += 30 + name.length + data.length;
    });
    var size = central.reduce(function (a, b) { return a + b.length; }, 0);
    var e = header(0x06054b50, 22);
    e.setUint16(8, files.length, true); e.setUint16(10, files.length, true);
    e.setUint32(12, size, true); e.setUint32(16, offset, true);
    var all = parts.concat(central, [new Uint8Array(e.buffer)]);
    var out = new Uint8Array(all.reduce(function (a, b) { return a + b.length; }, 0)), at = 0;
    all.forEach(function (b) { out.set(b, at); at += b.length; });
    return out;
  }
  despro.zipStore = zipStore;

  function xmlText(s) {
    /* characters XML 1.0 cannot hold are dropped; text stays text (no formula) */
    return String(s).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "")
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }

  function columnName(k) { var s = ""; k += 1; while (k) { var m = (k - 1) % 26; s = String.fromCharCode(65 + m) + s; k = (k - m - 1) / 26; } return s; }

  /* header + rows (numbers stay numbers, texts inline strings) -> .xlsx bytes */
  function xlsxBytes(header, rows, sheet) {
    var enc = new TextEncoder(), xml = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' +
      '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'];
    [header].concat(rows).forEach(function (row, r) {
      xml.push('<row r="' + (r + 1) + '">');
      row.forEach(function (v, k) {
        var ref = columnName(k) + (r + 1);
        if (typeof v === "number" && isFinite(v)) xml.push('<c r="' + ref + '"><v>' + v + "</v></c>");
        else if (v !== "" && v !== null && v !== undefined) xml.push('<c r="' + ref + '" t="inlineStr"><is><t xml:space="preserve">' + xmlText(v) + "</t></is></c>");
      });
      xml.push("</row>");
    });
    xml.push("</sheetData></worksheet>");
    var head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';
    var rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    return zipStore([
      ["[Content_Types].xml", enc.encode(head + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
        '<Default Extension="xml" ContentType="application/xml"/>' +
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>' +
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')],
      ["_rels/.rels", enc.encode(head + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
        '<Relationship Id="rId1" Type="' + rel + '/officeDocument" Target="xl/workbook.xml"/></Relationships>')],
      ["xl/workbook.xml", enc.encode(head + '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="' + rel + '">' +
        '<sheets><sheet name="' + xmlText(sheet) + '" sheetId="1" r:id="rId1"/></sheets></workbook>')],
      ["xl/_rels/workbook.xml.rels", enc.encode(head + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
        '<Relationship Id="rId1" Type="' + rel + '/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')],
      ["xl/worksheets/sheet1.xml", enc.encode(xml.join(""))]
    ]);
  }
  despro.xlsxBytes = xlsxBytes;

  function exportSelection(kind) {
    var rows = selectionRows(), text, type;
    if (kind === "csv") {
      var lines = [EXPORT_COLUMNS.join(",")];
      rows.forEach(function (i) { lines.push(exportRow(i).map(csvCell).join(",")); });
      text = lines.join("\n") + "\n"; type = "text/csv";
    } else if (kind === "xlsx") {
      text = xlsxBytes(EXPORT_COLUMNS, rows.map(function (i) {
        return exportRow(i).map(function (x) { return typeof x === "number" ? x : plain(String(x)); });
      }), "despro");
      type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    } else {
      text = JSON.stringify({ type: "FeatureCollection", features: rows.map(function (i) {
        return { type: "Feature", geometry: { type: "Point", coordinates: [V.x[i], V.y[i]] },
          properties: { village_code: plain(V.code[i]), village_name: plain(V.name[i]), tier: plain(S.tiers[+V.tier.charAt(i)].key), rank: V.rank[i] } };
      }) });
      type = "application/geo+json";
    }
    despro.lastExport = text;
    var a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([text], { type: type }));
    a.download = "despro-selection." + kind;
    document.body.appendChild(a); a.click(); a.remove();
  }
  despro.exportSelection = exportSelection;

  /* --- start ------------------------------------------------------------------------ */

  despro.start = function () {
    var t0 = performance.now();
    despro.timing = {};
    S = S0 = despro.data.site; V = despro.data.villages; W = S.words;
    st.lang = S.lang; st.features = { routes: true, outlets: false };
    despro.site = S; despro.villages = V;
    decodeVillages();
    despro.timing.decoded = performance.now() - t0;
    st.filter = { tiers: [true, true, true, true], rule: -1, province: -1, regency: -1, cat: -1 };
    st.layer = 0; st.outlines = true;
    var b = S.bounds;
    /* two workers: the outlines and the villages are tiled side by side (the cells need
       none: despro-gl-cells.js) */
    if (maplibregl.setWorkerCount && maplibregl.getWorkerCount() < 2) maplibregl.setWorkerCount(2);
    map = despro.map = new maplibregl.Map({
      container: "despro-map",
      style: { version: 8, sources: {}, layers: [{ id: "bg", type: "background", paint: { "background-color": "#f2efe9" } }] },
      bounds: [[b[0], b[1]], [b[2], b[3]]], fitBoundsOptions: { padding: 20 },
      maxZoom: 16, dragRotate: false, pitchWithRotate: false, attributionControl: false,
      preserveDrawingBuffer: true
    });
    map.touchZoomRotate.disableRotation();
    if (window.ResizeObserver) new ResizeObserver(function () { map.resize(); }).observe(map.getContainer());
    map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
    map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-right");
    buildPanel();  /* while the map's workers start */
    despro.timing.panel = performance.now() - t0;
    map.on("load", function () {
      despro.timing.mapLoad = performance.now() - t0;
      S.tiers.forEach(function (t, k) { map.addImage("m" + k, shapeImage(t.shape, t.colour, 20)); });
      map.addImage("pilot", shapeImage("star", "#ffffff", 28));
      var empty = { type: "FeatureCollection", features: [] };
      map.addSource("outlines", { type: "geojson", data: empty, tolerance: 0.2 });
      map.addSource("villages", { type: "geojson", data: empty });
      map.addSource("villages-top", { type: "geojson", data: empty });
      map.addSource("pilots", { type: "geojson", data: pilotFeatures() });
      cells = despro.cellLayer(map);
      map.addLayer(cells.layer);
      if (S.clusters && S.clusters.length) {
        map.addSource("clusters", { type: "geojson", data: { type: "FeatureCollection", features: S.clusters.map(function (c, k) {
          var lat = 0, lon = 0, pts = [];
          for (var j = 0; j < c[0].length; j += 2) { lat += c[0][j]; lon += c[0][j + 1]; pts.push([lon / SCALE, lat / SCALE]); }
          pts.push(pts[0]);
          return { type: "Feature", geometry: { type: "Polygon", coordinates: [pts] }, properties: { k: k, c: c[1] } };
        }) } });
        map.addLayer({ id: "clusters", type: "fill", source: "clusters", paint: { "fill-color": ["get", "c"], "fill-opacity": 0.25 } });
        map.addLayer({ id: "clusters-line", type: "line", source: "clusters", paint: { "line-color": ["get", "c"], "line-width": 2 } });
        map.on("click", "clusters", function (e) {
          var on = ["villages-top", "villages", "villages-dots", "pilots", "agents"].filter(function (l) { return map.getLayer(l); });
          if (map.queryRenderedFeatures(e.point, { layers: on }).length) return;
          new maplibregl.Popup({ maxWidth: "420px" }).setLngLat(e.lngLat).setHTML(S.clusters[e.features[0].properties.k][2]).addTo(map);
        });
      }
      map.addLayer({ id: "outlines", type: "line", source: "outlines", paint: { "line-color": "#4d4d4d", "line-width": 0.8, "line-opacity": 0.8 } });
      /* many villages in one tile overflow a symbol bucket (65,536 vertices): below zoom
         8 the undetermined and not-ready villages are dots; ready, near-ready and
         shortlisted ones keep their shapes at every zoom */
      var colours = ["match", ["get", "t"]];
      S.tiers.forEach(function (t, k) { colours.push(k, t.colour); });
      colours.push("#000000");
      map.addLayer({ id: "villages-dots", type: "circle", source: "villages", minzoom: DOTS_ZOOM, maxzoom: 8, paint: {
        "circle-color": colours, "circle-radius": ["interpolate", ["linear"], ["zoom"], 3, 0.7, 6, 1.5, 8, 3.5],
        "circle-opacity": 0.85,
        "circle-stroke-color": "#222222", "circle-stroke-width": ["interpolate", ["linear"], ["zoom"], 5.5, 0, 7, 0.5]
      } });
      var symbol = {
        "icon-image": ["concat", "m", ["to-string", ["get", "t"]]], "icon-allow-overlap": true, "icon-ignore-placement": true,
        "symbol-sort-key": ["get", "o"],
        "icon-size": ["interpolate", ["linear"], ["zoom"], 4, ["+", 0.3, ["*", 0.2, ["get", "big"]]], 10, ["+", 0.6, ["*", 0.3, ["get", "big"]]], 14, ["+", 0.9, ["*", 0.3, ["get", "big"]]]]
      };
      map.addLayer({ id: "villages", type: "symbol", source: "villages", minzoom: 8, layout: symbol });
      map.addLayer({ id: "villages-top", type: "symbol", source: "villages-top", layout: symbol });
      map.addLayer({ id: "pilots", type: "symbol", source: "pilots", layout: { "icon-image": "pilot", "icon-allow-overlap": true, "icon-ignore-placement": true, "icon-size": 0.9 } });
      addFeatures();
      if (despro.addRollout) despro.addRollout(map);  /* despro-gl-plan.js */
      if (S.agents && S.agents.length) {
        map.addSource("agents", { type: "geojson", data: { type: "FeatureCollection", features: S.agents.map(function (a, k) {
          return { type: "Feature", geometry: { type: "Point", coordinates: [a[1], a[0]] }, properties: { k: k, r: a[2] } };
        }) } });
        /* the coverage radius in metres, drawn at the latitude of the map's centre */
        var perM = 512 / (40075016.686 * Math.cos(map.getCenter().lat * Math.PI / 180));  /* px per m at zoom 0 */
        map.addLayer({ id: "agents-reach", type: "circle", source: "agents", paint: {
          "circle-radius": ["interpolate", ["exponential", 2], ["zoom"], 0, ["*", ["get", "r"], perM], 20, ["*", ["get", "r"], perM * Math.pow(2, 20)]], "circle-color": "rgba(0,0,0,0)",
          "circle-stroke-color": "#7a3e00", "circle-stroke-width": 1, "circle-stroke-opacity": 0.7 } });
        map.addLayer({ id: "agents", type: "circle", source: "agents", paint: {
          "circle-radius": 6, "circle-color": "#7a3e00", "circle-stroke-color": "#ffffff", "circle-stroke-width": 2 } });
        map.on("click", "agents", function (e) {
          e.preventDefault();
          new maplibregl.Popup({ maxWidth: "420px" }).setLngLat(e.lngLat).setHTML(S.agents[e.features[0].properties.k][3]).addTo(map);
        });
      }
      ["villages-dots", "villages", "villages-top", "pilots"].forEach(function (id) {
        map.on("click", id, function (e) { e.preventDefault(); openPopup(e.features[0].properties.i); });
        map.on("mouseenter", id, function () { map.getCanvas().style.cursor = "pointer"; });
        map.on("mouseleave", id, function () { map.getCanvas().style.cursor = ""; });
      });
      setLayer(0);
      applyFilter(function () { despro.timing.ready = performance.now() - t0; despro.ready = true; });
      refreshOutlines();
      /* the cells first; the villages around the view and their outlines once the map
         is idle with them (the map's workers tile one thing at a time) */
      map.on("moveend", function () {
        refreshCells(); renderCounts(); renderLegend();
        map.once("idle", function () { refreshMany(); refreshOutlines(); });
      });
      map.once("idle", function () { despro.timing.idle = performance.now() - t0; });
      map.on("idle", function () { st.idleAt = performance.now(); });
    });
  };
})();
