// execdash: draws the Plotly figures that the server built.
//
// Every chart is an element `<div data-plotly="ID">` next to `<script type="application/json"
// id="ID">` (Django's json_script). This file finds them, reads the JSON and calls
// Plotly.newPlot; it runs again after htmx swaps a fragment and after the back button
// restores a page. Clicking a marker with a link (a failed release, an incident) opens it.
//
// The markers (failed releases, SEV1/SEV2 incidents) are the same on every chart of a page,
// so they come once: `data-plotly-markers="ID"` names a JSON list of traces, added to the
// figure's own traces (legend entries and escaped hover text included) before drawing.
(function () {
  "use strict";

  var CONFIG = { displayModeBar: false, responsive: true, displaylogo: false };

  function readJSON(id) {
    var source = id && document.getElementById(id);
    if (!source) {
      return null;
    }
    try {
      return JSON.parse(source.textContent);
    } catch (err) {
      return null;
    }
  }

  function readFigure(element) {
    var figure = readJSON(element.getAttribute("data-plotly"));
    if (!figure) {
      return null;
    }
    // Parsed again for every chart: Plotly keeps and changes the traces it is given.
    var markers = readJSON(element.getAttribute("data-plotly-markers"));
    if (Array.isArray(markers) && markers.length) {
      figure.data = (figure.data || []).concat(markers);
    }
    return figure;
  }

  function followMarker(event) {
    var point = event && event.points && event.points[0];
    var url = point && point.customdata;
    // Only same-site paths: the figure is ours, but a link is never taken on trust.
    if (typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/") {
      window.location.assign(url);
    }
  }

  // On a narrow screen the legend goes under the plot (above it, it would cover the title)
  // and the band labels are left to the focus timeline above the charts.
  var NARROW = 640;
  function fitToWidth(layout, width) {
    if (!width || width >= NARROW) {
      return layout;
    }
    layout.legend = { orientation: "h", x: 0, xanchor: "left", y: -0.22, yanchor: "top" };
    layout.margin = Object.assign({}, layout.margin, { l: 44, r: 44, t: 40, b: 120 });
    layout.height = (layout.height || 280) + 90;
    layout.annotations = [];
    return layout;
  }

  function draw(element) {
    if (!window.Plotly) {
      return;
    }
    var figure = readFigure(element);
    if (!figure) {
      return;
    }
    element.setAttribute("data-drawn", "pending");
    if (element.classList.contains("js-plotly-plot")) {
      window.Plotly.purge(element);
    }
    // A restored history snapshot may hold a stale drawing: start from an empty element.
    element.textContent = "";
    var layout = fitToWidth(figure.layout || {}, element.clientWidth);
    window.Plotly.newPlot(element, figure.data || [], layout, CONFIG).then(
      function (plot) {
        plot.on("plotly_click", followMarker);
        element.setAttribute("data-drawn", "true");
      }
    );
  }

  // Draws every chart not drawn yet (after a swap, only the new ones are).
  function drawAll() {
    var elements = document.querySelectorAll("[data-plotly]:not([data-drawn])");
    for (var i = 0; i < elements.length; i++) {
      draw(elements[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
  document.addEventListener("htmx:afterSettle", drawAll);
  document.addEventListener("htmx:historyRestore", drawAll);

  // Before htmx snapshots the page for the back button, drop the drawings: the snapshot
  // keeps the JSON and the charts are drawn again on restore.
  document.addEventListener("htmx:beforeHistorySave", function () {
    var drawn = document.querySelectorAll("[data-plotly].js-plotly-plot");
    for (var i = 0; i < drawn.length; i++) {
      window.Plotly.purge(drawn[i]);
      drawn[i].textContent = "";
      drawn[i].removeAttribute("data-drawn");
    }
  });
})();
