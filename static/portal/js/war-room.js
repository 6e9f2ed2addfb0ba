// The war room keeps what people type (issue: "nothing typed is ever lost").
// - A form that holds input or focus is never replaced by a live refresh, one's own action or
//   anyone else's; when what it was written for changed (data-stamp differs), it is marked
//   stale in place and the server refuses its save once, showing what changed, then restamps
//   it (HX-Trigger "portal:restamp") so the next save is deliberate.
// - Drafts of forms marked data-draft live in sessionStorage per page, survive a reload, and
//   are cleared once posted.
// - Changes made by others are highlighted briefly and announced to screen readers.
// - Taking a role someone holds asks first, naming them.
(function () {
  var FIELDS = "input:not([type=hidden]):not([type=submit]):not([type=button]), textarea, select";

  function isDirty(form) {
    var active = document.activeElement;
    if (active && form.contains(active) && active.matches(FIELDS)) return true;
    return Array.prototype.some.call(form.querySelectorAll(FIELDS), function (el) {
      if (el.type === "checkbox" || el.type === "radio") return el.checked !== el.defaultChecked;
      if (el.tagName === "SELECT") {
        return Array.prototype.some.call(el.options, function (o) { return o.selected !== o.defaultSelected; });
      }
      return el.value !== el.defaultValue;
    });
  }

  function formKey(form) {
    if (form.hasAttribute("data-draft")) return '[data-draft="' + form.getAttribute("data-draft") + '"]';
    if (form.hasAttribute("data-role-form")) return "[data-role-form]";
    return null;
  }

  function markStale(form) {
    if (form.querySelector(".stale-note")) return;
    form.classList.add("stale");
    var note = document.createElement("p");
    note.className = "stale-note small mb-2";
    note.setAttribute("role", "status");
    note.textContent = "This changed while you were writing. Your text is kept; check it before you send: sending shows what changed.";
    form.insertBefore(note, form.firstChild);
  }

  // The response being swapped, and the element that asked for it.
  var respondingTo = null, respondedOk = false;
  document.addEventListener("htmx:beforeSwap", function (evt) {
    respondingTo = evt.detail.requestConfig ? evt.detail.requestConfig.elt : evt.detail.elt;
    respondedOk = evt.detail.xhr && evt.detail.xhr.status < 300;
  });
  document.addEventListener("htmx:beforeRequest", function (evt) {
    if (evt.detail.elt && evt.detail.elt.tagName === "FORM") evt.detail.elt.setAttribute("data-sending", "");
  });

  var before = {};
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var target = evt.detail.target, fragment = evt.detail.fragment;
    if (!target || !fragment) return;
    if (target.id === "incident-header") {
      before.status = target.getAttribute("data-status");
      before.holders = holders(target);
    }
    target.querySelectorAll("form").forEach(function (form) {
      var justSent = form === respondingTo && respondedOk;
      if (justSent || !isDirty(form)) return;
      var key = formKey(form);
      var fresh = key && fragment.querySelector("form" + key);
      var details = form.closest("details");
      var wasOpen = details && details.open;
      if (fresh) {
        if (fresh.getAttribute("data-stamp") !== form.getAttribute("data-stamp")) markStale(form);
        fresh.replaceWith(form);
      } else {
        // What it was for is gone (the status moved on): keep it, on top, marked stale.
        markStale(form);
        var root = fragment.firstElementChild || fragment;
        var holder = document.createElement("div");
        holder.className = "kept-form";
        holder.appendChild(form);
        root.insertBefore(holder, root.firstChild);
      }
      var newDetails = form.closest("details");
      if (wasOpen && newDetails) newDetails.open = true;
    });
  });

  function holders(root) {
    var found = {};
    root.querySelectorAll("[data-holder-of]").forEach(function (el) {
      found[el.getAttribute("data-holder-of")] = el.textContent.trim();
    });
    return found;
  }

  // What changed in one refresh is told at once, when it has settled.
  var pending = [];
  function announce(text) { if (text) pending.push(text); }
  function speak() {
    var region = document.getElementById("announce");
    if (region && pending.length) region.textContent = pending.join(" ");
    pending = [];
  }

  function flash(el) {
    el.classList.remove("changed");
    void el.offsetWidth;  // restart the animation
    el.classList.add("changed");
    setTimeout(function () { el.classList.remove("changed"); }, 3000);
  }

  document.addEventListener("htmx:oobAfterSwap", function (evt) {
    var target = evt.detail.target;
    if (!target || target.id !== "incident-header" || !respondingTo || respondingTo.id !== "poller") return;
    var header = document.getElementById("incident-header");
    if (!header) return;
    var status = header.getAttribute("data-status");
    if (before.status && status !== before.status) {
      var steps = header.querySelector(".status-steps");
      if (steps) flash(steps);
      var current = header.querySelector('[aria-current="step"]');
      announce("Status changed: " + (current ? current.textContent.trim() : status) + ".");
    }
    var now = holders(header);
    Object.keys(now).forEach(function (role) {
      if (before.holders && before.holders[role] !== now[role]) {
        var el = header.querySelector('[data-holder-of="' + role + '"]');
        if (el) flash(el.parentElement || el);
      }
    });
  });

  document.addEventListener("htmx:afterSettle", function () {
    var fresh = document.querySelectorAll("#timeline li.fresh:not(.seen)");
    fresh.forEach(function (li) {
      li.classList.add("seen", "changed");
      setTimeout(function () { li.classList.remove("changed"); }, 3000);
    });
    if (fresh.length) {
      var last = fresh[fresh.length - 1].querySelector(".text-pre");
      announce((fresh.length > 1 ? fresh.length + " new timeline entries. " : "New: ") + (last ? last.textContent.trim().slice(0, 160) : ""));
    }
    speak();
    restoreDrafts(document);
    fadeFlashes();
  });

  // --- drafts ---------------------------------------------------------------------------
  function draftKey(form) {
    var name = form.getAttribute("data-draft");
    return name ? "draft:" + location.pathname + ":" + name : null;
  }
  function saveDraft(form) {
    var key = draftKey(form);
    if (!key) return;
    var values = {};
    form.querySelectorAll(FIELDS).forEach(function (el) {
      if (!el.name) return;
      values[el.name] = (el.type === "checkbox" || el.type === "radio") ? el.checked : el.value;
    });
    try { sessionStorage.setItem(key, JSON.stringify(values)); } catch (e) { /* full or off */ }
  }
  function restoreDrafts(root) {
    root.querySelectorAll("form[data-draft]").forEach(function (form) {
      var key = draftKey(form), raw = null;
      try { raw = sessionStorage.getItem(key); } catch (e) { return; }
      if (!raw || isDirty(form) || form.hasAttribute("data-draft-restored")) return;
      var values;
      try { values = JSON.parse(raw); } catch (e) { return; }
      var any = false;
      form.querySelectorAll(FIELDS).forEach(function (el) {
        if (!el.name || !(el.name in values)) return;
        if (el.type === "checkbox" || el.type === "radio") el.checked = !!values[el.name];
        else el.value = values[el.name];
        any = any || !!values[el.name];
      });
      if (any) {
        form.setAttribute("data-draft-restored", "");
        var details = form.closest("details");
        if (details) details.open = true;
      }
    });
  }
  function clearDraft(form) {
    var key = draftKey(form);
    if (key) try { sessionStorage.removeItem(key); } catch (e) { /* off */ }
  }
  document.addEventListener("input", function (evt) { if (evt.target.form) saveDraft(evt.target.form); });
  document.addEventListener("change", function (evt) { if (evt.target.form) saveDraft(evt.target.form); });
  document.addEventListener("htmx:afterRequest", function (evt) {
    // The form that asked, even if the response has swapped it out of the page.
    var form = evt.detail.requestConfig ? evt.detail.requestConfig.elt : evt.detail.elt;
    if (!form || form.tagName !== "FORM") return;
    form.removeAttribute("data-sending");
    if (evt.detail.xhr && evt.detail.xhr.status === 200) clearDraft(form);
  });
  document.addEventListener("DOMContentLoaded", function () { restoreDrafts(document); fadeFlashes(); });

  // The server refused a form written for an earlier state and tells the current one.
  document.addEventListener("portal:restamp", function (evt) {
    var d = evt.detail || {};
    var form = document.querySelector("form" + (d.form === "role" ? "[data-role-form]" : '[data-draft="' + d.form + '"]'));
    if (!form) return;
    Object.keys(d.fields || {}).forEach(function (name) {
      var input = form.querySelector('input[type=hidden][name="' + name + '"]');
      if (input) input.value = d.fields[name];
    });
    if (d.stamp) form.setAttribute("data-stamp", d.stamp);
    markStale(form);
  });

  // --- flashes fade; errors stay until dismissed ----------------------------------------------
  function fadeFlashes() {
    document.querySelectorAll("[data-fade]:not(.fading)").forEach(function (el) {
      el.classList.add("fading");
      setTimeout(function () { el.remove(); }, 6000);
    });
  }

  // --- taking a role someone holds asks first -------------------------------------------------
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!form.matches || !form.matches("[data-role-form]")) return;
    var option = form.querySelector("select[name=role]").selectedOptions[0];
    var person = form.querySelector("select[name=user]").selectedOptions[0];
    var hidden = form.querySelector("input[name=holder]");
    var holder = option ? option.getAttribute("data-holder") : "";
    if (holder && hidden.value !== holder && person && person.value) {
      var question = option.getAttribute("data-holder-name") + " is " + option.getAttribute("data-label") +
        ". Make " + person.textContent.trim() + " " + option.getAttribute("data-label") + " instead?";
      if (!window.confirm(question)) {
        evt.preventDefault();
        evt.stopImmediatePropagation();
        return;
      }
    }
    hidden.value = holder || "";
  }, true);
})();
