import { useCallback, useEffect, useRef, useState } from 'react';
import { Link } from '../../app/Link';
import { useApp, useStructure } from '../../app/store-context';
import { LiveChart } from '../../charts/live-chart';
import { formatAgo, labelText } from '../fleet/format';
import { CommandsPanel } from './CommandsPanel';
import { downloadCsv, fillSeries, loadRange, RANGES, type RangeKey } from './history';
import { PageViewers } from './PageViewers';
import { MetricSeries } from './series';

interface ChartSlot {
  series: MetricSeries;
  chart?: LiveChart;
}

export default function DevicePage({ deviceId }: { deviceId: string }) {
  const { store, session } = useApp();
  const device = useStructure((s) => s.device(deviceId));
  const loaded = useStructure((s) => s.devicesLoaded);
  const [range, setRange] = useState<RangeKey>('15m');
  const [metrics, setMetrics] = useState<string[]>([]);
  const [status, setStatus] = useState<{ loading: boolean; error?: string; bucket?: string }>({
    loading: true,
  });
  const slots = useRef(new Map<string, ChartSlot>());
  const rangeMs = RANGES.find((r) => r.key === range)!.ms;
  const windowRef = useRef(() => ({ from: Date.now() - rangeMs, to: Date.now() }));
  windowRef.current = () => ({ from: Date.now() - rangeMs, to: Date.now() });

  // Subscribe first, then load the past: readings in between are buffered, so the seam has no hole.
  useEffect(() => {
    const abort = new AbortController();
    const current = new Map<string, ChartSlot>();
    slots.current = current;
    let past = false;
    const slotFor = (metric: string): ChartSlot => {
      let slot = current.get(metric);
      if (!slot) {
        slot = { series: new MetricSeries(metric, rangeMs) };
        // A metric first seen after the past was loaded has no past to wait for.
        if (past) slot.series.fill({ points: [], bucketMs: 1 }, 0, [], 0);
        current.set(metric, slot);
        setMetrics([...current.keys()].sort());
      }
      return slot;
    };
    for (const value of store.latest(deviceId).values()) slotFor(value.metric);
    const live = store.watchDevice(deviceId, (metric, t, v, unit) => {
      const slot = slotFor(metric);
      if (unit) slot.series.unit = unit;
      if (slot.series.add(t, v)) slot.chart?.invalidate();
    });
    setStatus({ loading: true });
    (async () => {
      await live.ready;
      const to = Date.now();
      const history = await loadRange(deviceId, to - rangeMs, to, abort.signal);
      for (const s of history.series) slotFor(s.metric);
      await fillSeries(
        deviceId,
        history,
        [...current.values()].map((s) => s.series),
        abort.signal,
      );
      past = true;
      for (const slot of current.values()) slot.chart?.redraw();
      setStatus({ loading: false, bucket: history.bucket });
    })().catch((error: Error) => {
      if (error.name === 'AbortError') return;
      past = true;
      for (const slot of current.values())
        if (slot.series.buffering) slot.series.fill({ points: [], bucketMs: 1 }, 0, [], 0);
      setStatus({ loading: false, error: `History could not be loaded: ${error.message}` });
    });
    return () => {
      abort.abort();
      live.release();
      for (const slot of current.values()) slot.chart?.destroy();
    };
  }, [store, deviceId, rangeMs]);

  const attach = useCallback((metric: string, host: HTMLDivElement | null) => {
    const slot = slots.current.get(metric);
    if (!slot || !host || slot.chart) return;
    slot.chart = new LiveChart(host, slot.series, () => windowRef.current());
    slot.chart.invalidate();
  }, []);

  const [csvError, setCsvError] = useState<string>();
  const csv = async () => {
    setCsvError(undefined);
    const first = slots.current.values().next().value as ChartSlot | undefined;
    const { from, to } = first?.chart?.shown() ?? windowRef.current();
    try {
      await downloadCsv(deviceId, metrics, from, to);
    } catch (error) {
      setCsvError(`CSV download failed: ${(error as Error).message}`);
    }
  };

  if (loaded && !device) {
    return (
      <section>
        <h1>{deviceId}</h1>
        <p className="error" role="alert">
          No device {deviceId} (it may have been deleted). <Link href="/">Back to the fleet</Link>
        </p>
      </section>
    );
  }

  return (
    <section aria-labelledby="device-title">
      <div className="page-head">
        <div>
          <p className="crumbs">
            <Link href="/">Fleet</Link> /
          </p>
          <h1 id="device-title">{device?.name || deviceId}</h1>
          {device?.description && <p className="muted">{device.description}</p>}
          <PageViewers deviceId={deviceId} />
        </div>
        {device && (
          <span className={`status big ${device.online ? 'online' : 'offline'}`} data-testid="device-status">
            {device.online ? 'online' : 'offline'}
          </span>
        )}
      </div>

      <div className="toolbar">
        <fieldset className="segmented">
          <legend>Range</legend>
          {RANGES.map((r) => (
            <label key={r.key} className={r.key === range ? 'active' : ''}>
              <input
                type="radio"
                name="range"
                value={r.key}
                checked={r.key === range}
                onChange={() => setRange(r.key)}
              />
              {r.label}
            </label>
          ))}
        </fieldset>
        <button type="button" onClick={csv} disabled={metrics.length === 0}>
          Download CSV
        </button>
        <span className="muted small" aria-live="polite">
          {status.loading
            ? 'Loading history…'
            : status.bucket
              ? `history in ${status.bucket} buckets · drag to zoom, double-click to reset`
              : ''}
        </span>
      </div>
      {status.error && (
        <p className="error" role="alert">
          {status.error}
        </p>
      )}
      {csvError && (
        <p className="error" role="alert">
          {csvError}
        </p>
      )}

      <div className="charts">
        {metrics.length === 0 && !status.loading && <p className="empty">No readings in this range yet.</p>}
        {metrics.map((metric) => (
          <figure key={`${range}:${metric}`} className="card chart-card" data-metric={metric}>
            <figcaption>{metric}</figcaption>
            <div className="chart-host" ref={(host) => attach(metric, host)} />
          </figure>
        ))}
      </div>

      <div className="grid-2">
        {session.role === 'admin' && <CommandsPanel deviceId={deviceId} />}
        {device && (
          <section className="card" aria-labelledby="conn-title">
            <h2 id="conn-title">Connection</h2>
            <dl className="details">
              <dt>Status</dt>
              <dd>
                {device.online
                  ? `online since ${device.connectedSince ? new Date(device.connectedSince).toLocaleString() : 'now'}`
                  : `offline, last seen ${formatAgo(device.lastSeen, Date.now())}`}
              </dd>
              <dt>Address</dt>
              <dd>{device.address ?? '—'}</dd>
              <dt>Agent</dt>
              <dd>{device.agentVersion ?? '—'}</dd>
              <dt>Labels</dt>
              <dd>{labelText(device.labels).join(', ') || '—'}</dd>
              <dt>Topics</dt>
              <dd>
                <code>devices/{deviceId}/telemetry/+</code>
              </dd>
            </dl>
          </section>
        )}
      </div>
    </section>
  );
}
