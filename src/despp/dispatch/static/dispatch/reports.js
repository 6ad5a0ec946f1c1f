// Compliance report charts: per bucket, the percent within the target's threshold (bars) and
// the goal (a line). The figures come from the page's JSON (the tables show the same numbers).
(function () {
  "use strict";
  var source = document.getElementById("report-charts");
  if (!source || typeof Chart === "undefined") {
    return;
  }
  JSON.parse(source.textContent).forEach(function (chart) {
    var canvas = document.getElementById(chart.id);
    if (!canvas) {
      return;
    }
    var colours = chart.values.map(function (value) {
      return value !== null && value < chart.goal ? "#b10e1e" : "#1d70b8";
    });
    new Chart(canvas, {
      data: {
        labels: chart.labels,
        datasets: [
          {
            type: "bar",
            label: "% within threshold",
            data: chart.values,
            backgroundColor: colours,
          },
          {
            type: "line",
            label: "Goal " + chart.goal + " %",
            data: chart.labels.map(function () { return chart.goal; }),
            borderColor: "#0b0c0c",
            borderDash: [6, 4],
            pointRadius: 0,
            fill: false,
          },
        ],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: { y: { min: 0, max: 100, title: { display: true, text: "% within" } } },
        plugins: { legend: { position: "bottom" } },
      },
    });
  });
})();
