/* The dispatcher console, kept live.

   One EventSource on /staff/dispatch/feed (Server-Sent Events). Each event names what it
   touched; the console re-fetches only those panels (HTMX, with X-Despp-Passive: 1 so a
   console left open does not keep its session alive). The browser resumes a dropped feed
   with Last-Event-ID; a feed that ends for good is re-opened from the last event seen.
   An emergency flashes the alert panel on every console until acknowledged. When the
   session has ended the feed says so and the console shows a sign-in-again banner.
   Timers tick here every second from the times the server rendered. */
(function () {
  "use strict";

  var root = document.getElementById("console");
  if (!root) { return; }

  var panelsUrl = root.dataset.panelsUrl;
  var feedUrl = root.dataset.feedUrl;
  var selected = root.dataset.selected || "";
  var lastId = root.dataset.cursor || "";
  var source = null;
  var ended = false;
  var retryDelay = 1000;
  var liveStatus = document.getElementById("live-status");

  function setLive(state, text) {
    if (!liveStatus) { return; }
    liveStatus.dataset.state = state;
    liveStatus.textContent = text;
  }

  /* --- refreshing panels --------------------------------------------------------------- */

  var pending = {};
  var flushTimer = null;

  // What the keyboard was on, found again after its panel is redrawn: by id, by the command
  // a button runs, or by the incident a link selects.
  function focusKey(el) {
    if (!el || el === document.body) { return null; }
    if (el.id) { return "#" + CSS.escape(el.id); }
    if (el.title) { return el.tagName.toLowerCase() + "[title=\"" + CSS.escape(el.title) + "\"]"; }
    if (el.dataset && el.dataset.selectIncident) {
      return "[data-select-incident=\"" + CSS.escape(el.dataset.selectIncident) + "\"]";
    }
    return null;
  }

  function isTyping(el) {
    var tag = el && (el.tagName || "").toLowerCase();
    return tag === "input" || tag === "select" || tag === "textarea";
  }

  var deferred = {};

  // Re-fetch panels in one request: each comes back as an out-of-band swap, the map's
  // markers as JSON in #map-markers.
  function refreshPanels(names) {
    var wanted = [];
    var keys = {};
    var focused = document.activeElement;
    names.forEach(function (name) {
      if (name === "incident" && !selected) { return; }
      var target = document.getElementById("panel-" + name);
      if (name !== "map" && !target) { return; }
      if (target && focused && target.contains(focused)) {
        if (isTyping(focused)) {
          // Never redraw a form under the dispatcher's fingers: refresh when they leave it.
          deferred[name] = true;
          return;
        }
        keys[name] = focusKey(focused) || "";
      }
      wanted.push(name);
    });
    if (!wanted.length || !window.htmx) { return; }
    var query = wanted.map(function (name) { return "p=" + encodeURIComponent(name); });
    if (selected) { query.push("incident=" + encodeURIComponent(selected)); }
    window.htmx.ajax("GET", panelsUrl + "?" + query.join("&"), {
      source: root,
      swap: "none",
      headers: { "X-Despp-Passive": "1" }
    }).then(function () {
      Object.keys(keys).forEach(function (name) {
        var target = document.getElementById("panel-" + name);
        var again = keys[name] && target.querySelector(keys[name]);
        (again || target).focus();
      });
      if (wanted.indexOf("map") >= 0 && window.despMap) { window.despMap.redraw(); }
      markAlarm();
      restoreOpen();
      tick();
    });
  }

  function refreshPanel(name) { refreshPanels([name]); }

  document.addEventListener("focusout", function (event) {
    if (!isTyping(event.target)) { return; }
    setTimeout(function () {
      var ready = Object.keys(deferred).filter(function (name) {
        var target = document.getElementById("panel-" + name);
        return target && !target.contains(document.activeElement);
      });
      ready.forEach(function (name) { delete deferred[name]; });
      if (ready.length) { refreshPanels(ready); }
    }, 0);
  });

  function schedule(names) {
    names.forEach(function (name) { pending[name] = true; });
    if (flushTimer) { return; }
    // Gather a burst of events into one refresh per panel (still well within a second).
    flushTimer = setTimeout(function () {
      var names = Object.keys(pending);
      pending = {};
      flushTimer = null;
      refreshPanels(names);
    }, 40);
  }

  function panelsFor(message) {
    var kind = message.kind || "";
    var touchesSelected = selected && String(message.incident) === String(selected);
    var names;
    if (kind === "unit.emergency" || kind === "unit.emergency_ack") {
      names = ["alerts", "units", "map"];
    } else if (kind === "unit.position") {
      names = ["map"];
    } else if (kind === "unit.service") {
      names = ["units", "map"];
    } else if (kind.indexOf("unit.") === 0) {
      names = ["incidents", "units", "map"];
    } else if (kind.indexOf("call.") === 0) {
      names = ["calls", "incidents"];
    } else {
      names = ["incidents", "map"];
    }
    if (touchesSelected) { names.push("incident"); }
    return names;
  }

  // <details data-keep-open> stay as the dispatcher left them when their panel is refreshed.
  var keptOpen = {};
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (details.id && details.hasAttribute && details.hasAttribute("data-keep-open")) {
      keptOpen[details.id] = details.open;
    }
  }, true);

  var wide = window.matchMedia && window.matchMedia("(min-width: 62rem)").matches;

  function restoreOpen() {
    document.querySelectorAll("details[data-keep-open]").forEach(function (details) {
      // Open by default on a wide screen, where the panel scrolls by itself.
      details.open = details.id in keptOpen ? keptOpen[details.id] : wide;
    });
  }

  /* --- the feed ------------------------------------------------------------------------ */

  function openFeed() {
    if (ended || !window.EventSource) { return; }
    var url = feedUrl + (lastId ? "?last_event_id=" + encodeURIComponent(lastId) : "");
    source = new EventSource(url);
    source.onopen = function () {
      retryDelay = 1000;
      setLive("live", "Live");
    };
    source.onmessage = function (event) {
      if (event.lastEventId) { lastId = event.lastEventId; }
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      schedule(panelsFor(message));
      if (message.kind === "unit.emergency") { markAlarm(true); }
    };
    source.addEventListener("resync", function () {
      schedule(["alerts", "calls", "incidents", "units", "incident", "map"]);
    });
    source.addEventListener("signed-out", function () {
      sessionEnded();
    });
    source.onerror = function () {
      if (ended) { return; }
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (e.g. the server answered with an error page): re-open it
        // ourselves, from the last event seen, a little later each time.
        setLive("lost", "Live updates lost; reconnecting…");
        source.close();
        setTimeout(openFeed, retryDelay);
        retryDelay = Math.min(retryDelay * 2, 15000);
        // Whatever happened meanwhile: the feed replays it from lastId.
      } else {
        setLive("connecting", "Reconnecting to live updates…");
      }
    };
  }

  function sessionEnded() {
    ended = true;
    if (source) { source.close(); }
    setLive("ended", "Not updating: signed out");
    var banner = document.getElementById("session-banner");
    if (banner) { banner.hidden = false; }
    var link = banner && banner.querySelector("a");
    if (link) { link.focus(); }
  }

  /* --- emergencies --------------------------------------------------------------------- */

  var dismissed = {};

  function markAlarm() {
    var panel = document.getElementById("panel-alerts");
    if (!panel) { return; }
    panel.querySelectorAll(".alarm").forEach(function (alarm) {
      var key = alarm.dataset.unit + "@" + alarm.dataset.since;
      if (dismissed[key]) { alarm.hidden = true; }
    });
    var open = panel.querySelector(".alarm:not([hidden])");
    root.classList.toggle("has-alarm", Boolean(open));
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-dismiss-alarm]");
    if (!button) { return; }
    var alarm = button.closest(".alarm");
    dismissed[alarm.dataset.unit + "@" + alarm.dataset.since] = true;
    markAlarm();
  });

  /* --- timers -------------------------------------------------------------------------- */

  function format(seconds) {
    var h = Math.floor(seconds / 3600);
    var m = Math.floor((seconds % 3600) / 60);
    var s = seconds % 60;
    var mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("time.timer").forEach(function (el) {
      if (el.dataset.stopped !== undefined) { return; }
      var since = Date.parse(el.getAttribute("datetime"));
      if (isNaN(since)) { return; }
      var seconds = Math.max(0, Math.floor((now - since) / 1000));
      el.textContent = format(seconds);
      var limit = Number(el.dataset.limit || 0);
      if (limit) { el.classList.toggle("is-overdue", seconds >= limit); }
      var warn = Number(el.dataset.warn || 0);
      var alarm = Number(el.dataset.alarm || 0);
      if (warn) { el.classList.toggle("is-warn", seconds >= warn && !(alarm && seconds >= alarm)); }
      if (alarm) { el.classList.toggle("is-alarm", seconds >= alarm); }
    });
  }

  /* --- the command line ---------------------------------------------------------------- */

  var input = document.getElementById("command-line");
  var history = [];
  var historyAt = 0;

  function focusCommand() {
    if (input) { input.focus(); input.select(); }
  }

  if (input) {
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowUp" && history.length) {
        historyAt = Math.max(0, historyAt - 1);
        input.value = history[historyAt];
        event.preventDefault();
      } else if (event.key === "ArrowDown" && history.length) {
        historyAt = Math.min(history.length, historyAt + 1);
        input.value = history[historyAt] || "";
        event.preventDefault();
      } else if (event.key === "Escape") {
        input.value = "";
      }
    });
  }

  document.body.addEventListener("htmx:configRequest", function (event) {
    var form = event.detail.elt;
    if (form && form.id === "command-form" && input && input.value.trim()) {
      history.push(input.value.trim());
      historyAt = history.length;
    }
  });

  // Service refusals (400, 403, 404, 409, 422) are answers to show, not transport errors.
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (event.detail.target && event.detail.target.id === "command-result" &&
        status >= 400 && status < 500) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "command-result") {
      var ok = event.detail.xhr.status < 400;
      var form = document.getElementById("command-form");
      var fromCommandLine = event.detail.requestConfig &&
        event.detail.requestConfig.elt === form;
      if (ok && fromCommandLine && input) { input.value = ""; }
      if (!ok || fromCommandLine) { focusCommand(); }
    }
    tick();
  });

  // After a command: the feed brings its events to every console, this one included, so the
  // panels it changed are refreshed from there (once). Only while the feed is down does the
  // command's own list of panels refresh them here.
  document.body.addEventListener("despp:refresh", function (event) {
    if (liveStatus && liveStatus.dataset.state === "live") { return; }
    schedule((event.detail && event.detail.panels) || []);
  });
  document.body.addEventListener("despp:select", function (event) {
    var id = event.detail && event.detail.incident;
    if (id && String(id) !== selected) { select(String(id), true); }
  });

  function select(id, load) {
    selected = id;
    root.dataset.selected = id;
    document.querySelectorAll("#panel-incidents .incident").forEach(function (row) {
      var on = row.dataset.incident === id;
      row.classList.toggle("is-selected", on);
      var link = row.querySelector(".incident__link");
      if (link) {
        if (on) { link.setAttribute("aria-current", "true"); } else { link.removeAttribute("aria-current"); }
      }
    });
    if (load) {
      refreshPanel("incident");
      if (window.history && window.history.replaceState) {
        window.history.replaceState(null, "", "?incident=" + encodeURIComponent(id));
      }
    }
    if (window.despMap) { window.despMap.highlight(id); }
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-select-incident]");
    if (link) { select(link.dataset.selectIncident, false); }
  });

  /* --- keys ---------------------------------------------------------------------------- */

  var PANEL_KEYS = { i: "panel-incidents", c: "panel-calls", u: "panel-units", s: "panel-incident", m: "panel-map" };

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable) {
      return;
    }
    if (event.key === "/") {
      event.preventDefault();
      focusCommand();
    } else if (PANEL_KEYS[event.key]) {
      var panel = document.getElementById(PANEL_KEYS[event.key]);
      if (panel) { panel.focus(); }
    } else if (event.key === "a") {
      var ack = document.querySelector("#panel-alerts .alarm:not([hidden]) .alarm__ack");
      if (ack) { ack.focus(); }
    } else if (event.key === "?") {
      var help = document.getElementById("console-help");
      if (help) { help.open = !help.open; if (help.open) { help.querySelector("summary").focus(); } }
    }
  });

  /* --- start --------------------------------------------------------------------------- */

  markAlarm();
  restoreOpen();
  tick();
  setInterval(tick, 1000);
  openFeed();
  window.despConsole = { select: select, refresh: schedule };
})();
