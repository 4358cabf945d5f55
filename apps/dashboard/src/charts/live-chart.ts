/**
 * A uPlot chart as an imperative island: created once per metric, fed by `invalidate()` from the
 * stream, redrawn with `setData` at most once per animation frame (every frame while live, so the
 * window slides smoothly; not at all while the tab is hidden). While the operator has zoomed
 * (drag to select), new data does not move the view; a double-click returns to the live window.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { chartColors } from '../app/theme';
import type { MetricSeries } from '../features/device/series';
import { cancelDraw, requestDraw } from '../live/frame-loop';

export class LiveChart {
  readonly #plot: uPlot;
  readonly #series: MetricSeries;
  readonly #host: HTMLElement;
  readonly #window: () => { from: number; to: number };
  #zoomed = false;
  #destroyed = false;
  #frames = 0;
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
      this.#draw();
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

  invalidate(): void {
    requestDraw(this.#draw);
  }

  readonly #draw = (): void => {
    if (this.#destroyed) return;
    this.#frames++;
    const { from, to } = this.#window();
    this.#series.trim(from);
    // What is shown and how often it was drawn, for tests and the bench to read without reaching into uPlot.
    this.#host.dataset.points = String(this.#series.xs.length);
    this.#host.dataset.first = String(this.#series.xs[0] ?? '');
    this.#host.dataset.frames = String(this.#frames);
    this.#plot.batch(() => {
      this.#plot.setData([this.#series.xs, this.#series.ys], !this.#zoomed);
      if (!this.#zoomed) this.#plot.setScale('x', { min: from / 1000, max: to / 1000 });
    });
    // While live, the window slides every frame, so time flows smoothly between readings.
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
