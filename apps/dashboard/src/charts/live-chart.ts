/**
 * A uPlot chart as an imperative island: created once per metric, fed by `invalidate()` from the
 * stream, redrawn with `setData` in an animation frame, and only when the picture changes: the live
 * window has slid by a pixel or more (a 15-minute window moves one pixel every ~0.75 s), or readings
 * arrived, at most every DATA_REDRAW_MS. Redrawing thousands of points in every frame, or for every
 * reading of a 10 Hz metric, showed nothing new and starved the page of frames. Not at all while the
 * tab is hidden. While the operator has zoomed (drag to select), new data does not move the view; a
 * double-click returns to the live window.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { chartColors } from '../app/theme';
import type { MetricSeries } from '../features/device/series';
import { cancelDraw, requestDraw } from '../live/frame-loop';

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
  /** The live window's end at the last drawing (epoch ms), and whether a reading arrived since. */
  #drawnTo = 0;
  #drawnAt = Number.NEGATIVE_INFINITY;
  #changed = true;
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
      [series.xs, series.ys],
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
    const { from, to } = this.#window();
    const msPerPixel = (to - from) / Math.max(1, this.#plot.bbox.width / (window.devicePixelRatio || 1));
    const slid = to - this.#drawnTo >= msPerPixel;
    const fresh = this.#changed && performance.now() - this.#drawnAt >= DATA_REDRAW_MS;
    if (!this.#zoomed && !slid && !fresh) {
      if (!document.hidden) requestDraw(this.#draw);
      return;
    }
    this.#changed = false;
    this.#drawnTo = to;
    this.#drawnAt = performance.now();
    this.#frames++;
    this.#series.trim(from);
    // What is shown and how often it was drawn, for tests and the bench to read without reaching into uPlot.
    this.#host.dataset.points = String(this.#series.xs.length);
    this.#host.dataset.first = String(this.#series.xs[0] ?? '');
    this.#host.dataset.frames = String(this.#frames);
    this.#plot.batch(() => {
      this.#plot.setData([this.#series.xs, this.#series.ys], !this.#zoomed);
      if (!this.#zoomed) this.#plot.setScale('x', { min: from / 1000, max: to / 1000 });
    });
    // While live, the window keeps sliding between readings: look again next frame.
    if (!this.#zoomed && !document.hidden) requestDraw(this.#draw);
  };

  destroy(): void {
    this.#destroyed = true;
    cancelDraw(this.#draw);
    document.removeEventListener('visibilitychange', this.#onVisibility);
    this.#resize.disconnect();
    this.#plot.destroy();
  }
}
