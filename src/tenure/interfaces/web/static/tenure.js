/* Tenure: send the CSRF token with every HTMX request that changes something. */
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta && event.detail.verb !== "get") {
    event.detail.headers["X-CSRF-Token"] = meta.getAttribute("content");
  }
});
