// Chart helpers over uPlot (loaded as the global window.uPlot from the
// vendored file): a time-series chart that follows the theme and its
// container's width, shares its crosshair with the page's other charts,
// and draws the annotations every slogate panel has: off-hours shading,
// horizontal threshold lines and deploy markers with a tooltip.

import { html, setHTML } from './html.js';
import { dateTime, words } from './format.js';

const syncKey = 'slogate-page';
const axisFont = '12px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

// themeColors reads the chart colours of the current theme from CSS.
export function themeColors() {
  return {
    axis: cssVar('--chart-axis'),
    grid: cssVar('--chart-grid'),
    series: [1, 2, 3, 4, 5].map((i) => cssVar(`--chart-${i}`)),
    ideal: cssVar('--chart-ideal'),
    objective: cssVar('--chart-objective'),
    page: cssVar('--chart-page'),
    ticket: cssVar('--chart-ticket'),
    offHours: cssVar('--chart-offhours'),
    label: cssVar('--text-muted'),
    font: cssVar('--chart-font') || '12px system-ui, sans-serif',
  };
}

// offHoursPlugin shades the intervals getIntervals() returns
// ([[fromUnix, toUnix], ...]) behind the series.
function offHoursPlugin(getIntervals, colors) {
  return {
    hooks: {
      drawClear: (u) => {
        const intervals = getIntervals() || [];
        if (intervals.length === 0) return;
        const { ctx, bbox } = u;
        ctx.save();
        ctx.fillStyle = colors.offHours;
        for (const [from, to] of intervals) {
          const x0 = Math.max(bbox.left, u.valToPos(from, 'x', true));
          const x1 = Math.min(bbox.left + bbox.width, u.valToPos(to, 'x', true));
          if (x1 > x0) ctx.fillRect(x0, bbox.top, x1 - x0, bbox.height);
        }
        ctx.restore();
      },
    },
  };
}

// thresholdsPlugin draws horizontal lines ({value, label, kind}) with
// their labels: "page" lines solid, "ticket" lines dashed.
function thresholdsPlugin(getLines, colors) {
  return {
    hooks: {
      draw: (u) => {
        const lines = getLines() || [];
        const { ctx, bbox } = u;
        const ratio = devicePixelRatio || 1;
        ctx.save();
        ctx.font = colors.font.replace(/(\d+)px/, (_, px) => `${Math.round(px * ratio)}px`);
        ctx.textBaseline = 'bottom';
        const labelHeight = 13 * ratio;
        const lastLabel = { right: -Infinity, left: -Infinity };
        const placed = lines
          .map((line) => ({ line, y: Math.round(u.valToPos(line.value, 'y', true)) }))
          .filter(({ y }) => y >= bbox.top && y <= bbox.top + bbox.height)
          .sort((a, b) => a.y - b.y);
        for (const { line, y } of placed) {
          const color = line.kind === 'ticket' ? colors.ticket : colors.page;
          ctx.strokeStyle = color;
          ctx.fillStyle = color;
          ctx.lineWidth = ratio * 1.5;
          ctx.setLineDash(line.kind === 'ticket' ? [6 * ratio, 4 * ratio] : []);
          ctx.beginPath();
          ctx.moveTo(bbox.left, y);
          ctx.lineTo(bbox.left + bbox.width, y);
          ctx.stroke();
          // Labels of lines close together would overlap: the next one
          // goes to the left end, and a third is left out.
          const side = ['right', 'left'].find((s) => y - lastLabel[s] >= labelHeight);
          if (!side) continue;
          lastLabel[side] = y;
          ctx.textAlign = side;
          ctx.fillText(line.label, side === 'left' ? bbox.left + 4 * ratio : bbox.left + bbox.width - 4 * ratio, y - 2 * ratio);
        }
        ctx.restore();
      },
    },
  };
}

// deployMarker is a line with a tooltip shown on hover. It is left out of
// the tab order and of the accessibility tree: every panel repeats it, and
// the page lists the same deploys in a table.
function deployMarker(d, left, plotWidth) {
  const impact = d.impact_class || 'pending';
  const side = left > plotWidth / 2 ? 'tip-left' : 'tip-right';
  return html`<span class="deploy-marker deploy-${impact}" style="left:${left.toFixed(1)}px" aria-hidden="true"><span class="deploy-tip ${side}">
    <strong>${d.version || d.commit || `deploy ${d.id}`}</strong>
    <span>${dateTime(d.started_at)} · ${d.env || 'production'}</span>
    <span>by ${d.author || 'unknown'}</span>
    <span>impact: <span class="impact-badge impact-${impact}">${words(impact)}</span></span>
    </span></span>`;
}

// deployMarkersPlugin puts one marker per deploy in the plot area, at its
// start time; hovering one shows its version, author and impact.
function deployMarkersPlugin(getDeploys) {
  let layer;
  return {
    hooks: {
      init: (u) => {
        layer = document.createElement('div');
        layer.className = 'deploy-layer';
        u.over.appendChild(layer);
      },
      draw: (u) => {
        const { min, max } = u.scales.x;
        const width = u.over.clientWidth;
        const markers = (getDeploys() || [])
          .map((d) => ({ d, t: Date.parse(d.started_at) / 1000 }))
          .filter(({ t }) => t >= min && t <= max)
          .map(({ d, t }) => deployMarker(d, u.valToPos(t, 'x'), width));
        setHTML(layer, markers);
      },
    },
  };
}

// selectToZoomPlugin turns a drag across the chart into a new time range
// (Grafana's drag-to-zoom), handed to onZoom(from, to) in Unix seconds.
function selectToZoomPlugin(onZoom) {
  return {
    hooks: {
      setSelect: (u) => {
        const { left, width } = u.select;
        if (width < 5 || !onZoom) return;
        const from = u.posToVal(left, 'x');
        const to = u.posToVal(left + width, 'x');
        u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
        onZoom(Math.floor(from), Math.ceil(to));
      },
    },
  };
}

// scaleIncluding returns a y range function that fits the data and also
// always shows the values extra() returns (objectives, thresholds), with
// some headroom.
function scaleIncluding(extra, { floor = null, ceil = null } = {}) {
  return (u, dataMin, dataMax) => {
    const values = [dataMin, dataMax, ...(extra() || [])].filter((v) => Number.isFinite(v));
    if (values.length === 0) return [floor ?? 0, ceil ?? 1];
    let lo = Math.min(...values);
    let hi = Math.max(...values);
    const pad = (hi - lo || Math.abs(hi) || 1) * 0.08;
    lo -= pad;
    hi += pad;
    if (floor !== null && lo > floor && dataMin !== null && dataMin >= floor) lo = Math.max(floor, lo);
    if (ceil !== null && hi > ceil && (dataMax === null || dataMax <= ceil)) hi = ceil;
    return [lo, hi];
  };
}

function seriesOptions(def, i, colors) {
  return {
    label: def.label,
    stroke: def.colorVar ? cssVar(def.colorVar) : colors.series[i % colors.series.length],
    width: def.width ?? 1.5,
    dash: def.dash,
    spanGaps: false,
    points: { show: false },
    value: (u, v) => (v === null || v === undefined ? '—' : def.format(v)),
  };
}

let measureContext;

// axisWidth sizes the y axis to its longest label ("99.975%") in uPlot's
// axis font, plus the tick and the gap.
function axisWidth(u, values) {
  measureContext ??= document.createElement('canvas').getContext('2d');
  measureContext.font = axisFont;
  const widest = Math.max(0, ...(values || []).map((v) => measureContext.measureText(String(v)).width));
  return Math.ceil(widest) + 24;
}

// chartHeight fits panels on a phone and a laptop alike.
function chartHeight() {
  return window.matchMedia('(max-width: 700px)').matches ? 180 : 220;
}

// TimeChart is one uPlot chart in container. spec is
// {series: [{label, colorVar?, dash?, width?, format}], yFormat, extraY?: () => [..],
// yFloor?, yCeil?, thresholds?: () => [...], deploys: () => [...],
// offHours: () => [...], onZoom?}; data is [timestamps, ...columns].
export class TimeChart {
  constructor(container, spec, data) {
    this.container = container;
    this.spec = spec;
    this.data = data;
    this.create();
    this.observer = new ResizeObserver(() => this.scheduleResize());
    this.observer.observe(container);
    // Colours are read from CSS when the chart is made: remake it for a
    // new theme.
    this.onThemeChange = () => this.recreate();
    document.addEventListener('themechange', this.onThemeChange);
  }

  options() {
    const colors = themeColors();
    const { spec } = this;
    const axis = {
      stroke: colors.axis, font: axisFont, grid: { stroke: colors.grid, width: 1 }, ticks: { stroke: colors.grid, width: 1 },
    };
    return {
      width: Math.max(200, this.container.clientWidth),
      height: chartHeight(),
      cursor: { sync: { key: syncKey, setSeries: false }, drag: { x: true, y: false, setScale: false } },
      scales: { x: { time: true }, y: { range: scaleIncluding(spec.extraY || (() => []), { floor: spec.yFloor ?? null, ceil: spec.yCeil ?? null }) } },
      axes: [
        { ...axis },
        { ...axis, size: axisWidth, values: (u, splits) => splits.map((v) => spec.yFormat(v)) },
      ],
      series: [{ value: (u, v) => (v === null ? '—' : dateTime(v)) }, ...spec.series.map((s, i) => seriesOptions(s, i, colors))],
      legend: { live: true },
      plugins: [
        offHoursPlugin(spec.offHours || (() => []), colors),
        thresholdsPlugin(spec.thresholds || (() => []), colors),
        deployMarkersPlugin(spec.deploys || (() => [])),
        selectToZoomPlugin(spec.onZoom),
      ],
    };
  }

  create() {
    this.plot = new window.uPlot(this.options(), this.data, this.container);
  }

  // update swaps in new data (and annotation getters' results are read
  // again on the redraw).
  update(data) {
    this.data = data;
    if (data.length !== this.plot.data.length) {
      this.recreate();
      return;
    }
    this.plot.setData(data);
  }

  // recreate rebuilds the chart, e.g. for new theme colours.
  recreate() {
    this.plot.destroy();
    this.create();
  }

  scheduleResize() {
    // Resizing inside the observer's callback could resize the container
    // again within the same frame; do it on the next one.
    cancelAnimationFrame(this.frame);
    this.frame = requestAnimationFrame(() => {
      const width = Math.max(200, this.container.clientWidth);
      const height = chartHeight();
      if (width !== this.plot.width || height !== this.plot.height) this.plot.setSize({ width, height });
    });
  }

  destroy() {
    document.removeEventListener('themechange', this.onThemeChange);
    cancelAnimationFrame(this.frame);
    this.observer.disconnect();
    this.plot.destroy();
  }
}

// nullable maps values with fn, keeping nulls (uPlot draws them as gaps).
export function nullable(values, fn) {
  return (values || []).map((v) => (v === null || v === undefined ? null : fn(v)));
}
