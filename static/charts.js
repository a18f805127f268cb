// Draws the charts whose data the page carries as json_script (core/charts.py), with Chart.js
// (static/vendor/). No inline script or style: the CSP allows neither, and Chart.js needs neither.
(function () {
  "use strict";

  const css = getComputedStyle(document.documentElement);
  const colour = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
  const INK = colour("--ink", "#1d2733");
  const MUTED = colour("--muted", "#5b6b7c");
  const ACCENT = colour("--accent", "#0b6e4f");
  const SERIES = [ACCENT, "#c98a1b", "#a4262c", "#4a78c2"];

  function format(value, percent) {
    if (value === null || value === undefined) return "n/a";
    return percent ? Math.round(value * 100) + "%" : String(Math.round(value * 1000) / 1000);
  }

  // Floor lines (alpha 0.667 and 0.8), each bar's 95 % interval and each domain's target: drawn
  // over the bars, in the value axis's pixels.
  const guides = {
    id: "studioGuides",
    afterDatasetsDraw(chart, _args, options) {
      const spec = options.spec;
      if (!spec) return;
      const ctx = chart.ctx;
      const area = chart.chartArea;
      const valueScale = chart.scales[spec.horizontal ? "x" : "y"];
      const meta = chart.getDatasetMeta(0);
      ctx.save();
      ctx.font = "12px system-ui, sans-serif";
      for (const floor of spec.floors) {
        const at = valueScale.getPixelForValue(floor.value);
        ctx.strokeStyle = MUTED;
        ctx.setLineDash([4, 4]);
        ctx.lineWidth = 1;
        ctx.beginPath();
        if (spec.horizontal) {
          ctx.moveTo(at, area.top);
          ctx.lineTo(at, area.bottom);
        } else {
          ctx.moveTo(area.left, at);
          ctx.lineTo(area.right, at);
        }
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.fillStyle = MUTED;
        if (spec.horizontal) {
          ctx.textAlign = "right";
          // Above the bars, in the room options() leaves: one line per floor, the highest on top.
          ctx.fillText(floor.label, at - 3, area.top - 4 - 14 * spec.floors.indexOf(floor));
        } else {
          ctx.textAlign = "left";
          ctx.fillText(floor.label, area.left + 4, at - 4);
        }
      }
      spec.data.forEach((d, i) => {
        const element = meta.data[i];
        if (!element) return;
        const thickness = spec.horizontal ? element.height || 12 : element.width || 12;
        const centre = spec.horizontal ? element.y : element.x;
        if (d.low !== null && d.high !== null) {
          const a = valueScale.getPixelForValue(d.low);
          const b = valueScale.getPixelForValue(d.high);
          const cap = Math.min(thickness / 3, 6);
          ctx.strokeStyle = INK;
          ctx.lineWidth = 2;
          ctx.beginPath();
          if (spec.horizontal) {
            ctx.moveTo(a, centre); ctx.lineTo(b, centre);
            ctx.moveTo(a, centre - cap); ctx.lineTo(a, centre + cap);
            ctx.moveTo(b, centre - cap); ctx.lineTo(b, centre + cap);
          } else {
            ctx.moveTo(centre, a); ctx.lineTo(centre, b);
            ctx.moveTo(centre - cap, a); ctx.lineTo(centre + cap, a);
            ctx.moveTo(centre - cap, b); ctx.lineTo(centre + cap, b);
          }
          ctx.stroke();
        }
        if (d.target !== null && d.target !== undefined) {
          const at = valueScale.getPixelForValue(d.target);
          ctx.strokeStyle = INK;
          ctx.lineWidth = 3;
          ctx.beginPath();
          if (spec.horizontal) {
            ctx.moveTo(at, centre - thickness / 2 - 3); ctx.lineTo(at, centre + thickness / 2 + 3);
          } else {
            ctx.moveTo(centre - thickness / 2 - 3, at); ctx.lineTo(centre + thickness / 2 + 3, at);
          }
          ctx.stroke();
        }
      });
      ctx.restore();
    },
  };

  function datasets(spec) {
    if (spec.series.length) {
      return spec.series.map((name, s) => ({
        label: name,
        data: spec.data.map((d) => d.stack[s]),
        backgroundColor: SERIES[s % SERIES.length],
      }));
    }
    const values = spec.data.map((d) => d.value);
    if (spec.kind === "line") {
      return [{ data: values, borderColor: ACCENT, backgroundColor: ACCENT, pointRadius: 5, pointHoverRadius: 7 }];
    }
    return [{ data: values, backgroundColor: ACCENT, maxBarThickness: 28 }];
  }

  function options(spec) {
    const value = spec.value_axis;
    const stacked = spec.series.length > 0;
    const valueAxis = {
      min: value.min,
      max: value.max === null ? undefined : value.max,
      stacked: stacked,
      title: { display: true, text: value.title, color: INK },
      ticks: { color: INK, callback: (v) => format(v, value.percent) },
      grid: { color: (c) => (c.tick && c.tick.value === 0 ? INK : "rgba(0,0,0,0.08)") },
    };
    const categoryAxis = {
      stacked: stacked,
      offset: true, // a lone week's point in the middle, not on the axis
      title: { display: Boolean(spec.category_axis), text: spec.category_axis, color: INK },
      ticks: { color: INK, autoSkip: false },
      grid: { display: false },
    };
    const scales = spec.horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis };
    return {
      indexAxis: spec.horizontal ? "y" : "x",
      layout: { padding: { top: spec.horizontal ? 14 * spec.floors.length + 4 : 0, right: 8 } },
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      scales: scales,
      plugins: {
        legend: { display: stacked },
        tooltip: {
          callbacks: {
            title: (items) => (items.length ? spec.data[items[0].dataIndex].label : ""),
            label: (item) =>
              stacked ? item.dataset.label + " " + format(item.raw, true) : spec.data[item.dataIndex].tooltip,
            afterBody: (items) =>
              stacked && items.length ? spec.data[items[0].dataIndex].tooltip : [],
          },
        },
        studioGuides: { spec: spec },
      },
      // A datum with an href is a link: a click on its bar, point or cell goes there.
      onClick: (_event, elements) => {
        const href = elements.length ? spec.data[elements[0].index].href : "";
        if (href) window.location.assign(href);
      },
      onHover: (event, elements) => {
        const linked = elements.length > 0 && Boolean(spec.data[elements[0].index].href);
        event.native.target.classList.toggle("linked", linked);
      },
    };
  }

  function draw(canvas) {
    if (canvas.dataset.drawn) return;
    const source = document.getElementById(canvas.dataset.chart);
    if (!source || !window.Chart) return;
    const spec = JSON.parse(source.textContent);
    const box = canvas.parentElement;
    // The CSP allows styles set through the CSSOM (not style attributes): room for each bar and the floor labels.
    if (spec.horizontal) box.style.height = Math.max(150, 60 + 32 * spec.data.length) + "px";
    canvas.dataset.drawn = "1";
    new window.Chart(canvas, {
      type: spec.kind,
      data: { labels: spec.data.map((d) => d.label), datasets: datasets(spec) },
      options: options(spec),
      plugins: [guides],
    });
  }

  function drawAll(root) {
    root.querySelectorAll("canvas[data-chart]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", () => drawAll(document));
  document.addEventListener("htmx:load", (event) => drawAll(event.target));
})();
