// Draws every Plotly figure on the page. A figure is data, built by a selector in Python and
// handed over with Django's json_script (no inline <script>, so a strict CSP holds):
//   <figure class="chart"><div data-chart="chart-id"></div><figcaption>…</figcaption></figure>
//   {{ figure|json_script:"chart-id" }}   where figure = {"data": [...], "layout": {...}, "config": {...}}
(function () {
  // The page's language (<html lang>) → the Plotly locale templates/_plotly.html loaded for it.
  // English is Plotly's own default; a language without a locale here stays English.
  var PLOTLY_LOCALES = { "zh-hans": "zh-CN" };
  var pageLocale = PLOTLY_LOCALES[(document.documentElement.lang || "").toLowerCase()];
  function draw(el) {
    var source = document.getElementById(el.dataset.chart);
    if (!source || !window.Plotly) { return; }
    var fig = JSON.parse(source.textContent);
    // A figure that sets no legend still gets it in a row above the plot, where it covers no axis title.
    var layout = Object.assign({
      margin: { t: 36, r: 10, b: 40, l: 50 }, font: { size: 12 },
      legend: { orientation: "h", x: 0, xanchor: "left", y: 1.02, yanchor: "bottom", traceorder: "normal" }
    }, fig.layout || {});
    var config = Object.assign({ displaylogo: false, responsive: true }, pageLocale ? { locale: pageLocale } : {}, fig.config || {});
    // Plotly 4's "Share chart..." button would send the figure to Plotly's cloud: never here (the
    // CSP would refuse it anyway), and its title is missing from the zh-CN locale.
    config.modeBarButtonsToRemove = (config.modeBarButtonsToRemove || []).concat(["sendChartToCloud"]);
    window.Plotly.newPlot(el, fig.data || [], layout, config);
  }
  function drawAll(root) { (root || document).querySelectorAll("[data-chart]").forEach(draw); }
  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  // Charts inside content swapped in by htmx are drawn too.
  document.addEventListener("htmx:afterSwap", function (e) { drawAll(e.target); });
})();
