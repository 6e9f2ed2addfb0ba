// Live pages without inline script (the CSP forbids it):
// - [data-poll]: fires the htmx event "poll" on the element every N ms while the tab is
//   visible, and once at once when the tab becomes visible again;
// - [data-countdown]: shows the time left until an ISO instant, or how long it is overdue.
(function () {
  function pollers() { return document.querySelectorAll("[data-poll]"); }
  function firePolls() {
    if (document.hidden || !window.htmx) return;
    pollers().forEach(function (el) { window.htmx.trigger(el, "poll"); });
  }
  var every = 2000;
  document.addEventListener("DOMContentLoaded", function () {
    var first = pollers()[0];
    if (first) every = parseInt(first.getAttribute("data-poll"), 10) || every;
    setInterval(firePolls, every);
    setInterval(tick, 1000);
    tick();
  });
  document.addEventListener("visibilitychange", function () { if (!document.hidden) firePolls(); });

  function two(n) { return (n < 10 ? "0" : "") + n; }
  function fmt(seconds) {
    var s = Math.abs(Math.round(seconds)), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return (h ? h + " h " + two(m) : m) + " min " + two(s % 60) + " s";
  }
  function tick() {
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var left = (Date.parse(el.getAttribute("data-countdown")) - Date.now()) / 1000;
      var target = el.querySelector(".countdown-text") || el;
      if (left <= 0) {
        target.textContent = "OVERDUE by " + fmt(left);
        el.classList.add("overdue");
      } else {
        target.textContent = fmt(left) + " left";
        el.classList.remove("overdue");
      }
    });
  }
  document.addEventListener("htmx:afterSettle", tick);
  // A form posted through htmx is cleared once its action succeeded.
  document.addEventListener("htmx:afterRequest", function (evt) {
    var form = evt.detail.elt;
    if (form && form.matches && form.matches("form[data-reset-on-success]") && evt.detail.xhr.status === 200) {
      form.reset();
    }
  });
})();
