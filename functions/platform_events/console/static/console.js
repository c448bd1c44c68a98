// Draws the console's charts from the page's own data (#console-data, the same JSON the API
// answers): uPlot for the time series, bar widths for the funnel. No request leaves the page.
(function () {
  "use strict";
  var node = document.getElementById("console-data");
  if (!node) { return; }
  var data = JSON.parse(node.textContent);

  document.querySelectorAll(".funnel .bar").forEach(function (bar) {
    var ratio = Math.max(0, Math.min(1, parseFloat(bar.dataset.ratio) || 0));
    bar.style.width = (100 * ratio).toFixed(1) + "%";
  });

  function seconds(text) { return Date.parse(text) / 1000; }

  function draw(el, series, x, ys, range) {
    if (!el || !x.length) { return; }
    var opts = {
      width: el.clientWidth || 320,
      height: 220,
      series: [{}].concat(series),
      axes: [{}, { scale: "y" }].concat(series.length > 1 ? [{ scale: "s", side: 1, grid: { show: false } }] : []),
      // a fixed window: one hour of data still reads as the last hours, not as a year axis
      scales: { x: range ? { time: true, range: function () { return range; } } : { time: true } },
      legend: { live: false }
    };
    var plot = new uPlot(opts, [x].concat(ys), el);
    window.addEventListener("resize", function () {
      plot.setSize({ width: el.clientWidth || 320, height: 220 });
    });
  }

  if (data.hourly) {
    draw(
      document.getElementById("throughput-chart"),
      [
        { label: "delivered / h", stroke: "#2f6fdf", fill: "rgba(47,111,223,.15)", scale: "y", paths: uPlot.paths.bars({ size: [0.8] }) },
        { label: "lag p50 s", stroke: "#d9822b", scale: "s" }
      ],
      data.hourly.map(function (h) { return seconds(h.hour); }),
      [data.hourly.map(function (h) { return h.delivered; }),
       data.hourly.map(function (h) { return h.lag_p50_s; })],
      [seconds(data.window[0]), seconds(data.window[1])]
    );
  }
  if (data.daily_active_users) {
    draw(
      document.getElementById("dau-chart"),
      [{ label: "active users", stroke: "#2f6fdf", fill: "rgba(47,111,223,.12)", scale: "y" }],
      data.daily_active_users.map(function (d) { return seconds(d.activity_date + "T00:00:00Z"); }),
      [data.daily_active_users.map(function (d) { return d.active_users; })],
      [seconds(data.since + "T00:00:00Z"), seconds(data.until + "T00:00:00Z")]
    );
  }
})();
