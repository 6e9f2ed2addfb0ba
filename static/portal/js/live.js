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
  // Success messages fade after a few seconds (errors stay until dismissed).
  function fadeFlashes() {
    document.querySelectorAll("[data-fade]:not(.fading)").forEach(function (el) {
      el.classList.add("fading");
      setTimeout(function () { el.remove(); }, 6000);
    });
  }
  document.addEventListener("DOMContentLoaded", fadeFlashes);
  document.addEventListener("htmx:afterSettle", fadeFlashes);
  // Relative times ("just now", "4 min ago") age while the page is open.
  function agoText(seconds) {
    if (seconds < 60) return "just now";
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min ago";
    var hours = Math.floor(minutes / 60);
    if (hours < 48) return hours + " h " + two(minutes % 60) + " min ago";
    return Math.floor(hours / 24) + " d " + (hours % 24) + " h ago";
  }
  function ages() {
    document.querySelectorAll("[data-ago]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("data-ago"));
      if (!isNaN(at)) el.textContent = agoText((Date.now() - at) / 1000);
    });
  }
  setInterval(ages, 15000);
  document.addEventListener("htmx:afterSettle", ages);
  // A form posted through htmx is cleared once its action succeeded.
  document.addEventListener("htmx:afterRequest", function (evt) {
    var form = evt.detail.elt;
    if (form && form.matches && form.matches("form[data-reset-on-success]") && evt.detail.xhr.status === 200) {
      form.reset();
    }
  });
})();
