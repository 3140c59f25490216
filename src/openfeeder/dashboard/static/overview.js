// openfeeder overview: draws the visits chart with uPlot from the chart element's data-chart
// attribute (the strict CSP allows no inline script). Without JavaScript the page's table of
// the same series stands in for it.
(() => {
  "use strict";
  const box = document.querySelector("[data-chart]");
  if (!box || typeof uPlot === "undefined") return;
  const data = JSON.parse(box.getAttribute("data-chart"));
  // Each point is a local day of the account: draw it at midnight UTC and label it in UTC,
  // so the browser's own timezone cannot move it to a neighbouring day.
  const xs = data.days.map((day) => Date.parse(`${day}T00:00:00Z`) / 1000);
  const css = getComputedStyle(document.documentElement);
  const colour = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
  const accent = colour("--accent", "#0b5cad");
  const muted = colour("--muted", "#5b6572");
  const line = colour("--line", "#dfe3e8");
  const height = () => (box.clientWidth < 500 ? 200 : 260);
  const whole = (u, values) => values.map((v) => (Number.isInteger(v) ? v.toLocaleString() : ""));
  const axis = { stroke: muted, grid: { stroke: line, width: 1 }, ticks: { stroke: line } };
  const options = {
    width: box.clientWidth,
    height: height(),
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    cursor: { drag: { x: false, y: false } },
    scales: { y: { range: (u, min, max) => [0, Math.max(4, Math.ceil(max * 1.1))] } },
    axes: [axis, { ...axis, values: whole, size: 56 }],
    series: [
      { label: data.unit === "day" ? "Day" : `${data.unit[0].toUpperCase()}${data.unit.slice(1)} from` },
      { label: "Visits", stroke: accent, fill: `${accent}22`, width: 2, points: { show: xs.length <= 45 && box.clientWidth >= 600 } },
      { label: "Pageviews", stroke: muted, width: 1.5, dash: [5, 4], points: { show: false } },
    ],
  };
  box.textContent = "";
  const chart = new uPlot(options, [xs, data.visits, data.pageviews], box);
  box.dataset.drawn = "true";
  new ResizeObserver(() => chart.setSize({ width: box.clientWidth, height: height() })).observe(box);
})();
