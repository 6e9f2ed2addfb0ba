/* In-app incident banner: <script src=".../status/embed.js" async></script> */
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || !window.fetch || !window.URL) { return; }
  var base = new URL(me.src, window.location.href);
  var dataUrl = new URL("/status/embed.json", base).href;
  var POLL = 60000;
  var shown = null;
  var hidden = {};
  var colours = { critical: "#b3261e", major: "#a34100", minor: "#7a5600", none: "#1f5fbf" };

  function text(tag, value) {
    var node = document.createElement(tag);
    node.textContent = value;
    return node;
  }
  function safeLink(value) {
    try {
      var url = new URL(String(value), base);
      return (url.protocol === "https:" || url.protocol === "http:") ? url.href : null;
    } catch (e) { return null; }
  }
  function remove() {
    if (shown && shown.parentNode) { shown.parentNode.removeChild(shown); }
    shown = null;
  }
  function build(items) {
    var box = document.createElement("div");
    box.setAttribute("role", "status");
    box.setAttribute("aria-live", "polite");
    box.setAttribute("data-status-banner", "");
    var s = box.style;
    s.boxSizing = "border-box"; s.width = "100%"; s.margin = "0"; s.padding = "10px 44px 10px 16px";
    s.position = "relative"; s.zIndex = "2147483000"; s.color = "#ffffff";
    s.font = "15px/1.4 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
    s.background = colours[items[0].impact] || colours.critical;
    items.slice(0, 3).forEach(function (item) {
      var line = document.createElement("p");
      line.style.margin = "2px 0";
      line.appendChild(text("strong", String(item.name || "Service incident")));
      if (item.message) { line.appendChild(document.createTextNode(" \u2014 " + String(item.message))); }
      if (item.estimated_resolution_at) {
        var eta = new Date(item.estimated_resolution_at);
        if (!isNaN(eta.getTime())) {
          line.appendChild(document.createTextNode(" Estimated resolution: " + eta.toLocaleString() + "."));
        }
      }
      var href = safeLink(item.url);
      if (href) {
        var link = text("a", "Status page");
        link.href = href; link.target = "_blank"; link.rel = "noopener noreferrer";
        link.style.color = "#ffffff"; link.style.textDecoration = "underline"; link.style.marginLeft = "6px";
        line.appendChild(link);
      }
      box.appendChild(line);
    });
    var close = text("button", "\u00d7");
    close.type = "button";
    close.setAttribute("aria-label", "Dismiss");
    var c = close.style;
    c.position = "absolute"; c.top = "6px"; c.right = "8px"; c.border = "0"; c.background = "transparent";
    c.color = "#ffffff"; c.font = "22px/1 system-ui, sans-serif"; c.cursor = "pointer"; c.padding = "4px 8px";
    close.addEventListener("click", function () {
      items.forEach(function (item) { hidden[item.id + "@" + item.updated_at] = true; });
      remove();
    });
    box.appendChild(close);
    return box;
  }
  function show(data) {
    var items = (data && Array.isArray(data.incidents) ? data.incidents : []).filter(function (item) {
      return item && !hidden[item.id + "@" + item.updated_at];
    });
    if (!items.length) { remove(); return; }
    var box = build(items);
    if (shown && shown.parentNode) { shown.parentNode.replaceChild(box, shown); }
    else { document.body.insertBefore(box, document.body.firstChild); }
    shown = box;
  }
  function load() {
    if (document.hidden) { return; }
    fetch(dataUrl, { credentials: "omit", mode: "cors" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { show(data); } })
      .catch(function () { /* the status page is unreachable: keep what is shown */ });
  }
  function start() { load(); window.setInterval(load, POLL); }
  if (document.body) { start(); } else { document.addEventListener("DOMContentLoaded", start); }
})();
