/* The intake screen's location type-ahead (ARIA combobox with a listbox) over
   GET /api/dispatch/places, and the jurisdiction answer shown as soon as a location is known.

   What the call-taker typed stays in the field as typed: a pick only fills the hidden
   place_id / lat / lon / town beside it, and typing again forgets the pick. */
(function () {
  "use strict";

  var form = document.getElementById("intake-form");
  if (!form) { return; }
  var input = form.querySelector("[name=location_text]");
  var list = document.getElementById("location-list");
  var picked = document.getElementById("location-picked");
  var nature = form.querySelector("[name=nature]");
  var hidden = {
    place_id: form.querySelector("[name=place_id]"),
    lat: form.querySelector("[name=lat]"),
    lon: form.querySelector("[name=lon]"),
    town: form.querySelector("[name=town]")
  };
  var placesUrl = form.dataset.placesUrl;
  var answerUrl = form.dataset.answerUrl;
  var options = [];
  var active = -1;
  var timer = null;
  var asked = 0;

  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-controls", "location-list");
  input.setAttribute("aria-expanded", "false");

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function show(candidates) {
    options = candidates;
    list.innerHTML = "";
    candidates.forEach(function (candidate, index) {
      var item = document.createElement("li");
      item.id = "location-option-" + index;
      item.className = "typeahead__option";
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", "false");
      var psap = candidate.jurisdiction && candidate.jurisdiction.psap_name;
      item.textContent = candidate.label + (psap ? " — " + psap : "");
      item.addEventListener("mousedown", function (event) {
        event.preventDefault();
        pick(index);
      });
      list.appendChild(item);
    });
    if (candidates.length) {
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    } else {
      close();
    }
  }

  function move(step) {
    if (!options.length) { return; }
    active = (active + step + options.length) % options.length;
    Array.prototype.forEach.call(list.children, function (item, index) {
      item.setAttribute("aria-selected", index === active ? "true" : "false");
    });
    var current = list.children[active];
    input.setAttribute("aria-activedescendant", current.id);
    current.scrollIntoView({ block: "nearest" });
  }

  function forget() {
    Object.keys(hidden).forEach(function (name) { if (hidden[name]) { hidden[name].value = ""; } });
    picked.textContent = "";
  }

  function fill(candidate) {
    forget();
    if (candidate.place_id) {
      hidden.place_id.value = candidate.place_id;
    } else if (candidate.lat !== null && candidate.lat !== undefined && candidate.lat !== "") {
      hidden.lat.value = candidate.lat;
      hidden.lon.value = candidate.lon;
    } else if (candidate.town) {
      hidden.town.value = candidate.town;
    }
    picked.textContent = "Picked: " + candidate.label + " (what you typed is kept as typed).";
    askAnswer();
  }

  function pick(index) {
    var candidate = options[index];
    if (!candidate) { return; }
    fill({
      place_id: candidate.place_id,
      lat: candidate.lat,
      lon: candidate.lon,
      town: (candidate.place_id || candidate.lat !== null) ? "" : (candidate.jurisdiction || {}).town,
      label: candidate.label
    });
    close();
  }

  function search() {
    var query = input.value.trim();
    if (!query) { close(); return; }
    var ticket = ++asked;
    fetch(placesUrl + "?limit=8&q=" + encodeURIComponent(query), {
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    })
      .then(function (response) { return response.ok ? response.json() : []; })
      .then(function (candidates) { if (ticket === asked) { show(candidates); } })
      .catch(function () { close(); });
  }

  function askAnswer() {
    if (!window.htmx) { return; }
    var params = new URLSearchParams();
    params.set("location_text", input.value);
    Object.keys(hidden).forEach(function (name) {
      if (hidden[name] && hidden[name].value) { params.set(name, hidden[name].value); }
    });
    if (nature && nature.value) { params.set("nature", nature.value); }
    window.htmx.ajax("GET", answerUrl + "?" + params.toString(), {
      target: "#intake-answer",
      swap: "innerHTML"
    });
  }

  input.addEventListener("input", function () {
    forget();
    clearTimeout(timer);
    timer = setTimeout(search, 150);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown") { move(1); event.preventDefault(); }
    else if (event.key === "ArrowUp") { move(-1); event.preventDefault(); }
    else if (event.key === "Enter" && !list.hidden && active >= 0) {
      event.preventDefault();
      pick(active);
    } else if (event.key === "Escape") { close(); }
  });
  input.addEventListener("blur", function () {
    setTimeout(close, 150);
    if (input.value.trim() && !picked.textContent) { askAnswer(); }
  });
  if (nature) {
    nature.addEventListener("change", function () { if (input.value.trim()) { askAnswer(); } });
  }
  // A candidate offered in the answer panel (several places matched what was typed).
  document.getElementById("intake-answer").addEventListener("click", function (event) {
    var button = event.target.closest("[data-pick-index]");
    if (!button) { return; }
    fill({
      place_id: button.dataset.placeId,
      lat: button.dataset.lat,
      lon: button.dataset.lon,
      town: button.dataset.kind === "town" ? button.dataset.town : "",
      label: button.dataset.pickLabel
    });
  });
  if (input.value.trim()) { askAnswer(); }
})();
