// The scorecard charts (曝光台), drawn with Apache ECharts served by us. The
// figures come from the page's data-* attributes: no inline script (CSP).
(function () {
  "use strict";
  var PALETTE = ["#1f5aa6", "#b3261e", "#8a5300", "#1d6b3a", "#55318f", "#0d2a4f"];

  function bar(el, units, values, colour) {
    return {
      color: [colour], animation: false,
      grid: {left: 8, right: 16, top: 36, bottom: 8, containLabel: true},
      tooltip: {trigger: "axis"},
      xAxis: {type: "value", minInterval: 1, splitLine: {lineStyle: {color: "#e3e8ef"}}},
      yAxis: {type: "category", data: units, inverse: true,
              axisLabel: {width: 110, overflow: "truncate", color: "#1b1f24"}},
      series: [{type: "bar", data: values, barMaxWidth: 22,
                label: {show: true, position: "right", color: "#1b1f24"}}]
    };
  }

  function draw() {
    var holder = document.getElementById("scorecard-data");
    if (!holder || !window.echarts) { return; }
    var data = JSON.parse(holder.getAttribute("data-chart"));
    var labels = JSON.parse(holder.getAttribute("data-labels"));
    var charts = [];
    document.querySelectorAll(".chart[data-series]").forEach(function (el, i) {
      var name = el.getAttribute("data-series");
      var chart = window.echarts.init(el, null, {renderer: "svg"});
      var option;
      if (name === "weekly") {
        option = {
          color: PALETTE, animation: false,
          grid: {left: 8, right: 16, top: 64, bottom: 8, containLabel: true},
          tooltip: {trigger: "axis"}, legend: {top: 28, type: "scroll"},
          xAxis: {type: "category", data: data.weeks},
          yAxis: {type: "value", minInterval: 1},
          series: Object.keys(data.weekly).map(function (unit) {
            return {name: unit, type: "line", data: data.weekly[unit], symbolSize: 6};
          })
        };
      } else {
        option = bar(el, data.units, data.series[name], PALETTE[i % PALETTE.length]);
      }
      option.title = {text: labels[name], left: 0, top: 0,
                      textStyle: {fontSize: 14, color: "#0d2a4f"}};
      chart.setOption(option);
      el.setAttribute("data-drawn", "1");
      charts.push(chart);
    });
    window.addEventListener("resize", function () {
      charts.forEach(function (c) { c.resize(); });
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
})();
