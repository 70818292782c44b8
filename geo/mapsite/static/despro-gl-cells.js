/* despro national map: the cell layer, drawn by despro's own WebGL program (a MapLibre
 * custom layer), not by a GeoJSON source.
 *
 * A GeoJSON source of every cell in view made MapLibre's worker keep the cells several
 * times over (geojson-vt's tile tree at every zoom down to the view's, and the tiles
 * built from it), ~270 MB of one worker's heap after panning Java at res 8, plus the
 * GeoJSON objects on the page. Here a chunk of the pyramid coming into view becomes two
 * typed arrays (its hexagons as triangles, in Web Mercator relative to the chunk's
 * corner; the class code of each vertex for the layer shown), handed to WebGL and not
 * kept: WebGL holds them while the chunk is drawn (~0.25 MB per chunk of 2,401 cells)
 * and drops them when it leaves the view. No worker is involved.
 *
 * despro.cellLayer(map) returns { layer, draw(chunks, spec), count() }: `layer` goes
 * to map.addLayer; draw() shows exactly `chunks` (chunks of the pyramid as loaded into
 * despro.data: n cells, centres c, template t, exceptions x, classes v per layer)
 * coloured by `spec` (a cell layer of site.js: colours, unknown colour, categorical).
 */
(function () {
  "use strict";
  var despro = window.despro;
  var SCALE = 1e5;

  var VERTEX = [
    "attribute vec2 a_pos;",
    "attribute float a_code;",
    "uniform mat4 u_matrix;",
    "uniform vec4 u_colours[27];",  /* classes a.. (26 at most), then unknown */
    "uniform float u_opacity;",
    "varying vec4 v_colour;",
    "varying float v_partial;",
    "void main() {",
    "  float k = 26.0; v_partial = 0.0;",
    "  if (a_code >= 97.0) { k = a_code - 97.0; }",
    "  else if (a_code >= 65.0) { k = a_code - 65.0; v_partial = 1.0; }",
    "  vec4 c = u_colours[int(k + 0.5)];",
    "  v_colour = vec4(c.rgb * u_opacity, u_opacity);",
    "  gl_Position = u_matrix * vec4(a_pos, 0.0, 1.0);",
    "}"
  ].join("\n");

  /* a partial value: dark "/" stripes over the fill (as the legend's hatch), fixed to
     the map (u_anchor: where the world's corner falls on the screen, modulo 8 px) */
  var FRAGMENT = [
    "#ifdef GL_FRAGMENT_PRECISION_HIGH",
    "precision highp float;",
    "#else",
    "precision mediump float;",
    "#endif",
    "uniform vec2 u_anchor;",
    "varying vec4 v_colour;",
    "varying float v_partial;",
    "void main() {",
    "  vec4 c = v_colour;",
    "  vec2 p = gl_FragCoord.xy - u_anchor;",
    "  if (v_partial > 0.5 && mod(p.x - p.y, 8.0) < 1.5) {",
    "    float a = 0.85;",
    "    c = vec4(vec3(40.0 / 255.0) * a, a) + c * (1.0 - a);",
    "  }",
    "  gl_FragColor = c;",
    "}"
  ].join("\n");

  function mercX(lon) { return (lon + 180) / 360; }
  function mercY(lat) {
    var s = Math.sin(lat * Math.PI / 180);
    return 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI);
  }

  /* per cell of a chunk, its first vertex (of 3 per triangle; a fan of its ring) and
     the chunk's corner (Web Mercator of its first centre); made once, kept */
  function layout(chunk) {
    if (chunk.glFirst) return chunk.glFirst;
    var n = chunk.n, first = new Uint32Array(n + 1), extra = {}, t = chunk.t.length / 2, v = 0;
    (chunk.x || []).forEach(function (e) { extra[e[0]] = e[1].length / 2; });
    for (var i = 0; i < n; i++) { first[i] = v; v += 3 * ((extra[i] || t) - 2); }
    first[n] = v;
    chunk.glFirst = first;
    chunk.glOrigin = [mercX(chunk.c[1] / SCALE), mercY(chunk.c[0] / SCALE)];
    return first;
  }

  /* a chunk's triangles (x, y relative to its corner, in Web Mercator units) from its
     centres (delta-coded, lat / lon in 1e-5 degrees), vertex template and exceptions
     (see pyramid.py); made for the upload, not kept */
  function positions(chunk) {
    var first = layout(chunk), n = chunk.n, c = chunk.c, extra = {};
    (chunk.x || []).forEach(function (e) { extra[e[0]] = e[1]; });
    var pos = new Float32Array(2 * first[n]), ox = chunk.glOrigin[0], oy = chunk.glOrigin[1];
    var lat = 0, lon = 0, v = 0, xs = [], ys = [];
    for (var i = 0; i < n; i++) {
      lat += c[2 * i]; lon += c[2 * i + 1];
      var off = extra[i] || chunk.t, m = off.length / 2, k;
      for (k = 0; k < m; k++) {
        xs[k] = mercX((lon + off[2 * k + 1]) / SCALE) - ox;
        ys[k] = mercY((lat + off[2 * k]) / SCALE) - oy;
      }
      for (k = 1; k < m - 1; k++) {  /* hexagons (and the rare cell with more vertices
                                        near a face edge) are convex */
        pos[v++] = xs[0]; pos[v++] = ys[0];
        pos[v++] = xs[k]; pos[v++] = ys[k];
        pos[v++] = xs[k + 1]; pos[v++] = ys[k + 1];
      }
    }
    return pos;
  }

  /* the class code of every vertex of a chunk for one layer (see pyramid.py: a.. the
     class, A.. the class of a partial value, "." unknown) */
  function codes(chunk, spec) {
    var first = layout(chunk), vals = chunk.v[spec.key] || null, n = chunk.n;
    var out = new Uint8Array(first[n]);
    for (var i = 0; i < n; i++) out.fill(vals ? vals.charCodeAt(i) : 46, first[i], first[i + 1]);
    return out;
  }

  function rgba(css) {
    var c = document.createElement("canvas").getContext("2d");
    c.fillStyle = css;
    var h = c.fillStyle;  /* #rrggbb, or rgba(...) */
    if (h.charAt(0) === "#") return [parseInt(h.slice(1, 3), 16) / 255, parseInt(h.slice(3, 5), 16) / 255, parseInt(h.slice(5, 7), 16) / 255, 1];
    var p = h.replace(/[^\d.,]/g, "").split(",").map(Number);
    return [p[0] / 255, p[1] / 255, p[2] / 255, p.length > 3 ? p[3] : 1];
  }

  despro.cellLayer = function (map) {
    var gl = null, program = null, loc = {}, shown = [], spec = null, colours = null;
    var held = new Map();  /* chunk -> its WebGL buffers {pos, code, key}: shown chunks only */

    function compile(type, source) {
      var s = gl.createShader(type);
      gl.shaderSource(s, source);
      gl.compileShader(s);
      if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(s));
      return s;
    }

    /* WebGL work happens in render() only: MapLibre caches its GL state and resets the
       cache after a custom layer has drawn, not at other times */
    function sync() {
      var keep = new Set(shown);
      held.forEach(function (b, chunk) {
        if (keep.has(chunk)) return;
        gl.deleteBuffer(b.pos); gl.deleteBuffer(b.code);
        held.delete(chunk);
      });
      shown.forEach(function (chunk) {
        var b = held.get(chunk);
        if (!b) {
          b = { pos: gl.createBuffer(), code: gl.createBuffer(), key: null };
          gl.bindBuffer(gl.ARRAY_BUFFER, b.pos);
          gl.bufferData(gl.ARRAY_BUFFER, positions(chunk), gl.STATIC_DRAW);
          held.set(chunk, b);
        }
        if (b.key !== spec.key) {
          gl.bindBuffer(gl.ARRAY_BUFFER, b.code);
          gl.bufferData(gl.ARRAY_BUFFER, codes(chunk, spec), gl.STATIC_DRAW);
          b.key = spec.key;
        }
      });
    }

    var layer = {
      id: "cells",
      type: "custom",
      renderingMode: "2d",
      onAdd: function (m, context) {
        gl = context;
        program = gl.createProgram();
        gl.attachShader(program, compile(gl.VERTEX_SHADER, VERTEX));
        gl.attachShader(program, compile(gl.FRAGMENT_SHADER, FRAGMENT));
        gl.bindAttribLocation(program, 0, "a_pos");
        gl.bindAttribLocation(program, 1, "a_code");
        gl.linkProgram(program);
        if (!gl.getProgramParameter(program, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(program));
        ["u_matrix", "u_colours", "u_opacity", "u_anchor"].forEach(function (u) { loc[u] = gl.getUniformLocation(program, u); });
      },
      onRemove: function () {
        shown = [];
        sync();
        gl.deleteProgram(program);
      },
      render: function (context, args) {
        sync();
        if (!shown.length) return;
        var m = args.defaultProjectionData.mainMatrix, u = new Float32Array(16);
        gl.useProgram(program);
        gl.uniform4fv(loc.u_colours, colours);
        gl.uniform1f(loc.u_opacity, spec.categorical ? 0.35 : 0.65);
        var ax = (m[12] / m[15] + 1) / 2 * gl.drawingBufferWidth, ay = (m[13] / m[15] + 1) / 2 * gl.drawingBufferHeight;
        gl.uniform2f(loc.u_anchor, ((ax % 8) + 8) % 8, ((ay % 8) + 8) % 8);
        gl.disable(gl.DEPTH_TEST);
        gl.disable(gl.STENCIL_TEST);
        gl.disable(gl.CULL_FACE);
        gl.enable(gl.BLEND);
        gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
        gl.enableVertexAttribArray(0);
        gl.enableVertexAttribArray(1);
        shown.forEach(function (chunk) {
          var b = held.get(chunk), o = chunk.glOrigin;
          /* the matrix times a translation to the chunk's corner, in double precision:
             the vertices stay small, so float32 keeps them exact to centimetres */
          for (var r = 0; r < 16; r++) u[r] = m[r];
          for (r = 0; r < 4; r++) u[12 + r] = m[r] * o[0] + m[4 + r] * o[1] + m[12 + r];
          gl.uniformMatrix4fv(loc.u_matrix, false, u);
          gl.bindBuffer(gl.ARRAY_BUFFER, b.pos);
          gl.vertexAttribPointer(0, 2, gl.FLOAT, false, 0, 0);
          gl.bindBuffer(gl.ARRAY_BUFFER, b.code);
          gl.vertexAttribPointer(1, 1, gl.UNSIGNED_BYTE, false, 0, 0);
          gl.drawArrays(gl.TRIANGLES, 0, chunk.glFirst[chunk.n]);
        });
        gl.disableVertexAttribArray(1);
      }
    };

    return {
      layer: layer,
      /* show exactly these decoded chunks (of despro.data), coloured by the cell layer
         `s` of site.js (null: none) */
      draw: function (chunks, s) {
        shown = s ? chunks.slice() : [];
        shown.forEach(layout);
        if (s && s !== spec) {  /* the layer's colours, once per layer */
          var c = [];
          s.colours.slice(0, 26).forEach(function (x) { c = c.concat(rgba(x)); });
          var unknown = rgba(s.unknown);
          while (c.length < 27 * 4) c = c.concat(unknown);  /* as MapLibre's match: else unknown */
          colours = new Float32Array(c.slice(0, 26 * 4).concat(unknown));
        }
        spec = s;
        map.triggerRepaint();
      },
      /* cells shown */
      count: function () {
        return shown.reduce(function (n, chunk) { return n + chunk.n; }, 0);
      }
    };
  };
})();
