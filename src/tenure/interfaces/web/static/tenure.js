/* Tenure: send the CSRF token with every HTMX request that changes something. */
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta && event.detail.verb !== "get") {
    event.detail.headers["X-CSRF-Token"] = meta.getAttribute("content");
  }
});

/* Charts are drawn while the page is still being laid out; size them to their cards once it is. */
function tenureResizeCharts(root) {
  if (!window.Plotly) { return; }
  (root || document).querySelectorAll(".js-plotly-plot").forEach(function (el) {
    window.Plotly.Plots.resize(el);
  });
}
window.addEventListener("load", function () { tenureResizeCharts(document); });
document.addEventListener("htmx:afterSettle", function (event) { tenureResizeCharts(event.target); });
