/// The sweep report's script and the styles it needs, kept in the binary (no resource bundle, so
/// `probe-cli` stays one self-contained file) and written as `report.js` and into `index.html`.
///
/// Plain JavaScript (ES2015, no library, no request of any kind): it reads the JSON block
/// `#report-data` (``SweepReport/InteractiveData``) and
/// - makes every `table.sortable` sort by a click on a header (ascending, then descending; a
///   column whose filled cells are all numbers sorts numerically, by a cell's `data-value` when
///   it has one, else by the number its text starts with, `k`/`M`/`G`/`T` understood; empty cells
///   last), and every `input.table-filter` hide the rows of its table that lack any of the typed
///   words (case-insensitive), counting the rows shown in the matching `.filter-count`;
/// - redraws each `figure.heatmap[data-heatmap]` on a canvas from the embedded matrix, in the
///   picture's order and colour map (one cell per matrix entry, scaled without smoothing),
///   keeping the picture as a link; hovering a cell shows `channel I × channel J` and the
///   similarity in `#report-tooltip`, clicking it opens a `.pair-panel` with the two channels'
///   stored feature maps (`canvas.feature-map`) side by side, each with its channel index and
///   value range, and the similarity;
/// - puts an invisible marker (`.chart-marker`) over each point of each `figure.chart[data-chart]`
///   that shows the point's series and values on hover.
enum ReportScript {
    static let style = """
        table.sortable th { cursor: pointer; user-select: none; }
        table.sortable th[aria-sort="ascending"]::after { content: " \\25B2"; font-size: 0.75em; }
        table.sortable th[aria-sort="descending"]::after { content: " \\25BC"; font-size: 0.75em; }
        .table-tools input { font: inherit; padding: 2px 6px; min-width: 16em; }
        .tooltip { position: absolute; z-index: 10; background: #222; color: #fff; padding: 4px 8px; border-radius: 4px; font-size: 0.85em; white-space: pre; pointer-events: none; }
        canvas.heatmap-canvas { width: 100%; height: auto; image-rendering: pixelated; border: 1px solid #ddd; cursor: crosshair; display: block; }
        .chart-wrap { position: relative; display: inline-block; max-width: 100%; line-height: 0; border: 1px solid #ddd; }
        .chart-wrap img { display: block; border: none !important; }
        .chart-marker { position: absolute; width: 16px; height: 16px; margin: -8px 0 0 -8px; border-radius: 50%; }
        .chart-marker:hover { outline: 2px solid rgba(0, 0, 0, 0.45); }
        details.chart-data { margin-top: 4px; font-size: 0.9em; }
        .pair-panel { margin-top: 8px; padding: 8px; border: 1px solid #ddd; background: #fafafa; }
        .pair-panel .pair-maps { display: flex; gap: 12px; flex-wrap: nowrap; }
        .pair-panel figure { margin: 0; flex: 0 1 auto; min-width: 0; }
        canvas.feature-map { image-rendering: pixelated; border: 1px solid #ccc; display: block; max-width: 100%; height: auto; }
        .pair-panel button { float: right; }
        """

    static let javascript = #"""
        // SPConvLab sweep report: sortable and filterable tables, interactive heatmaps and charts.
        // Plain JavaScript, no library; it reads the JSON in #report-data and makes no request.
        (function () {
          "use strict";
          var dataElement = document.getElementById("report-data");
          var data = dataElement ? JSON.parse(dataElement.textContent) : {};

          // ---- Tables: sort by a header click, filter by a text box.
          var multipliers = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
          function numberOf(cell) {
            var exact = cell.getAttribute("data-value");
            if (exact !== null && exact !== "") { return parseFloat(exact); }
            var match = /^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([kMGT]?)(?![A-Za-z])/.exec(cell.textContent);
            return match ? parseFloat(match[1]) * multipliers[match[2]] : null;
          }
          function sortTable(table, column, header) {
            var ascending = header.getAttribute("aria-sort") !== "ascending";
            var headers = table.tHead.rows[0].cells;
            for (var h = 0; h < headers.length; h++) { headers[h].removeAttribute("aria-sort"); }
            header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
            var body = table.tBodies[0];
            var rows = Array.prototype.slice.call(body.rows);
            var keys = rows.map(function (row, index) {
              var cell = row.cells[column];
              var text = cell ? cell.textContent.trim() : "";
              return { row: row, index: index, text: text, number: cell && text !== "" ? numberOf(cell) : null };
            });
            var filled = keys.filter(function (k) { return k.text !== ""; });
            var numeric = filled.length > 0 && filled.every(function (k) { return k.number !== null && !isNaN(k.number); });
            keys.sort(function (a, b) {
              if ((a.text === "") !== (b.text === "")) { return a.text === "" ? 1 : -1; }
              var order = 0;
              if (a.text !== "") {
                order = numeric ? a.number - b.number : a.text.localeCompare(b.text, undefined, { numeric: true });
                if (!ascending) { order = -order; }
              }
              return order !== 0 ? order : a.index - b.index;
            });
            keys.forEach(function (k) { body.appendChild(k.row); });
          }
          Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
            if (!table.tHead || !table.tBodies.length) { return; }
            Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header, column) {
              header.tabIndex = 0;
              header.title = "Sort by this column";
              header.addEventListener("click", function () { sortTable(table, column, header); });
              header.addEventListener("keydown", function (event) {
                if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sortTable(table, column, header); }
              });
            });
          });
          Array.prototype.forEach.call(document.querySelectorAll("input.table-filter"), function (input) {
            var table = document.getElementById(input.getAttribute("data-table"));
            var count = document.querySelector(".filter-count[data-table='" + input.getAttribute("data-table") + "']");
            if (!table) { return; }
            function apply() {
              var words = input.value.toLowerCase().split(/\s+/).filter(function (w) { return w !== ""; });
              var rows = table.tBodies[0].rows, shown = 0;
              for (var r = 0; r < rows.length; r++) {
                var text = rows[r].textContent.toLowerCase();
                var visible = words.every(function (w) { return text.indexOf(w) >= 0; });
                rows[r].hidden = !visible;
                if (visible) { shown++; }
              }
              if (count) { count.textContent = shown + " of " + rows.length + " runs"; }
            }
            input.addEventListener("input", apply);
            apply();
          });

          // ---- The tooltip shared by heatmaps and charts.
          var tooltip = document.createElement("div");
          tooltip.id = "report-tooltip";
          tooltip.className = "tooltip";
          tooltip.hidden = true;
          document.body.appendChild(tooltip);
          function showTooltip(text, event) {
            tooltip.textContent = text;
            tooltip.hidden = false;
            tooltip.style.left = (event.pageX + 14) + "px";
            tooltip.style.top = (event.pageY + 14) + "px";
          }
          function hideTooltip() { tooltip.hidden = true; }

          // ---- Decoding and colours.
          function bytesOf(base64) {
            var text = atob(base64), bytes = new Uint8Array(text.length);
            for (var i = 0; i < text.length; i++) { bytes[i] = text.charCodeAt(i); }
            return bytes;
          }
          function float32Of(base64) {
            var bytes = bytesOf(base64), view = new DataView(bytes.buffer), values = new Float32Array(bytes.length / 4);
            for (var i = 0; i < values.length; i++) { values[i] = view.getFloat32(4 * i, true); }
            return values;
          }
          var domains = { viridis: [0, 1], coolwarm: [-1, 1] };
          // matplotlib's lookup: u = (t - lower) / (upper - lower) clamped to [0, 1], entry min(floor(u * 256), 255).
          function colourOf(name, t) {
            if (isNaN(t)) { return data.nanColor; }
            var domain = domains[name], u = Math.min(Math.max((t - domain[0]) / (domain[1] - domain[0]), 0), 1);
            var entry = data.colormaps[name][Math.min(Math.floor(u * 256), 255)];
            return [(entry >> 16) & 255, (entry >> 8) & 255, entry & 255];
          }
          function format(value) { return isNaN(value) ? "NaN" : String(Number(value.toPrecision(6))); }
          // A w x h picture, one pixel per entry, drawn scaled by `scale` without smoothing.
          function pixelCanvas(width, height, scale, colourAt) {
            var source = document.createElement("canvas");
            source.width = width;
            source.height = height;
            var context = source.getContext("2d"), image = context.createImageData(width, height);
            for (var y = 0; y < height; y++) {
              for (var x = 0; x < width; x++) {
                var rgb = colourAt(y, x), p = 4 * (y * width + x);
                image.data[p] = rgb[0]; image.data[p + 1] = rgb[1]; image.data[p + 2] = rgb[2]; image.data[p + 3] = 255;
              }
            }
            context.putImageData(image, 0, 0);
            var canvas = document.createElement("canvas");
            canvas.width = width * scale;
            canvas.height = height * scale;
            var target = canvas.getContext("2d");
            target.imageSmoothingEnabled = false;
            target.drawImage(source, 0, 0, canvas.width, canvas.height);
            return canvas;
          }

          // ---- Heatmaps: hover for the pair, click for its feature maps.
          var codeCache = {};
          function showPair(figure, heatmap, first, second, value) {
            var panel = figure.querySelector(".pair-panel");
            if (!panel) {
              panel = document.createElement("div");
              panel.className = "pair-panel";
              figure.appendChild(panel);
            }
            panel.textContent = "";
            var close = document.createElement("button");
            close.type = "button";
            close.textContent = "Close";
            close.addEventListener("click", function () { panel.remove(); });
            panel.appendChild(close);
            var heading = document.createElement("p");
            heading.className = "pair-heading";
            heading.textContent = "channel " + first + " × channel " + second + ": " + heatmap.metric + " similarity " + format(value);
            panel.appendChild(heading);
            if (heatmap.featureMaps === null || heatmap.featureMaps === undefined) {
              var note = document.createElement("p");
              note.className = "note";
              note.textContent = "No feature maps stored for this layer (a database written before v4_feature_maps, or a layer larger than the sweep stores).";
              panel.appendChild(note);
              return;
            }
            var maps = data.featureMaps[heatmap.featureMaps];
            var key = String(heatmap.featureMaps);
            var codes = codeCache[key] || (codeCache[key] = bytesOf(maps.codes));
            heading.textContent += " (feature maps of image " + maps.image + ", " + maps.height + " × " + maps.width + ")";
            var row = document.createElement("div");
            row.className = "pair-maps";
            // Two pictures fit side by side in the figure: at most 160 pixels, whole pixels per value.
            var room = Math.min(160, Math.max(1, (figure.clientWidth - 40) / 2));
            var scale = Math.max(1, Math.floor(room / Math.max(maps.height, maps.width)));
            [first, second].forEach(function (channel) {
              var plane = maps.height * maps.width, offset = channel * plane;
              var canvas = pixelCanvas(maps.width, maps.height, scale, function (y, x) {
                var code = codes[offset + y * maps.width + x];
                return colourOf("viridis", code / 255);
              });
              canvas.className = "feature-map";
              canvas.setAttribute("data-channel", String(channel));
              var box = document.createElement("figure");
              var caption = document.createElement("figcaption");
              caption.textContent = "channel " + channel + ": " + format(maps.minimum[channel]) + " to " + format(maps.maximum[channel]);
              box.appendChild(canvas);
              box.appendChild(caption);
              row.appendChild(box);
            });
            panel.appendChild(row);
          }
          Array.prototype.forEach.call(document.querySelectorAll("figure.heatmap[data-heatmap]"), function (figure) {
            var heatmap = data.heatmaps[Number(figure.getAttribute("data-heatmap"))];
            var channels = heatmap.channels, order = heatmap.order, matrix = float32Of(heatmap.matrix);
            var canvas = pixelCanvas(channels, channels, Math.max(1, Math.ceil(512 / channels)), function (r, c) {
              return colourOf(heatmap.colormap, matrix[order[r] * channels + order[c]]);
            });
            canvas.className = "heatmap-canvas";
            canvas.setAttribute("role", "img");
            canvas.setAttribute("aria-label", "Interactive heatmap: hover a cell for its channel pair, click it for their feature maps");
            var link = figure.querySelector("a");
            figure.insertBefore(canvas, link);
            link.hidden = true;
            function cellAt(event) {
              var box = canvas.getBoundingClientRect();
              var r = Math.floor((event.clientY - box.top) / box.height * channels);
              var c = Math.floor((event.clientX - box.left) / box.width * channels);
              r = Math.min(Math.max(r, 0), channels - 1);
              c = Math.min(Math.max(c, 0), channels - 1);
              var first = order[r], second = order[c];
              return { first: first, second: second, value: matrix[first * channels + second] };
            }
            canvas.addEventListener("mousemove", function (event) {
              var cell = cellAt(event);
              showTooltip("channel " + cell.first + " × channel " + cell.second + "\n" + heatmap.metric + " similarity " + format(cell.value), event);
            });
            canvas.addEventListener("mouseleave", hideTooltip);
            canvas.addEventListener("click", function (event) {
              var cell = cellAt(event);
              showPair(figure, heatmap, cell.first, cell.second, cell.value);
            });
          });

          // ---- Charts: invisible markers over the picture's points.
          Array.prototype.forEach.call(document.querySelectorAll("figure.chart[data-chart]"), function (figure) {
            var chart = data.charts[Number(figure.getAttribute("data-chart"))];
            var image = figure.querySelector("img");
            if (!chart || !image) { return; }
            var wrap = document.createElement("span");
            wrap.className = "chart-wrap";
            image.parentNode.insertBefore(wrap, image);
            wrap.appendChild(image);
            chart.points.forEach(function (point) {
              var marker = document.createElement("span");
              marker.className = "chart-marker";
              marker.style.left = (100 * point.x) + "%";
              marker.style.top = (100 * point.y) + "%";
              marker.setAttribute("aria-label", point.text);
              marker.addEventListener("mousemove", function (event) { showTooltip(point.text, event); });
              marker.addEventListener("mouseleave", hideTooltip);
              wrap.appendChild(marker);
            });
          });
        })();
        """#
}
