// Live gauge charts of one stream with uPlot: one small chart per numeric gauge that arrives in
// SSE `status` events (luma_mean, motion, audio_level_db, ... and fps), last 5 minutes.

import uPlot from '/assets/uplot.esm.js';
import { el, fmtValue } from './format.js';

const HEIGHT = 170;
const COLORS = ['#58a6ff', '#3fb950', '#d29922', '#bc8cff', '#39c5cf', '#ff7b72', '#e3b341', '#a5d6ff'];
const AXIS = {
  stroke: '#aab4bf',
  grid: { stroke: '#2a313c', width: 1 },
  ticks: { stroke: '#2a313c', width: 1 },
  font: '12px system-ui, sans-serif',
};

const pad = (n) => String(n).padStart(2, '0');
/** Axis label of a unix time (s): local HH:MM:SS. */
const clock = (t) => {
  const d = new Date(t * 1000);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
};

/** Human names of the gauges the built-in detectors report. */
const GAUGE_LABEL = {
  luma_mean: 'Mean luma (0–255)',
  motion: 'Motion (mean abs. difference)',
  corruption_score: 'Corrupted area (fraction of macroblocks)',
  audio_level_db: 'Audio level (dBFS)',
  av_offset_ms: 'A/V offset (ms, + = audio late)',
  av_sync_confidence: 'A/V sync confidence (0–1)',
  loudness_momentary: 'Momentary loudness (LUFS)',
  loudness_short_term: 'Short-term loudness (LUFS)',
  true_peak_dbtp: 'True peak (dBTP)',
  clips_per_second: 'Clip events per second',
  stereo_correlation: 'Stereo correlation (FL/FR, low-passed: channel_loss.lowpass)',
  fps: 'Frames per second',
};

/**
 * @param {import('./store.js').Store} store
 * @param {{ container: HTMLElement, empty: HTMLElement }} ui
 */
export function createCharts(store, ui) {
  /** @type {Map<string, { fig: HTMLElement, plot: any, caption: HTMLElement, resize: ResizeObserver }>} */
  const charts = new Map();
  /** @type {string | undefined} */
  let current;

  function destroy() {
    for (const c of charts.values()) {
      c.resize.disconnect();
      c.plot.destroy();
      c.fig.remove();
    }
    charts.clear();
  }

  function width(fig) {
    return Math.max(200, Math.floor(fig.clientWidth || ui.container.clientWidth || 400));
  }

  function create(name, index) {
    const caption = el('figcaption', {}, GAUGE_LABEL[name] ?? name.replace(/_/g, ' '));
    const latest = el('span', { class: 'chart-latest' });
    caption.append(' ', latest);
    const fig = el('figure', { class: 'chart', dataset: { gauge: name, points: '0' } }, caption);
    ui.container.appendChild(fig);
    const color = COLORS[index % COLORS.length];
    const plot = new uPlot(
      {
        width: width(fig),
        height: HEIGHT,
        scales: { x: { time: true } },
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        series: [
          {},
          {
            label: name,
            stroke: color,
            width: 2,
            fill: `${color}22`,
            points: { show: false },
            spanGaps: false,
            value: (_u, v) => (v == null ? '—' : fmtValue(v)),
          },
        ],
        axes: [
          { ...AXIS, incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300], values: (_u, ticks) => ticks.map(clock) },
          { ...AXIS, size: 56 },
        ],
      },
      [[], []],
      fig,
    );
    plot.root.setAttribute('role', 'img');
    const resize = new ResizeObserver(() => {
      const w = width(fig);
      if (w !== plot.width) plot.setSize({ width: w, height: HEIGHT });
    });
    resize.observe(fig);
    const chart = { fig, plot, caption: latest, resize };
    charts.set(name, chart);
    return chart;
  }

  function update() {
    if (current === undefined) return;
    const h = store.history.get(current);
    ui.empty.hidden = !!h && h.t.length > 0;
    if (!h) return;
    let i = charts.size;
    for (const [name, values] of h.series) {
      const chart = charts.get(name) ?? create(name, i++);
      chart.plot.setData([h.t.slice(), values.slice()]);
      const points = values.filter((v) => v !== null);
      const last = points.at(-1);
      chart.fig.dataset.points = String(points.length);
      chart.caption.textContent = last === undefined ? '' : `now ${fmtValue(last)}`;
      const min = points.length ? Math.min(...points) : undefined;
      const max = points.length ? Math.max(...points) : undefined;
      chart.plot.root.setAttribute(
        'aria-label',
        `${GAUGE_LABEL[name] ?? name} over the last ${Math.round((h.t.at(-1) - h.t[0]) / 60)} min: ` +
          (last === undefined
            ? 'no values yet'
            : `latest ${fmtValue(last)}, min ${fmtValue(min)}, max ${fmtValue(max)}`),
      );
    }
  }

  store.addEventListener('gauges', (e) => {
    if (/** @type {CustomEvent<string>} */ (e).detail === current && !document.hidden) update();
  });
  store.addEventListener('reset', () => update());

  return {
    /** Shows the charts of a stream (undefined: none). */
    show(id) {
      if (id !== current) destroy();
      current = id;
      update();
    },
  };
}
