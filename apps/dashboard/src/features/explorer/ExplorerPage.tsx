/**
 * Subscribe to any filter the operator may read and watch what flows: a pausable log (the newest 500
 * messages) and the selected message as JSON. Arrivals are collected and shown once per frame.
 */
import type { Message, Subscription } from '@edgewire/client';
import { filterError } from '@edgewire/protocol';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { useApp } from '../../app/store-context';
import { requestDraw } from '../../live/frame-loop';

const KEEP = 500;

interface Entry {
  n: number;
  message: Message;
}

export default function ExplorerPage() {
  const { store } = useApp();
  const [filter, setFilter] = useState('devices/+/status');
  const [active, setActive] = useState<string>();
  const [error, setError] = useState<string>();
  const [paused, setPaused] = useState(false);
  const [entries, setEntries] = useState<Entry[]>([]);
  const [selected, setSelected] = useState<Entry>();
  const [dropped, setDropped] = useState(0);
  const incoming = useRef<Entry[]>([]);
  const pausedRef = useRef(paused);
  pausedRef.current = paused;
  const problem = filter ? filterError(filter) : 'a filter is needed';

  useEffect(() => {
    if (!active) return;
    let n = 0;
    let skipped = 0;
    const show = () => {
      const batch = incoming.current.splice(0);
      setEntries((old) => [...batch.reverse(), ...old].slice(0, KEEP));
      setDropped(skipped);
    };
    let subscription: Subscription;
    try {
      subscription = store.client.subscribe(active, (message) => {
        n++;
        if (pausedRef.current) {
          skipped++;
          return;
        }
        incoming.current.push({ n, message });
        if (incoming.current.length > KEEP) incoming.current.splice(0, incoming.current.length - KEEP);
        requestDraw(show);
      });
    } catch (e) {
      setError((e as Error).message);
      return;
    }
    subscription.ready.then(
      () => setError(undefined),
      (e: Error) => setError(`The hub refused ${active}: ${e.message}`),
    );
    return () => subscription.unsubscribe();
  }, [store, active]);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (problem) return;
    setEntries([]);
    setSelected(undefined);
    setActive(filter);
  };

  return (
    <section aria-labelledby="explorer-title">
      <div className="page-head">
        <h1 id="explorer-title">Topics</h1>
      </div>
      <form className="toolbar" onSubmit={submit}>
        <label className="grow">
          Filter
          <input
            value={filter}
            onChange={(e) => setFilter(e.target.value)}
            aria-invalid={Boolean(problem)}
            aria-describedby="filter-help"
            spellCheck={false}
          />
        </label>
        <button type="submit" className="primary" disabled={Boolean(problem)}>
          Subscribe
        </button>
        <button type="button" onClick={() => setPaused(!paused)} aria-pressed={paused} disabled={!active}>
          {paused ? 'Resume' : 'Pause'}
        </button>
        <button type="button" onClick={() => setEntries([])} disabled={entries.length === 0}>
          Clear
        </button>
      </form>
      <p id="filter-help" className={problem && filter ? 'error small' : 'muted small'}>
        {problem && filter
          ? problem
          : '+ matches one level, # any number of trailing levels (e.g. devices/+/telemetry/#)'}
      </p>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {active && (
        <p className="muted small" aria-live="polite">
          Subscribed to <code>{active}</code> · {entries.length} shown
          {paused ? ` · paused, ${dropped} not shown` : ''}
        </p>
      )}
      <div className="grid-2 explorer">
        <ol className="log card" aria-label="Messages, newest first">
          {entries.map((entry) => (
            <li key={entry.n}>
              <button
                type="button"
                className={selected?.n === entry.n ? 'log-row selected' : 'log-row'}
                onClick={() => setSelected(entry)}
              >
                <time>{new Date(entry.message.ts).toLocaleTimeString()}</time>
                <span className="topic">{entry.message.topic}</span>
                <span className="preview">{JSON.stringify(entry.message.payload).slice(0, 80)}</span>
              </button>
            </li>
          ))}
        </ol>
        <section className="card" aria-label="Selected message">
          {selected ? (
            <pre className="json">{JSON.stringify(selected.message, null, 2)}</pre>
          ) : (
            <p className="muted">Select a message to see it as JSON.</p>
          )}
        </section>
      </div>
    </section>
  );
}
