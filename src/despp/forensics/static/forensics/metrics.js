/* Charts of the laboratory metrics page (Chart.js, vendored). The figures come from the
   page's JSON (id "metrics-data"); the tables under each chart hold the same figures, so a
   reader without the charts (or without JavaScript) misses nothing. */
(function () {
  "use strict";
  var source = document.getElementById("metrics-data");
  if (!source || typeof window.Chart === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  var NAVY = "#14365d";
  var TEAL = "#1a7f8e";
  var RED = "#b50909";

  window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  window.Chart.defaults.color = "#1b1b1b";
  if (still) {
    window.Chart.defaults.animation = false;
  }

  function bars(id, labels, datasets, options) {
    var canvas = document.getElementById(id);
    if (!canvas) {
      return;
    }
    new window.Chart(canvas, {
      type: "bar",
      data: { labels: labels, datasets: datasets },
      options: Object.assign(
        {
          responsive: true,
          maintainAspectRatio: false,
          plugins: { legend: { position: "bottom" } },
          scales: { x: { ticks: { autoSkip: false } }, y: { beginAtZero: true } }
        },
        options || {}
      )
    });
  }

  var sections = data.sections;
  bars("chart-section-turnaround", sections.labels, [
    { label: "Mean turnaround (days)", data: sections.mean_days, backgroundColor: NAVY }
  ], { plugins: { legend: { display: false } } });

  bars("chart-section-backlog", sections.labels, [
    { label: "Open up to " + data.limit + " days", data: sections.within, backgroundColor: TEAL },
    { label: "Backlog: open over " + data.limit + " days", data: sections.backlog, backgroundColor: RED }
  ], { scales: { x: { stacked: true, ticks: { autoSkip: false } }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } });

  // On a narrow screen long names are shortened on the chart (the table names them in full).
  function shortName(value) {
    var label = this.getLabelForValue(value);
    var room = this.chart.width < 560 ? 18 : 40;
    return label.length > room ? label.slice(0, room - 1) + "…" : label;
  }

  var exams = data.examinations;
  bars("chart-exam-backlog", exams.labels, [
    { label: "Open up to " + data.limit + " days", data: exams.within, backgroundColor: TEAL },
    { label: "Backlog: open over " + data.limit + " days", data: exams.backlog, backgroundColor: RED }
  ], {
    indexAxis: "y",
    scales: { x: { stacked: true, beginAtZero: true, ticks: { precision: 0 } }, y: { stacked: true, ticks: { autoSkip: false, callback: shortName } } }
  });
})();
