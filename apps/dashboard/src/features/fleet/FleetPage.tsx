import { memo, useEffect, useMemo, useRef, useState } from 'react';
import type { Device } from '../../api/types';
import { Link } from '../../app/Link';
import { useApp, useStructure } from '../../app/store-context';
import { chartColors } from '../../app/theme';
import { drawSparkline } from '../../charts/sparkline';
import { requestDraw } from '../../live/frame-loop';
import type { LiveStore } from '../../live/live-store';
import { count, formatAgo, formatValue, labelText } from './format';

type Status = 'all' | 'online' | 'offline';
type Sort = 'name' | 'status' | 'lastSeen';

const displayName = (d: Device) => d.name || d.id;
/** Shortest interval between two redraws of one overview row. */
const ROW_REDRAW_MS = 250;
/**
 * Rows rendered at first, and added each time the end of the list scrolls near: a fleet of 1,000
 * shows its first screen at once instead of building 1,000 rows before anything appears.
 */
const ROWS_STEP = 60;

function useNow(everyMs: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

export function FleetPage() {
  const { store } = useApp();
  const devices = useStructure((s) => s.devices);
  const loaded = useStructure((s) => s.devicesLoaded);
  const error = useStructure((s) => s.devicesError);
  const [query, setQuery] = useState('');
  const [status, setStatus] = useState<Status>('all');
  const [label, setLabel] = useState('');
  const [sort, setSort] = useState<Sort>('name');
  const now = useNow(15_000);
  // The fleet's readings stream while the overview is shown, and only then.
  useEffect(() => store.streamFleet(), [store]);

  const labels = useMemo(() => [...new Set(devices.flatMap((d) => labelText(d.labels)))].sort(), [devices]);
  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    const list = devices.filter(
      (d) =>
        (status === 'all' || d.online === (status === 'online')) &&
        (!label || labelText(d.labels).includes(label)) &&
        (!q || d.id.toLowerCase().includes(q) || (d.name ?? '').toLowerCase().includes(q)),
    );
    const byName = (a: Device, b: Device) => displayName(a).localeCompare(displayName(b));
    if (sort === 'status') list.sort((a, b) => Number(b.online) - Number(a.online) || byName(a, b));
    else if (sort === 'lastSeen')
      list.sort((a, b) => (b.lastSeen ?? '').localeCompare(a.lastSeen ?? '') || byName(a, b));
    else list.sort(byName);
    return list;
  }, [devices, query, status, label, sort]);
  const online = devices.filter((d) => d.online).length;
  const [limit, setLimit] = useState(ROWS_STEP);
  const more = useRef<HTMLTableRowElement>(null);
  const hasMore = shown.length > limit;
  // biome-ignore lint/correctness/useExhaustiveDependencies: observed afresh after each step, so that a sentinel still in view asks for the next one
  useEffect(() => {
    const sentinel = more.current;
    if (!sentinel || typeof IntersectionObserver === 'undefined') return;
    const near = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) setLimit((n) => n + ROWS_STEP);
      },
      { rootMargin: '800px 0px' },
    );
    near.observe(sentinel);
    return () => near.disconnect();
  }, [hasMore, limit]);

  return (
    <section aria-labelledby="fleet-title">
      <div className="page-head">
        <h1 id="fleet-title">Fleet</h1>
        <p className="muted" aria-live="polite">
          {count(devices.length, 'device')} · {online} online
        </p>
      </div>
      <div className="toolbar">
        <label>
          Search
          <input
            type="search"
            placeholder="id or name"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
          />
        </label>
        <label>
          Status
          <select value={status} onChange={(e) => setStatus(e.target.value as Status)}>
            <option value="all">All</option>
            <option value="online">Online</option>
            <option value="offline">Offline</option>
          </select>
        </label>
        <label>
          Label
          <select value={label} onChange={(e) => setLabel(e.target.value)}>
            <option value="">Any</option>
            {labels.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
        </label>
        <label>
          Sort by
          <select value={sort} onChange={(e) => setSort(e.target.value as Sort)}>
            <option value="name">Name</option>
            <option value="status">Status</option>
            <option value="lastSeen">Last seen</option>
          </select>
        </label>
      </div>
      {error && (
        <p className="error" role="alert">
          Devices could not be loaded: {error}
        </p>
      )}
      {loaded && devices.length === 0 && !error && (
        <p className="empty">No devices yet. An admin adds them under Admin → Devices.</p>
      )}
      {shown.length > 0 && (
        <table className="fleet">
          <thead>
            <tr>
              <th scope="col">Status</th>
              <th scope="col">Device</th>
              <th scope="col">Labels</th>
              <th scope="col">Latest</th>
              <th scope="col">Trend</th>
              <th scope="col">Last seen</th>
            </tr>
          </thead>
          <tbody>
            {shown.slice(0, limit).map((d) => (
              <DeviceRow key={d.id} device={d} store={store} now={now} />
            ))}
            {hasMore && (
              <tr ref={more} className="more">
                <td colSpan={6}>
                  <button type="button" onClick={() => setLimit((n) => n + ROWS_STEP)}>
                    Show more ({count(shown.length - limit, 'more device')})
                  </button>
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
    </section>
  );
}

/**
 * Shared by every row: only rows on screen are drawn, and a row coming into view draws at once.
 * Off-screen rows change nothing in the DOM, so streaming into them costs no style or layout work.
 */
const visible = new WeakSet<Element>();
const onShown = new WeakMap<Element, () => void>();
const observer =
  typeof IntersectionObserver === 'undefined'
    ? undefined
    : new IntersectionObserver((entries) => {
        for (const entry of entries) {
          if (entry.isIntersecting) {
            visible.add(entry.target);
            onShown.get(entry.target)?.();
          } else visible.delete(entry.target);
        }
      });

const DeviceRow = memo(function DeviceRow({
  device,
  store,
  now,
}: {
  device: Device;
  store: LiveStore;
  now: number;
}) {
  const rowRef = useRef<HTMLTableRowElement>(null);
  const valuesRef = useRef<HTMLTableCellElement>(null);
  const sparkRef = useRef<HTMLCanvasElement>(null);

  useEffect(() => {
    const row = rowRef.current;
    const cell = valuesRef.current;
    const canvas = sparkRef.current;
    if (!row || !cell || !canvas) return;
    let color = chartColors().line;
    const onTheme = () => {
      color = chartColors().line;
      draw();
    };
    const draw = () => {
      if (observer && !visible.has(row)) return;
      const latest = [...store.latest(device.id).values()].sort((a, b) => a.metric.localeCompare(b.metric));
      const text =
        latest.map((l) => `${l.metric} ${formatValue(l.v)}${l.unit ? ` ${l.unit}` : ''}`).join(' · ') || '—';
      if (cell.textContent !== text) cell.textContent = text;
      const first = latest[0]?.metric;
      const label = first ? `trend of ${first}` : 'no readings yet';
      if (canvas.getAttribute('aria-label') !== label) canvas.setAttribute('aria-label', label);
      if (first) drawSparkline(canvas, store.spark(device.id, first), color);
    };
    onShown.set(row, () => requestDraw(draw));
    observer?.observe(row);
    draw();
    window.addEventListener('edgewire-theme', onTheme);
    // Numbers that change 60 times a second cannot be read; four times a second is live enough and
    // keeps a fleet of hundreds of streaming devices cheap to show.
    let last = 0;
    let later: ReturnType<typeof setTimeout> | undefined;
    const drawSoon = () => {
      const wait = last + ROW_REDRAW_MS - performance.now();
      if (wait <= 0) {
        last = performance.now();
        draw();
        return;
      }
      later ??= setTimeout(() => {
        later = undefined;
        requestDraw(drawSoon);
      }, wait);
    };
    const off = store.onDeviceDrawn(device.id, drawSoon);
    return () => {
      clearTimeout(later);
      off();
      observer?.unobserve(row);
      visible.delete(row);
      window.removeEventListener('edgewire-theme', onTheme);
    };
  }, [device.id, store]);

  return (
    <tr data-device={device.id} ref={rowRef}>
      <td data-label="Status">
        <span className={`status ${device.online ? 'online' : 'offline'}`}>
          {device.online ? 'online' : 'offline'}
        </span>
      </td>
      <td data-label="Device">
        <Link href={`/devices/${encodeURIComponent(device.id)}`}>{device.name || device.id}</Link>
        {device.name && <div className="muted small">{device.id}</div>}
      </td>
      <td data-label="Labels">
        {labelText(device.labels).map((l) => (
          <span key={l} className="chip">
            {l}
          </span>
        ))}
      </td>
      <td data-label="Latest" className="values" ref={valuesRef} />
      <td data-label="Trend">
        <canvas ref={sparkRef} className="spark" role="img" aria-label="no readings yet" />
      </td>
      <td data-label="Last seen">{device.online ? 'now' : formatAgo(device.lastSeen, now)}</td>
    </tr>
  );
});
