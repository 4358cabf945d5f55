import { useEffect, useState } from 'react';
import { useStructure } from './store-context';

/** Live, reconnecting (with a countdown) or stopped (with why): always visible, never silent. */
export function ConnectionIndicator() {
  const state = useStructure((s) => s.connection);
  const [now, setNow] = useState(Date.now());
  const [since] = useState(() => new Map<unknown, number>());
  if (!since.has(state)) since.set(state, Date.now());
  useEffect(() => {
    if (state.state !== 'waiting') return;
    const timer = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(timer);
  }, [state]);

  let label: string;
  let tone: string;
  switch (state.state) {
    case 'open':
      label = 'Live';
      tone = 'ok';
      break;
    case 'connecting':
      label = 'Connecting…';
      tone = 'warn';
      break;
    case 'waiting': {
      const left = Math.max(0, (state.retryInMs ?? 0) - (now - (since.get(state) ?? now)));
      label = `Reconnecting in ${Math.ceil(left / 1000)} s`;
      tone = 'warn';
      break;
    }
    default:
      label = 'Disconnected';
      tone = 'bad';
  }
  const title = state.reason ? `${label}: ${state.reason}` : label;
  return (
    <output className={`conn conn-${tone}`} title={title} aria-live="polite" data-state={state.state}>
      <span className="dot" aria-hidden="true" />
      {label}
      {state.state !== 'open' && state.reason && <span className="sr-only">: {state.reason}</span>}
    </output>
  );
}
