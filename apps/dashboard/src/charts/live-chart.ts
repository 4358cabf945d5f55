/**
 * A uPlot chart as an imperative island: created once per metric, fed by `invalidate()` from the
 * stream, redrawn with `setData` in an animation frame (at most once per frame), and only when the
 * picture changes: the range shown has moved by a pixel or more (a 15-minute window slides one pixel
 * every ~0.75 s), or readings arrived, at most every DATA_REDRAW_MS. Not at all while the tab is
 * hidden. uPlot is handed the series decimated to the plot's pixel columns (decimate.ts), into arrays
 * allocated once, not the thousands of points the window holds. While the operator has zoomed (drag to
 * select), new data does not move the view, and the zoomed range is decimated afresh, so zooming in
 * shows every point; a double-click returns to the live window.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { chartColors } from '../app/theme';
import type { MetricSeries } from '../features/device/series';
import { cancelDraw, requestDraw } from '../live/frame-loop';
import { decimate, decimatedLength } from './decimate';

/** Shortest interval between two redraws for new readings alone (the overview's rows use the same). */
const DATA_REDRAW_MS = 250;

export class LiveChart {
  readonly #plot: uPlot;
  readonly #series: MetricSeries;
  readonly #host: HTMLElement;
  readonly #window: () => { from: number; to: number };
  #zoomed = false;
  #destroyed = false;
  #frames = 0;
  /** The range shown at the last drawing (epoch ms), when, and whether a reading arrived since. */
  #drawnFrom = 0;
  #drawnTo = 0;
  #drawnAt = Number.NEGATIVE_INFINITY;
  #changed = true;
  /** What uPlot draws: the decimated points, in arrays reused from one drawing to the next. */
  #xs = new Float64Array(0);
  #ys = new Float64Array(0);
  readonly #resize: ResizeObserver;

  constructor(host: HTMLElement, series: MetricSeries, window: () => { from: number; to: number }) {
    this.#series = series;
    this.#host = host;
    this.#window = window;
    const colors = chartColors();
    const axis = {
      stroke: colors.text,
      grid: { stroke: colors.grid, width: 1 },
      ticks: { stroke: colors.grid },
    };
    this.#plot = new uPlot(
      {
        width: Math.max(200, host.clientWidth),
        height: 180,
        legend: { show: true, live: true },
        cursor: { drag: { x: true, y: false, setScale: true } },
        scales: { x: { time: true } },
        axes: [axis, { ...axis, size: 56 }],
        series: [
          {},
          {
            label: series.unit ? `${series.metric} (${series.unit})` : series.metric,
            stroke: colors.line,
            fill: colors.fill,
            width: 1.5,
            points: { show: false },
            spanGaps: false,
          },
        ],
        hooks: {
          setSelect: [
            (u) => {
              if (u.select.width > 0) this.#zoomed = true;
            },
          ],
        },
      },
      [this.#xs, this.#ys],
      host,
    );
    this.#plot.over.addEventListener('dblclick', () => {
      this.#zoomed = false;
      this.invalidate();
    });
    this.#resize = new ResizeObserver(() => {
      this.#plot.setSize({ width: Math.max(200, host.clientWidth), height: 180 });
    });
    this.#resize.observe(host);
    document.addEventListener('visibilitychange', this.#onVisibility);
  }

  readonly #onVisibility = (): void => {
    if (!document.hidden) this.invalidate();
  };

  /** The x range shown (epoch ms): the zoomed one, or the live window. */
  shown(): { from: number; to: number } {
    const { min, max } = this.#plot.scales.x ?? {};
    if (this.#zoomed && min !== undefined && max !== undefined) return { from: min * 1000, to: max * 1000 };
    return this.#window();
  }

  /** New readings: drawn in the next frame, or within DATA_REDRAW_MS of the last drawing. */
  invalidate(): void {
    this.#changed = true;
    requestDraw(this.#draw);
  }

  /** A new past (history loaded): drawn in the next frame whatever was drawn just before. */
  redraw(): void {
    this.#drawnAt = Number.NEGATIVE_INFINITY;
    this.invalidate();
  }

  readonly #draw = (): void => {
    if (this.#destroyed) return;
    const { from, to } = this.shown();
    const columns = Math.max(1, Math.round(this.#plot.bbox.width));
    const msPerColumn = (to - from) / columns;
    const moved =
      Math.abs(to - this.#drawnTo) >= msPerColumn || Math.abs(from - this.#drawnFrom) >= msPerColumn;
    const fresh = this.#changed && performance.now() - this.#drawnAt >= DATA_REDRAW_MS;
    if (moved || fresh) this.#render(from, to, columns);
    // The live window keeps sliding between readings, and a zoom changes the range: look again next frame.
    if (!document.hidden) requestDraw(this.#draw);
  };

  #render(from: number, to: number, columns: number): void {
    this.#changed = false;
    this.#drawnFrom = from;
    this.#drawnTo = to;
    this.#drawnAt = performance.now();
    this.#frames++;
    if (this.#xs.length < decimatedLength(columns)) {
      this.#xs = new Float64Array(decimatedLength(columns));
      this.#ys = new Float64Array(decimatedLength(columns));
    }
    const points = this.#series.points;
    const n = decimate(points, from, to, columns, this.#xs, this.#ys);
    // What is shown and how often it was drawn, for tests and the bench to read without reaching into uPlot.
    const first = points.lowerBound(from);
    this.#host.dataset.points = String(points.size - first);
    this.#host.dataset.first = first < points.size ? String(points.timeAt(first) / 1000) : '';
    this.#host.dataset.frames = String(this.#frames);
    this.#plot.batch(() => {
      this.#plot.setData([this.#xs.subarray(0, n), this.#ys.subarray(0, n)], !this.#zoomed);
      if (!this.#zoomed) this.#plot.setScale('x', { min: from / 1000, max: to / 1000 });
    });
  }

  destroy(): void {
    this.#destroyed = true;
    cancelDraw(this.#draw);
    document.removeEventListener('visibilitychange', this.#onVisibility);
    this.#resize.disconnect();
    this.#plot.destroy();
  }
}
