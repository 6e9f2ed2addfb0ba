// The war room keeps what people type (issue: "nothing typed is ever lost").
// - A form that holds input or focus is never replaced by a live refresh or by one's own
//   action; the caret stays where it was. When what the form was written for changed (its
//   data-stamp differs), it is marked stale in place; the server refuses its save once,
//   saying what changed, and restamps it (HX-Trigger "portal:restamp") so the next save is
//   deliberate. A form that only has focus quietly takes the fresh stamps.
// - A refresh older than what the page shows is dropped (a slow poll never rolls back).
// - Drafts of forms marked data-draft live in sessionStorage per page, with the stamp they
//   were written against; they survive a reload and are cleared once posted.
// - What is open (a checklist, a status form) stays open across refreshes.
// - Changes made by others are highlighted briefly and announced to screen readers.
// - Taking a role someone holds asks first, naming them.
(function () {
  var FIELDS = "input:not([type=hidden]):not([type=submit]):not([type=button]), textarea, select";
  var STAMPS = "input[type=hidden]:not([name=csrfmiddlewaretoken])";

  function hasInput(form) {
    return Array.prototype.some.call(form.querySelectorAll(FIELDS), function (el) {
      if (el.type === "checkbox" || el.type === "radio") return el.checked !== el.defaultChecked;
      if (el.tagName === "SELECT") {
        return Array.prototype.some.call(el.options, function (o) { return o.selected !== o.defaultSelected; });
      }
      return el.value !== el.defaultValue;
    });
  }
  function hasFocus(form) {
    var active = document.activeElement;
    return !!(active && form.contains(active) && active.matches(FIELDS));
  }

  function formKey(form) {
    if (form.hasAttribute("data-draft")) return '[data-draft="' + form.getAttribute("data-draft") + '"]';
    if (form.hasAttribute("data-keep")) return '[data-keep="' + form.getAttribute("data-keep") + '"]';
    if (form.hasAttribute("data-role-form")) return "[data-role-form]";
    return null;
  }

  function markStale(form, text) {
    form.classList.add("stale");
    var note = form.querySelector(".stale-note");
    if (!note) {
      note = document.createElement("p");
      note.className = "stale-note small mb-2";
      note.setAttribute("role", "status");
      form.insertBefore(note, form.firstChild);
    }
    note.textContent = text || "Something this form depends on changed while you were writing. Your text is kept: check it against the timeline before you send.";
  }

  function keptGone(form) {
    // What the form was for is gone (the status moved on): keep the text, offer to discard.
    markStale(form, "The incident moved on while you were writing; this form no longer applies. Your text is kept here: copy what you need, then discard it.");
    if (form.querySelector(".discard-kept")) return;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-sm btn-outline-secondary discard-kept ms-2";
    button.textContent = "Discard";
    button.addEventListener("click", function () {
      clearDraft(form);
      var holder = form.closest(".kept-form");
      (holder || form).remove();
    });
    form.querySelector(".stale-note").appendChild(button);
  }

  // Copy the fresh form's stamps (hidden inputs, data-stamp, heading) into a kept form that
  // holds no input: it follows live without losing focus.
  function takeStamps(form, fresh) {
    fresh.querySelectorAll(STAMPS).forEach(function (input) {
      var mine = form.querySelector('input[type=hidden][name="' + input.name + '"]');
      if (mine) mine.value = input.value;
    });
    form.setAttribute("data-stamp", fresh.getAttribute("data-stamp") || "");
    var heading = fresh.querySelector("[data-testid=update-heading]");
    var mine = form.querySelector("[data-testid=update-heading]");
    if (heading && mine) mine.textContent = heading.textContent;
  }

  // --- responses: whose, and how recent -------------------------------------------------------
  var respondingTo = null, respondedOk = false;
  function stampOf(text) {
    var m = /id="poller"[^>]*since=(-?\d+)/.exec(text || "");
    return m ? parseInt(m[1], 10) : null;
  }
  document.addEventListener("htmx:beforeSwap", function (evt) {
    respondingTo = evt.detail.requestConfig ? evt.detail.requestConfig.elt : evt.detail.elt;
    respondedOk = evt.detail.xhr && evt.detail.xhr.status < 300;
    var poller = document.getElementById("poller");
    var incoming = stampOf(evt.detail.serverResponse);
    var shown = poller ? stampOf(poller.outerHTML.replace(/&amp;/g, "&")) : null;
    if (incoming !== null && shown !== null && incoming < shown) evt.detail.shouldSwap = false;
  });

  var before = {}, caret = null;
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var target = evt.detail.target, fragment = evt.detail.fragment;
    if (!target || !fragment) return;
    if (target.id === "incident-header") {
      before.status = target.getAttribute("data-status");
      before.holders = holders(target);
    }
    // What is open stays open; what was closed stays closed.
    target.querySelectorAll("details[data-checklist], details[data-move]").forEach(function (d) {
      var attr = d.hasAttribute("data-checklist") ? "data-checklist" : "data-move";
      var twin = fragment.querySelector("details[" + attr + '="' + d.getAttribute(attr) + '"]');
      if (twin) twin.open = d.open;
    });
    target.querySelectorAll("form").forEach(function (form) {
      var justSent = form === respondingTo && respondedOk;
      var typed = hasInput(form), focused = hasFocus(form);
      if (justSent || (!typed && !focused)) return;
      var key = formKey(form);
      var fresh = key && fragment.querySelector("form" + key);
      if (focused) {
        var active = document.activeElement;
        caret = { el: active, start: active.selectionStart, end: active.selectionEnd };
      }
      var details = form.closest("details");
      var wasOpen = details && details.open;
      if (fresh) {
        if (!typed) takeStamps(form, fresh);
        else if (fresh.getAttribute("data-stamp") !== form.getAttribute("data-stamp")) markStale(form);
        fresh.replaceWith(form);
      } else {
        keptGone(form);
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

  // Moving a form out and back in drops the focus: give it back, caret and all.
  function restoreCaret() {
    if (!caret || !caret.el || !caret.el.isConnected) return;
    if (document.activeElement !== caret.el) {
      caret.el.focus({ preventScroll: true });
      try { if (caret.start !== null) caret.el.setSelectionRange(caret.start, caret.end); } catch (e) { /* not a text field */ }
    }
    caret = null;
  }

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
    restoreCaret();
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
        if (el) {
          flash(el.parentElement || el);
          var label = el.previousElementSibling ? el.previousElementSibling.textContent.trim() : role;
          announce(now[role] === "Nobody in command" ? "Nobody is in command." : label + ": " + now[role] + ".");
        }
      }
    });
  });

  document.addEventListener("htmx:afterSettle", function () {
    restoreCaret();
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
  });

  // --- the timeline box (wide screens) follows the newest event unless you scrolled away -------
  var followTimeline = true;
  function timelineBox() { return document.querySelector(".timeline-panel"); }
  function atEnd(box) {
    if (box.getAttribute("data-newest-first") === "1") return box.scrollTop < 40;
    return box.scrollTop + box.clientHeight >= box.scrollHeight - 40;
  }
  function follow() {
    var box = timelineBox();
    if (!box || !followTimeline || box.scrollHeight <= box.clientHeight) return;
    box.scrollTop = box.getAttribute("data-newest-first") === "1" ? 0 : box.scrollHeight;
  }
  document.addEventListener("htmx:beforeSwap", function () {
    var box = timelineBox();
    if (box) followTimeline = atEnd(box);
  });
  document.addEventListener("htmx:afterSettle", follow);
  document.addEventListener("DOMContentLoaded", follow);

  // --- drafts, with the stamp they were written against ----------------------------------------
  function draftKey(form) {
    var name = form.getAttribute("data-draft");
    return name ? "draft:" + location.pathname + ":" + name : null;
  }
  function saveDraft(form) {
    var key = draftKey(form);
    if (!key) return;
    var values = {}, stamps = {};
    form.querySelectorAll(FIELDS).forEach(function (el) {
      if (!el.name) return;
      values[el.name] = (el.type === "checkbox" || el.type === "radio") ? el.checked : el.value;
    });
    form.querySelectorAll(STAMPS).forEach(function (el) { stamps[el.name] = el.value; });
    var draft = { values: values, stamps: stamps, stamp: form.getAttribute("data-stamp") || "" };
    try { sessionStorage.setItem(key, JSON.stringify(draft)); } catch (e) { /* full or off */ }
  }
  function restoreDrafts(root) {
    root.querySelectorAll("form[data-draft]").forEach(function (form) {
      var key = draftKey(form), raw = null;
      try { raw = sessionStorage.getItem(key); } catch (e) { return; }
      if (!raw || hasInput(form) || form.hasAttribute("data-draft-restored")) return;
      var draft;
      try { draft = JSON.parse(raw); } catch (e) { return; }
      if (!draft || !draft.values) return;
      var any = false;
      form.querySelectorAll(FIELDS).forEach(function (el) {
        if (!el.name || !(el.name in draft.values)) return;
        if (el.type === "checkbox" || el.type === "radio") el.checked = !!draft.values[el.name];
        else el.value = draft.values[el.name];
        any = any || !!draft.values[el.name];
      });
      if (!any) return;
      form.setAttribute("data-draft-restored", "");
      if (draft.stamp !== (form.getAttribute("data-stamp") || "")) {
        // Written before a change made meanwhile: keep the old stamps, so that sending is
        // refused once with what changed.
        Object.keys(draft.stamps || {}).forEach(function (name) {
          var input = form.querySelector('input[type=hidden][name="' + name + '"]');
          if (input) input.value = draft.stamps[name];
        });
        form.setAttribute("data-stamp", draft.stamp);
        markStale(form, "Restored from before a reload; the incident changed meanwhile. Check your text against the timeline before you send.");
      }
      var details = form.closest("details");
      if (details) details.open = true;
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
    if (evt.detail.xhr && evt.detail.xhr.status === 200) clearDraft(form);
  });
  document.addEventListener("DOMContentLoaded", function () { restoreDrafts(document); });

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
    if (d.heading) {
      var heading = form.querySelector("[data-testid=update-heading]");
      if (heading) heading.textContent = d.heading;
    }
    if (d.role) {
      var option = form.querySelector('select[name=role] option[value="' + d.role + '"]');
      if (option) {
        option.setAttribute("data-holder", d.fields.holder || "");
        option.setAttribute("data-holder-name", d.holder_name || "");
        option.textContent = option.getAttribute("data-label") + (d.holder_name ? " (now " + d.holder_name + ")" : "");
      }
    }
    saveDraft(form);
    markStale(form, d.note || "Changed meanwhile (see the message above). Your text is kept; send again to go ahead.");
  });

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
